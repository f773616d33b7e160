"""Schedule fire Lambda: EventBridge Scheduler → one export for one fire time of one schedule."""
