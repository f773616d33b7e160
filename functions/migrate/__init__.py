"""Deploy-time schema migrator (see handler.py)."""
