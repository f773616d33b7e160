"""Per-user limits of a shared service: requests per minute, active jobs, and Idempotency-Key replays."""
