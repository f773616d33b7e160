"""The API's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from functools import cache, cached_property

from exporter.adapters import aws, postgres
from exporter.adapters.ports import MessageQueue, ObjectStore
from exporter.adapters.sqs import JobQueue
from exporter.datasets.catalogue import Catalogue, load_catalogue
from exporter.exports.fields import FieldsRepository
from exporter.jobs.repository import JobsRepository
from exporter.quotas.repository import QuotaRepository
from exporter.quotas.service import Limits
from exporter.schedules.repository import SchedulesRepository
from exporter.schedules.service import SchedulePorts
from exporter.schedules.targets import Targets
from exporter.settings import ApiSettings, load

# How long a container answers from its copy of the field catalogue (it changes only with a migration).
CATALOGUE_MAX_AGE_SECONDS = 60


class ApiDependencies:
    """The API's ports. The database ones are built at once; those that talk to AWS when first used.

    A request that never sends a message or signs a URL (``GET /exports``) then never loads boto3,
    a service model or the dataset folders, which keeps a container's first answer fast.
    """

    def __init__(self, config: ApiSettings, db: postgres.Database) -> None:
        self.settings = config
        self._db = db
        self.jobs = JobsRepository(db)
        self.catalogue = FieldsRepository(db, max_age_seconds=CATALOGUE_MAX_AGE_SECONDS)
        self.quotas = QuotaRepository(db)
        self.limits = Limits(
            max_requests_per_minute=config.MAX_REQUESTS_PER_MINUTE,
            max_active_jobs=config.MAX_ACTIVE_JOBS_PER_USER,
            key_ttl_seconds=config.IDEMPOTENCY_KEY_HOURS * 3600,
        )
        self._sqs = aws.lazy_client("sqs")

    @cached_property
    def queue(self) -> MessageQueue:
        return JobQueue(self._sqs, self.settings.SQS_QUEUE_URL)

    @cached_property
    def store(self) -> ObjectStore:
        from exporter.adapters.s3 import S3Store

        return S3Store(aws.lazy_client("s3"), self.settings.S3_BUCKET)

    @cached_property
    def capture_queue(self) -> MessageQueue | None:
        """The capture queue; without CAPTURE_QUEUE_URL, captures answer 503."""
        url = self.settings.CAPTURE_QUEUE_URL
        return JobQueue(self._sqs, url) if url else None

    @cached_property
    def schedules(self) -> SchedulePorts | None:
        """Schedules in EventBridge Scheduler's group; without SCHEDULE_GROUP, schedules answer 503."""
        if not self.settings.SCHEDULE_GROUP:
            return None
        from exporter.datasets.request import DatasetRequests

        config = self.settings
        dataset_requests = DatasetRequests(datasets(), self.jobs, self.queue, config.MAX_RETRIES)
        targets = Targets(self.jobs, self.catalogue, self.queue, config.MAX_RETRIES, datasets=dataset_requests)
        return schedule_ports(config, SchedulesRepository(self._db), targets)


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
    return ApiDependencies(config, postgres.database(config))


def schedule_ports(config: ApiSettings, schedules: SchedulesRepository, targets: Targets) -> SchedulePorts | None:
    """Schedules in EventBridge Scheduler's group ``SCHEDULE_GROUP``; None when it is not set."""
    from exporter.adapters.scheduler import EventBridgeScheduler, SchedulerTarget

    if not config.SCHEDULE_GROUP:
        return None
    target = SchedulerTarget(
        group=config.SCHEDULE_GROUP,
        target_arn=str(config.SCHEDULE_TARGET_ARN),
        role_arn=str(config.SCHEDULE_ROLE_ARN),
        dead_letter_arn=str(config.SCHEDULE_DLQ_ARN),
    )
    return SchedulePorts(schedules, EventBridgeScheduler(aws.lazy_client("scheduler"), target), targets)
