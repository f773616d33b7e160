"""The API's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from exporter.adapters import aws, postgres
from exporter.adapters.ports import MessageQueue, ObjectStore
from exporter.adapters.s3 import S3Store
from exporter.adapters.scheduler import EventBridgeScheduler, SchedulerTarget
from exporter.adapters.sqs import JobQueue
from exporter.datasets.catalogue import Catalogue, load_catalogue
from exporter.datasets.request import DatasetRequests
from exporter.exports.fields import FieldsRepository
from exporter.jobs.repository import JobsRepository
from exporter.quotas.repository import QuotaRepository
from exporter.quotas.service import Limits
from exporter.schedules.repository import SchedulesRepository
from exporter.schedules.service import SchedulePorts
from exporter.schedules.targets import Targets
from exporter.settings import ApiSettings, load


@dataclass(frozen=True)
class ApiDependencies:
    settings: ApiSettings
    jobs: JobsRepository
    catalogue: FieldsRepository
    queue: MessageQueue
    store: ObjectStore
    quotas: QuotaRepository
    limits: Limits
    capture_queue: MessageQueue | None = None  # without CAPTURE_QUEUE_URL, captures answer 503
    schedules: SchedulePorts | None = None  # without SCHEDULE_GROUP, schedules answer 503


@cache
def settings() -> ApiSettings:
    return load(ApiSettings, os.environ)


@cache
def catalogue_at(path: str) -> Catalogue:
    """The dataset folders under ``path``, read once per container."""
    return load_catalogue(path)


def datasets() -> Catalogue:
    """The dataset folders shipped with the function (``DATASETS_PATH``)."""
    return catalogue_at(settings().DATASETS_PATH)


@cache
def dependencies() -> ApiDependencies:
    config = settings()
    db = postgres.database(config)
    sqs = aws.client("sqs")
    jobs, catalogue, queue = JobsRepository(db), FieldsRepository(db), JobQueue(sqs, config.SQS_QUEUE_URL)
    dataset_requests = DatasetRequests(datasets(), jobs, queue, config.MAX_RETRIES)
    targets = Targets(jobs, catalogue, queue, config.MAX_RETRIES, datasets=dataset_requests)
    return ApiDependencies(
        settings=config,
        jobs=jobs,
        catalogue=catalogue,
        queue=queue,
        store=S3Store(aws.client("s3"), config.S3_BUCKET),
        quotas=QuotaRepository(db),
        limits=Limits(
            max_requests_per_minute=config.MAX_REQUESTS_PER_MINUTE,
            max_active_jobs=config.MAX_ACTIVE_JOBS_PER_USER,
            key_ttl_seconds=config.IDEMPOTENCY_KEY_HOURS * 3600,
        ),
        capture_queue=JobQueue(sqs, config.CAPTURE_QUEUE_URL) if config.CAPTURE_QUEUE_URL else None,
        schedules=schedule_ports(config, SchedulesRepository(db), targets),
    )


def schedule_ports(config: ApiSettings, schedules: SchedulesRepository, targets: Targets) -> SchedulePorts | None:
    """Schedules in EventBridge Scheduler's group ``SCHEDULE_GROUP``; None when it is not set."""
    if not config.SCHEDULE_GROUP:
        return None
    target = SchedulerTarget(
        group=config.SCHEDULE_GROUP,
        target_arn=str(config.SCHEDULE_TARGET_ARN),
        role_arn=str(config.SCHEDULE_ROLE_ARN),
        dead_letter_arn=str(config.SCHEDULE_DLQ_ARN),
    )
    return SchedulePorts(schedules, EventBridgeScheduler(aws.client("scheduler"), target), targets)
