"""The API's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from exporter.adapters import aws, postgres
from exporter.adapters.ports import MessageQueue, ObjectStore
from exporter.adapters.s3 import S3Store
from exporter.adapters.sqs import JobQueue
from exporter.exports.fields import FieldsRepository
from exporter.jobs.repository import JobsRepository
from exporter.settings import ApiSettings, load


@dataclass(frozen=True)
class ApiDependencies:
    settings: ApiSettings
    jobs: JobsRepository
    catalogue: FieldsRepository
    queue: MessageQueue
    store: ObjectStore
    capture_queue: MessageQueue | None = None  # without CAPTURE_QUEUE_URL, captures answer 503


@cache
def settings() -> ApiSettings:
    return load(ApiSettings, os.environ)


@cache
def dependencies() -> ApiDependencies:
    config = settings()
    db = postgres.database(config)
    sqs = aws.client("sqs")
    return ApiDependencies(
        settings=config,
        jobs=JobsRepository(db),
        catalogue=FieldsRepository(db),
        queue=JobQueue(sqs, config.SQS_QUEUE_URL),
        store=S3Store(aws.client("s3"), config.S3_BUCKET),
        capture_queue=JobQueue(sqs, config.CAPTURE_QUEUE_URL) if config.CAPTURE_QUEUE_URL else None,
    )
