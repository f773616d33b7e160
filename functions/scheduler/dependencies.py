"""The fire function's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from functools import cache

from exporter.adapters import aws, postgres
from exporter.adapters.sqs import JobQueue
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
    targets = Targets(
        jobs=JobsRepository(db),
        catalogue=FieldsRepository(db),
        queue=JobQueue(aws.client("sqs"), config.SQS_QUEUE_URL),
        max_retries=config.MAX_RETRIES,
    )
    return SchedulesRepository(db), targets
