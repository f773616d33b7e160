"""AWS clients and Secrets Manager values, from a function's validated settings.

``AWS_ENDPOINT_URL`` (the local stack's moto server) is honoured by boto3 itself. boto3 is
imported by the first client made, not by this module: it is a large share of a cold start,
and a request that never calls AWS never needs it.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from typing import Any

from ..settings import CaptureSettings

# boto3's default session is not safe to make clients from in several threads at once.
_CLIENTS = threading.Lock()


@cache
def _boto_config() -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=30,
        signature_version="s3v4",
        max_pool_connections=32,  # an export fetches its images 16 at a time (exports.archive.IMAGE_FETCHERS)
    )


def client(service: str) -> Any:
    """A boto3 client; ``AWS_ENDPOINT_URL`` (the local stack) is honoured by boto3 itself."""
    import boto3

    with _CLIENTS:
        return boto3.client(service, config=_boto_config())  # type: ignore[call-overload]


class LazyClient:
    """A boto3 client made on first use (an attribute read): until then, neither boto3 nor the service's model loads."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)

    def _made(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = client(self._service)
        return self._client


def lazy_client(service: str) -> Any:
    """``client(service)``, made when first used."""
    return LazyClient(service)


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
