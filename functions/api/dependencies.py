"""The API's ports, built once per container on first use from the validated settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from exporter import wiring
from exporter.queue import JobQueue
from exporter.repository import ExportsRepository, FieldsRepository
from exporter.settings import ApiSettings, load
from exporter.storage import ExportStore


@dataclass(frozen=True)
class ApiDependencies:
    settings: ApiSettings
    jobs: ExportsRepository
    catalogue: FieldsRepository
    queue: JobQueue
    store: ExportStore
    capture_queue: JobQueue | None = None  # without CAPTURE_QUEUE_URL, captures answer 503


@cache
def settings() -> ApiSettings:
    return load(ApiSettings, os.environ)


@cache
def dependencies() -> ApiDependencies:
    config = settings()
    db = wiring.database(config)
    return ApiDependencies(
        settings=config,
        jobs=ExportsRepository(db),
        catalogue=FieldsRepository(db),
        queue=JobQueue(wiring.client("sqs"), config.SQS_QUEUE_URL),
        store=ExportStore(wiring.client("s3"), config.S3_BUCKET),
        capture_queue=JobQueue(wiring.client("sqs"), config.CAPTURE_QUEUE_URL) if config.CAPTURE_QUEUE_URL else None,
    )
