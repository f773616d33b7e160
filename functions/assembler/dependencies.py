"""The assembler's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from exporter.adapters import aws, postgres
from exporter.adapters.parts import S3PartStore
from exporter.adapters.s3 import S3Store
from exporter.adapters.sqs import JobQueue
from exporter.applications.assembly import AssemblyRun
from exporter.applications.kind import APPLICATIONS
from exporter.applications.sources import SourcesRepository
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts
from exporter.jobs.records import KindWorker
from exporter.jobs.repository import JobsRepository
from exporter.notifications.publisher import job_notifier
from exporter.settings import AssemblerSettings, load


@dataclass(frozen=True)
class Assembler:
    settings: AssemblerSettings
    worker: KindWorker
    jobs: JobsRepository
    sources: SourcesRepository
    queue: JobQueue  # the assembly queue


@cache
def settings() -> AssemblerSettings:
    return load(AssemblerSettings, os.environ)


@cache
def assembler() -> Assembler:
    config = settings()
    s3 = aws.client("s3")
    db = postgres.database(config)
    jobs, sources = JobsRepository(db), SourcesRepository(db)
    queue = JobQueue(aws.client("sqs"), config.ASSEMBLY_QUEUE_URL)
    worker = KindWorker(
        kind=APPLICATIONS,
        body=AssemblyRun(sources=sources, parts=S3PartStore(s3, config.S3_BUCKET)),
        ports=LifecyclePorts(
            jobs=jobs, store=S3Store(s3, config.S3_BUCKET), queue=queue, notifier=job_notifier(config, db)
        ),
        config=LifecycleConfig.of(config),
    )
    return Assembler(settings=config, worker=worker, jobs=jobs, sources=sources, queue=queue)
