"""Where a job's one file lives: a deterministic key, so a re-run overwrites rather than duplicates."""

from __future__ import annotations

import re
from datetime import UTC

from .model import Export

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_key_part(text: str) -> str:
    """``text`` with every character an S3 key or a download name should not hold replaced by ``-``."""
    return _KEY_UNSAFE.sub("-", text)


def output_key(export: Export, extension: str) -> str:
    """``outputs/{creator_id}_{export_id}_{YYYYMMDDHHMMSS}.{extension}``, from the creation time."""
    creator = safe_key_part(export.creator_id)
    return f"outputs/{creator}_{export.export_id}_{export.created_at.astimezone(UTC):%Y%m%d%H%M%S}.{extension}"
