"""The worker's and sweeper's ports, built once per container on first use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from exporter import wiring
from exporter.export_job import WorkerConfig, WorkerPorts
from exporter.queue import JobQueue
from exporter.repository import ExportsRepository
from exporter.settings import SweeperSettings, WorkerSettings, load
from exporter.storage import SourceImages


@dataclass(frozen=True)
class Worker:
    ports: WorkerPorts
    config: WorkerConfig


@cache
def worker() -> Worker:
    settings = load(WorkerSettings, os.environ)
    s3 = wiring.client("s3")
    reader = wiring.database(settings)  # a second connection: the read snapshot of an export
    ports = WorkerPorts(
        jobs=ExportsRepository(wiring.database(settings)),
        reader=reader.connection,
        queue=JobQueue(wiring.client("sqs"), settings.SQS_QUEUE_URL),
        s3=s3,
        images=SourceImages(s3, settings.SOURCE_BUCKET),
    )
    config = WorkerConfig(
        exports_bucket=settings.S3_BUCKET,
        lease_seconds=settings.LEASE_SECONDS,
        progress_interval_seconds=settings.PROGRESS_INTERVAL_SECONDS,
        part_size_bytes=settings.PART_SIZE_BYTES,
        fetch_batch_rows=settings.FETCH_BATCH_ROWS,
        retry_backoff_seconds=settings.RETRY_BACKOFF_SECONDS,
        expiration_days=settings.EXPORT_EXPIRATION_DAYS,
    )
    return Worker(ports=ports, config=config)


@dataclass(frozen=True)
class Sweeper:
    settings: SweeperSettings
    jobs: ExportsRepository
    queue: JobQueue
    sqs: object


@cache
def sweeper() -> Sweeper:
    settings = load(SweeperSettings, os.environ)
    sqs = wiring.client("sqs")
    return Sweeper(
        settings=settings,
        jobs=ExportsRepository(wiring.database(settings)),
        queue=JobQueue(sqs, settings.SQS_QUEUE_URL),
        sqs=sqs,
    )
