"""The internal API's ports, built once per container from settings validated at cold start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from exporter.adapters import aws, postgres
from exporter.adapters.parts import S3PartStore
from exporter.adapters.sqs import JobQueue
from exporter.applications.catalogue import Catalogue, load_catalogue
from exporter.applications.internal import InternalPorts
from exporter.applications.sources import SourcesRepository
from exporter.jobs.repository import JobsRepository
from exporter.settings import InternalSettings, load


@dataclass(frozen=True)
class InternalDependencies:
    settings: InternalSettings
    catalogue: Catalogue
    ports: InternalPorts

    def key_of(self, application: str) -> str | None:
        """The application's pre-shared key, from its secret (cached by Powertools for five minutes)."""
        config = self.catalogue.applications.get(application)
        if config is None or not config.secret_arn:
            return None
        return aws.field_or_whole(aws.secret_value(config.secret_arn), "key")


@cache
def settings() -> InternalSettings:
    return load(InternalSettings, os.environ)


@cache
def dependencies() -> InternalDependencies:
    config = settings()
    db = postgres.database(config)
    return InternalDependencies(
        settings=config,
        catalogue=load_catalogue(config.APPLICATIONS, config.APPLICATIONS_FILE),
        ports=InternalPorts(
            jobs=JobsRepository(db),
            sources=SourcesRepository(db),
            parts=S3PartStore(aws.client("s3"), config.S3_BUCKET),
            queue=JobQueue(aws.client("sqs"), config.ASSEMBLY_QUEUE_URL),
        ),
    )
