"""Builds the real ports (database, S3, SQS) from a function's validated settings.

The handlers call these once per container; the domain modules never import boto3 clients
or read the environment themselves.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from .db import Database, connect_secret, connect_url
from .settings import DatabaseSettings

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
