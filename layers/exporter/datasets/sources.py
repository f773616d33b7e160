"""The databases datasets read: the service's own, and others named in ``DATASET_SOURCES``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import psycopg2.extensions

from ..adapters import postgres
from ..settings import DatabaseSettings


class UnknownSource(LookupError):
    """A dataset names a source this deployment does not configure."""


@dataclass
class DatasetSources:
    """One lazily opened, reconnecting connection per source, reused across runs of one container."""

    own: DatabaseSettings
    others: dict[str, str] = field(default_factory=dict)  # name → secret ARN or postgresql:// URL
    _open: dict[str | None, postgres.Database] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: DatabaseSettings, sources: str | None = None) -> DatasetSources:
        raw = sources if sources is not None else getattr(settings, "DATASET_SOURCES", None)
        others = json.loads(raw) if raw else {}
        if not isinstance(others, dict) or not all(isinstance(v, str) for v in others.values()):
            raise ValueError("DATASET_SOURCES must be a JSON object of name: secret ARN or postgresql:// URL")
        return cls(own=settings, others=others)

    def connection(self, source: str | None) -> psycopg2.extensions.connection:
        if source not in self._open:
            self._open[source] = postgres.database(self._settings(source))
        return self._open[source].connection()

    def _settings(self, source: str | None) -> DatabaseSettings:
        if source is None:
            return DatabaseSettings.model_validate(self.own.model_dump())
        if source not in self.others:
            raise UnknownSource(f"the dataset's source {source!r} is not configured (DATASET_SOURCES)")
        where = self.others[source]
        if where.startswith(("postgres://", "postgresql://")):
            return DatabaseSettings(DATABASE_URL=where)
        return DatabaseSettings(DATABASE_SECRET_ARN=where)
