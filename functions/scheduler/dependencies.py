"""The fire function's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from functools import cache

from exporter.adapters import aws, postgres
from exporter.adapters.sqs import JobQueue
from exporter.datasets.catalogue import load_catalogue
from exporter.datasets.request import DatasetRequests
from exporter.exports.fields import FieldsRepository
from exporter.jobs.repository import JobsRepository
from exporter.schedules.repository import SchedulesRepository
from exporter.schedules.targets import Targets
from exporter.settings import FireSettings, load


@cache
def settings() -> FireSettings:
    return load(FireSettings, os.environ)


@cache
def ports() -> tuple[SchedulesRepository, Targets]:
    config = settings()
    db = postgres.database(config)
    jobs, queue = JobsRepository(db), JobQueue(aws.client("sqs"), config.SQS_QUEUE_URL)
    targets = Targets(
        jobs=jobs,
        catalogue=FieldsRepository(db),
        queue=queue,
        max_retries=config.MAX_RETRIES,
        datasets=DatasetRequests(load_catalogue(config.DATASETS_PATH), jobs, queue, config.MAX_RETRIES),
    )
    return SchedulesRepository(db), targets
