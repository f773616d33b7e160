"""The worker's and sweeper's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from exporter.adapters import aws, postgres
from exporter.adapters.s3 import S3Store
from exporter.adapters.sqs import JobQueue
from exporter.datasets.catalogue import load_catalogue
from exporter.datasets.kind import DATASET
from exporter.datasets.run import DatasetRun
from exporter.datasets.sources import DatasetSources
from exporter.datasets.worker import DatasetWorker
from exporter.exports.kind import QUERY_EXPORT
from exporter.exports.run import QueryExportRun
from exporter.jobs.events import JobNotifier
from exporter.jobs.kind import JobKind
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts
from exporter.jobs.records import KindWorker
from exporter.jobs.repository import JobsRepository
from exporter.notifications.publisher import job_notifier
from exporter.settings import SweeperSettings, WorkerSettings, load

# The kinds whose jobs go on the job queue, run by this function.
WORKER_KINDS: tuple[JobKind, ...] = (QUERY_EXPORT, DATASET)


@cache
def settings() -> WorkerSettings:
    return load(WorkerSettings, os.environ)


def lifecycle() -> tuple[LifecyclePorts, LifecycleConfig]:
    config = settings()
    db = postgres.database(config)
    ports = LifecyclePorts(
        jobs=JobsRepository(db),
        store=S3Store(aws.client("s3"), config.S3_BUCKET),
        queue=JobQueue(aws.client("sqs"), config.SQS_QUEUE_URL),
        notifier=job_notifier(config, db),
    )
    return ports, LifecycleConfig.of(config)


@cache
def worker() -> KindWorker:
    config = settings()
    reader = postgres.database(config)  # a second connection: the read snapshot of an export
    ports, lifecycle_config = lifecycle()
    return KindWorker(
        kind=QUERY_EXPORT,
        body=QueryExportRun(
            reader=reader.connection,
            images=S3Store(aws.client("s3"), config.SOURCE_BUCKET),
            fetch_batch_rows=config.FETCH_BATCH_ROWS,
            checkpoint_every_rows=config.CHECKPOINT_EVERY_ROWS,
        ),
        ports=ports,
        config=lifecycle_config,
    )


@cache
def dataset_worker() -> KindWorker:
    config = settings()
    sources = DatasetSources.from_settings(config)  # connections of their own: a delete holds its snapshot
    ports, lifecycle_config = lifecycle()
    body = DatasetRun(load_catalogue(config.DATASETS_PATH), sources.connection, gzip_level=config.DATASET_GZIP_LEVEL)
    return DatasetWorker(kind=DATASET, body=body, ports=ports, config=lifecycle_config)


def workers() -> tuple[KindWorker, ...]:
    return (worker(), dataset_worker())


@dataclass(frozen=True)
class Sweeper:
    settings: SweeperSettings
    jobs: JobsRepository
    queue: JobQueue
    sqs: Any
    notifier: JobNotifier | None = None


@cache
def sweeper_settings() -> SweeperSettings:
    return load(SweeperSettings, os.environ)


@cache
def sweeper() -> Sweeper:
    config = sweeper_settings()
    sqs = aws.client("sqs")
    db = postgres.database(config)
    return Sweeper(
        settings=config,
        jobs=JobsRepository(db),
        queue=JobQueue(sqs, config.SQS_QUEUE_URL),
        sqs=sqs,
        notifier=job_notifier(config, db),
    )
