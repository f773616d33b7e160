"""The fire function's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from functools import cache

from exporter.adapters import aws, postgres
from exporter.adapters.sqs import JobQueue
from exporter.datasets.catalogue import Catalogue, load_catalogue
from exporter.datasets.request import DatasetRequests
from exporter.exports.fields import FieldsRepository
from exporter.jobs.repository import JobsRepository
from exporter.schedules.repository import OperatorRunsRepository, SchedulesRepository
from exporter.schedules.targets import Targets
from exporter.settings import FireSettings, load
from exporter.sunbird.repository import DatasetRequestsRepository
from exporter.sunbird.service import Exhaust, run_waiting


@cache
def settings() -> FireSettings:
    return load(FireSettings, os.environ)


@cache
def catalogue() -> Catalogue:
    """The dataset folders shipped with the function (``DATASETS_PATH``)."""
    return load_catalogue(settings().DATASETS_PATH)


@cache
def database() -> postgres.Database:
    return postgres.database(settings())


@cache
def operator_runs() -> OperatorRunsRepository:
    return OperatorRunsRepository(database())


@cache
def ports() -> tuple[SchedulesRepository, Targets]:
    config = settings()
    db = database()
    jobs, queue = JobsRepository(db), JobQueue(aws.client("sqs"), config.SQS_QUEUE_URL)
    targets = Targets(
        jobs=jobs,
        catalogue=FieldsRepository(db),
        queue=queue,
        max_retries=config.MAX_RETRIES,
        datasets=DatasetRequests(catalogue(), jobs, queue, config.MAX_RETRIES),
    )
    return SchedulesRepository(db), targets


@cache
def exhaust() -> Exhaust:
    config = settings()
    db = database()
    queue = JobQueue(aws.client("sqs"), config.SQS_QUEUE_URL)
    return Exhaust(catalogue(), DatasetRequestsRepository(db), JobsRepository(db), queue, config.MAX_RETRIES)


def start_waiting(dataset: str) -> int:
    """A batch dataset's fire: start every request waiting for it; how many."""
    return len(run_waiting(dataset, exhaust=exhaust()))
