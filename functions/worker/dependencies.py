"""The worker's and sweeper's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from exporter.adapters import aws, postgres
from exporter.adapters.s3 import S3Store
from exporter.adapters.sqs import JobQueue
from exporter.exports.kind import QUERY_EXPORT
from exporter.exports.run import QueryExportRun
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts
from exporter.jobs.records import KindWorker
from exporter.jobs.repository import JobsRepository
from exporter.settings import SweeperSettings, WorkerSettings, load


@cache
def settings() -> WorkerSettings:
    return load(WorkerSettings, os.environ)


@cache
def worker() -> KindWorker:
    config = settings()
    s3 = aws.client("s3")
    reader = postgres.database(config)  # a second connection: the read snapshot of an export
    return KindWorker(
        kind=QUERY_EXPORT,
        body=QueryExportRun(
            reader=reader.connection, images=S3Store(s3, config.SOURCE_BUCKET), fetch_batch_rows=config.FETCH_BATCH_ROWS
        ),
        ports=LifecyclePorts(
            jobs=JobsRepository(postgres.database(config)),
            store=S3Store(s3, config.S3_BUCKET),
            queue=JobQueue(aws.client("sqs"), config.SQS_QUEUE_URL),
        ),
        config=LifecycleConfig(
            lease_seconds=config.LEASE_SECONDS,
            progress_interval_seconds=config.PROGRESS_INTERVAL_SECONDS,
            part_size_bytes=config.PART_SIZE_BYTES,
            expiration_days=config.EXPORT_EXPIRATION_DAYS,
            retry_backoff_seconds=config.RETRY_BACKOFF_SECONDS,
        ),
    )


@dataclass(frozen=True)
class Sweeper:
    settings: SweeperSettings
    jobs: JobsRepository
    queue: JobQueue
    sqs: Any


@cache
def sweeper_settings() -> SweeperSettings:
    return load(SweeperSettings, os.environ)


@cache
def sweeper() -> Sweeper:
    config = sweeper_settings()
    sqs = aws.client("sqs")
    return Sweeper(
        settings=config,
        jobs=JobsRepository(postgres.database(config)),
        queue=JobQueue(sqs, config.SQS_QUEUE_URL),
        sqs=sqs,
    )
