"""AWS clients and Secrets Manager values, from a function's validated settings.

``AWS_ENDPOINT_URL`` (the local stack's moto server) is honoured by boto3 itself.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config

from ..settings import CaptureSettings

_BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    signature_version="s3v4",
    max_pool_connections=32,  # an export fetches its images 16 at a time (exports.archive.IMAGE_FETCHERS)
)


def client(service: str) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (the local stack) is honoured by boto3 itself."""
    return boto3.client(service, config=_BOTO_CONFIG)  # type: ignore[call-overload]


def secret_value(arn: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=300))


def field_or_whole(text: str, name: str) -> str:
    """A secret is either the value itself or a JSON object holding it under ``name``."""
    try:
        document = json.loads(text)
    except ValueError:
        return text
    if isinstance(document, dict) and isinstance(document.get(name), str):
        return str(document[name])
    return text


MIN_MASKING_KEY_LENGTH = 32


def masking_key(settings: CaptureSettings) -> bytes:
    """The HMAC key: the masking secret, a string or JSON ``{"key": ...}``, of at least 32 characters."""
    key = field_or_whole(secret_value(settings.MASKING_SECRET_ARN), "key")
    if len(key) < MIN_MASKING_KEY_LENGTH:
        raise ValueError(f"the masking secret must hold at least {MIN_MASKING_KEY_LENGTH} characters")
    return key.encode("utf-8")
