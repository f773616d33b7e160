"""Redis clients for the capture, from its validated settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..settings import CaptureSettings
from .aws import field_or_whole, secret_value


def redis_factory(settings: CaptureSettings) -> Callable[[], redis.Redis]:
    """New Redis clients for REDIS_SVC, AUTH from REDIS_AUTH_SECRET_ARN, and no silent retries.

    The capture run reconnects itself, so it can record the gap: redis-py's own retries
    would reconnect a subscription behind its back.
    """
    url, arn = settings.redis_url, settings.REDIS_AUTH_SECRET_ARN

    def connect() -> redis.Redis:
        auth: dict[str, Any] = {}
        if arn:
            text = secret_value(arn)
            auth["password"] = field_or_whole(text, "password")
            try:
                username = json.loads(text).get("username")
            except (ValueError, AttributeError):
                username = None
            if username:
                auth["username"] = username
        return redis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=5,
            socket_timeout=30,
            socket_keepalive=True,
            health_check_interval=10,
            **auth,
        )

    return connect
