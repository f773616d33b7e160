"""Builds the real ports (database, S3, SQS, Redis, the masking key) from a function's validated settings.

The handlers call these once per container; the domain modules never import boto3 clients
or read the environment themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import redis
from botocore.config import Config
from redis.backoff import NoBackoff
from redis.retry import Retry

from .db import Database, connect_secret, connect_url
from .settings import CaptureSettings, DatabaseSettings

_BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30, signature_version="s3v4"
)


def database(settings: DatabaseSettings) -> Database:
    """A lazily connected database from ``DATABASE_URL`` or the RDS secret."""
    if settings.DATABASE_URL:
        url = settings.DATABASE_URL
        return Database(lambda: connect_url(url))
    arn, host = settings.DATABASE_SECRET_ARN, settings.DATABASE_HOST

    def connect() -> Any:
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(arn, max_age=300)  # type: ignore[arg-type]
        return connect_secret(secret, host=host)

    return Database(connect)


def client(service: str) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (the local stack) is honoured by boto3 itself."""
    return boto3.client(service, config=_BOTO_CONFIG)  # type: ignore[call-overload]


def _secret_value(arn: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=300))


def _field_or_whole(text: str, name: str) -> str:
    """A secret is either the value itself or a JSON object holding it under ``name``."""
    try:
        document = json.loads(text)
    except ValueError:
        return text
    if isinstance(document, dict) and isinstance(document.get(name), str):
        return str(document[name])
    return text


def masking_key(settings: CaptureSettings) -> bytes:
    """The HMAC key: the masking secret (a string, or JSON ``{"key": ...}``), or MASKING_KEY locally."""
    raw = _field_or_whole(_secret_value(settings.MASKING_SECRET_ARN), "key") if settings.MASKING_SECRET_ARN else None
    key = raw or settings.MASKING_KEY or ""
    if len(key) < 32 and settings.MASKING_SECRET_ARN:
        raise ValueError("the masking secret must hold at least 32 characters")
    return key.encode("utf-8")


def redis_factory(settings: CaptureSettings) -> Callable[[], redis.Redis]:
    """New Redis clients for REDIS_SVC, AUTH from REDIS_AUTH_SECRET_ARN, and no silent retries.

    The capture run reconnects itself, so it can record the gap: redis-py's own retries
    would reconnect a subscription behind its back.
    """
    url, arn = settings.redis_url, settings.REDIS_AUTH_SECRET_ARN

    def connect() -> redis.Redis:
        auth: dict[str, Any] = {}
        if arn:
            text = _secret_value(arn)
            auth["password"] = _field_or_whole(text, "password")
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
