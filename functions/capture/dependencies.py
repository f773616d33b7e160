"""The capture Lambda's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from functools import cache

from exporter.adapters import aws, postgres
from exporter.adapters.redis import redis_factory
from exporter.adapters.s3 import S3Store
from exporter.adapters.sqs import JobQueue
from exporter.captures.kind import CAPTURE
from exporter.captures.masking import Masker
from exporter.captures.run import CaptureRun
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts
from exporter.jobs.records import KindWorker
from exporter.jobs.repository import JobsRepository
from exporter.settings import CaptureSettings, load


@cache
def settings() -> CaptureSettings:
    return load(CaptureSettings, os.environ)


@cache
def capture() -> KindWorker:
    config = settings()
    return KindWorker(
        kind=CAPTURE,
        body=CaptureRun(
            redis=redis_factory(config),
            masker=Masker(aws.masking_key(config), json_keys=config.mask_json_keys),
            max_seconds=config.CAPTURE_MAX_SECONDS,
            link_across_captures=config.MASK_LINK_ACROSS_CAPTURES,
            processes=config.CAPTURE_PROCESSES,
        ),
        ports=LifecyclePorts(
            jobs=JobsRepository(postgres.database(config)),
            store=S3Store(aws.client("s3"), config.S3_BUCKET),
            # A capture is never retried; the queue takes the message of a window's next run.
            queue=JobQueue(aws.client("sqs"), config.CAPTURE_QUEUE_URL) if config.CAPTURE_QUEUE_URL else None,
        ),
        config=LifecycleConfig.of(config),
    )
