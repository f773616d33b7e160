"""Cognito pre-token-generation trigger (see handler.py)."""
