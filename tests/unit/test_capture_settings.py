"""The capture Lambda's configuration, validated at cold start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from exporter.adapters import aws
from exporter.settings import CaptureSettings, load

BASE = {"DATABASE_URL": "postgresql://x/y", "S3_BUCKET": "exports", "REDIS_SVC": "redis:6379"}
SECRET = {"MASKING_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:masking"}


def test_a_capture_needs_a_masking_secret() -> None:
    with pytest.raises(ValidationError, match="MASKING_SECRET_ARN"):
        load(CaptureSettings, BASE)
    with pytest.raises(ValidationError, match="MASKING_SECRET_ARN"):
        load(CaptureSettings, {**BASE, "MASKING_SECRET_ARN": ""})


def test_defaults_and_the_seeds_redis_address() -> None:
    settings = load(CaptureSettings, {**BASE, **SECRET})
    assert settings.redis_url == "redis://redis:6379"
    assert settings.CAPTURE_MAX_SECONDS == 24 * 3600 and settings.MASK_LINK_ACROSS_CAPTURES is False
    assert "supi" in settings.mask_json_keys and "ueIpv4Addr" in settings.mask_json_keys
    tls = load(CaptureSettings, {**BASE, **SECRET, "REDIS_SVC": "rediss://cache:6379"})
    assert tls.redis_url == "rediss://cache:6379"
    with pytest.raises(ValidationError):
        load(CaptureSettings, {**BASE, **SECRET, "CAPTURE_MAX_SECONDS": str(24 * 3600 + 1)})


def test_secrets_hold_the_value_itself_or_json() -> None:
    assert aws.field_or_whole("plain-token", "password") == "plain-token"
    assert aws.field_or_whole('{"password": "p", "username": "u"}', "password") == "p"
    assert aws.field_or_whole('{"key": "k"}', "key") == "k"
