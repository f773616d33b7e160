"""The capture's HMAC key comes from its Secrets Manager secret (moto here), never from plain settings."""

from __future__ import annotations

import pytest

from exporter.adapters import aws
from exporter.settings import CaptureSettings, load
from local.services import put_secret

BASE = {"DATABASE_URL": "postgresql://x/y", "S3_BUCKET": "exports", "REDIS_SVC": "redis:6379"}


def test_the_key_is_the_secret_string_or_its_json_key(moto_server) -> None:
    # GIVEN a masking secret as a plain string, and one as JSON {"key": ...}
    plain = put_secret(moto_server.endpoint_url, "test/plain-key", "a-local-key-of-enough-length-0123456789")
    wrapped = put_secret(moto_server.endpoint_url, "test/json-key", '{"key": "k' + "x" * 40 + '"}')
    # WHEN the capture reads its key THEN it is the secret's value
    assert aws.masking_key(load(CaptureSettings, {**BASE, "MASKING_SECRET_ARN": plain})) == (
        b"a-local-key-of-enough-length-0123456789"
    )
    assert aws.masking_key(load(CaptureSettings, {**BASE, "MASKING_SECRET_ARN": wrapped})) == b"k" + b"x" * 40


def test_a_short_key_is_refused_at_start(moto_server) -> None:
    short = put_secret(moto_server.endpoint_url, "test/short-key", "too-short")
    with pytest.raises(ValueError, match="at least 32 characters"):
        aws.masking_key(load(CaptureSettings, {**BASE, "MASKING_SECRET_ARN": short}))
