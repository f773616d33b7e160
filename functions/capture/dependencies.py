"""The capture Lambda's ports, built once per container on first use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from exporter import wiring
from exporter.capture import CaptureConfig, CapturePorts
from exporter.masking import Masker
from exporter.repository import ExportsRepository
from exporter.settings import CaptureSettings, load


@dataclass(frozen=True)
class Capture:
    ports: CapturePorts
    config: CaptureConfig


@cache
def capture() -> Capture:
    settings = load(CaptureSettings, os.environ)
    ports = CapturePorts(
        jobs=ExportsRepository(wiring.database(settings)),
        s3=wiring.client("s3"),
        redis=wiring.redis_factory(settings),
        masker=Masker(wiring.masking_key(settings), json_keys=settings.mask_json_keys),
    )
    config = CaptureConfig(
        exports_bucket=settings.S3_BUCKET,
        lease_seconds=settings.LEASE_SECONDS,
        progress_interval_seconds=settings.PROGRESS_INTERVAL_SECONDS,
        part_size_bytes=settings.PART_SIZE_BYTES,
        expiration_days=settings.EXPORT_EXPIRATION_DAYS,
        link_across_captures=settings.MASK_LINK_ACROSS_CAPTURES,
    )
    return Capture(ports=ports, config=config)
