"""Running one export attempt: claim, stream the archive to S3, complete, retry or fail.

At-least-once delivery, exactly-once effect: the claim is a conditional UPDATE on
(status, attempt), so a duplicate or stale message claims nothing and is acknowledged.
The S3 key is deterministic, so a re-run overwrites rather than duplicates.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import psycopg2.extensions
from aws_lambda_powertools import Logger

from .archive import ArchiveStats, write_ads, write_csv, write_details
from .models import Export, ExportMessage, ExportParameters
from .query import compile_query
from .queue import JobQueue, backoff_seconds
from .repository import ExportsRepository, ObservationsSnapshot
from .storage import MultipartSink, SourceImages
from .views import export_details
from .zipstream import ZipStream

logger = Logger(child=True)

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class Outcome(StrEnum):
    COMPLETED = "completed"
    SKIPPED = "skipped"  # duplicate, stale or unknown message: nothing to do
    RETRYING = "retrying"
    FAILED = "failed"
    LEASE_LOST = "lease_lost"


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    rows: int = 0
    bytes: int = 0


class LeaseLost(Exception):
    """Another run took the job over (the sweeper judged this one dead) or it was deleted."""


@dataclass(frozen=True)
class WorkerConfig:
    exports_bucket: str
    lease_seconds: int
    progress_interval_seconds: float
    part_size_bytes: int
    fetch_batch_rows: int
    retry_backoff_seconds: int
    expiration_days: int


@dataclass
class WorkerPorts:
    jobs: ExportsRepository
    reader: Callable[[], psycopg2.extensions.connection]  # a connection for the read snapshot
    queue: JobQueue
    s3: Any
    images: SourceImages


def output_key(export: Export) -> str:
    """``outputs/{creator_id}_{export_id}_{YYYYMMDDHHMMSS}.zip``, from the creation time."""
    creator = _KEY_UNSAFE.sub("-", export.creator_id)
    return f"outputs/{creator}_{export.export_id}_{export.created_at.astimezone(UTC):%Y%m%d%H%M%S}.zip"


def short_error(error: BaseException, limit: int = 300) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Heartbeat:
    """Renews the lease and records progress at most every ``interval`` seconds."""

    def __init__(self, ports: WorkerPorts, export: Export, owner: str, config: WorkerConfig) -> None:
        self._ports, self._export, self._owner, self._config = ports, export, owner, config
        self._next = time.monotonic() + config.progress_interval_seconds
        self.rows_total: int | None = None

    def __call__(self, rows_written: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next:
            return
        self._next = now + self._config.progress_interval_seconds
        if not self._ports.jobs.renew(
            self._export.export_id,
            owner=self._owner,
            lease_seconds=self._config.lease_seconds,
            rows_written=rows_written,
            rows_total=self.rows_total,
        ):
            raise LeaseLost(str(self._export.export_id))
        logger.info("export progress", extra={"rows_written": rows_written, "rows_total": self.rows_total})


def build_archive(
    export: Export, ports: WorkerPorts, config: WorkerConfig, owner: str
) -> tuple[str, int, int, dict[str, Any]]:
    """Stream the export's archive into S3; return (key, size, rows, details)."""
    params = export.parameters
    if not isinstance(params, ExportParameters):
        raise TypeError(f"export {export.export_id} is a {export.kind.value}, not a query export")
    compiled = compile_query(params.query)
    key = output_key(export)
    heartbeat = _Heartbeat(ports, export, owner, config)
    sink = MultipartSink(
        ports.s3,
        config.exports_bucket,
        key,
        part_size=config.part_size_bytes,
        content_type="application/zip",
        content_disposition=f'attachment; filename="export_{export.export_id}.zip"',
    )
    zip_ = ZipStream(sink)
    try:
        stats = ArchiveStats()
        with ObservationsSnapshot(
            ports.reader(), compiled.sql, compiled.params, batch_rows=config.fetch_batch_rows
        ) as snapshot:
            heartbeat.rows_total = snapshot.count()
            heartbeat(0, force=True)
            write_ads(
                zip_,
                snapshot.rows(),
                params.fields,
                images=ports.images.get if params.include_images else None,
                stats=stats,
                on_row=heartbeat,
            )
            csv_rows = write_csv(zip_, snapshot.rows(), params.fields, on_row=lambda _n: heartbeat(stats.rows))
        if csv_rows != stats.rows:
            raise RuntimeError(f"snapshot changed between passes ({stats.rows} ads, {csv_rows} CSV rows)")
        extra = {
            "rows": stats.rows,
            "images_included": stats.images,
            "missing_images_count": stats.missing_images_count,
            "missing_images": stats.missing_images,
        }
        write_details(
            zip_,
            export_details(
                export,
                completed_at=datetime.now(UTC),
                expiration_days=config.expiration_days,
                rows=stats.rows,
                extra=extra,
            ),
        )
        zip_.close()
        size = sink.complete()
    except BaseException:
        zip_.discard()
        sink.abort()
        raise
    return key, size, stats.rows, extra


def run_export(message: ExportMessage, ports: WorkerPorts, config: WorkerConfig, *, owner: str) -> RunResult:
    """Run one attempt for ``message``. Raises only when the outcome could not be recorded."""
    export_id = message.export_id
    if not ports.jobs.claim(export_id, message.attempt, owner=owner, lease_seconds=config.lease_seconds):
        logger.info(
            "message skipped: the export is gone, already claimed, or this attempt is stale",
            extra={"attempt": message.attempt},
        )
        return RunResult(Outcome.SKIPPED)
    export = ports.jobs.get(export_id)
    if export is None:  # deleted between claim and read
        return RunResult(Outcome.SKIPPED)
    logger.info("export claimed", extra={"attempt": message.attempt, "max_retries": message.max_retries})
    started = time.monotonic()
    try:
        key, size, rows, extra = build_archive(export, ports, config, owner)
    except LeaseLost:
        logger.warning("lease lost: another run owns this export now, or it was deleted")
        return RunResult(Outcome.LEASE_LOST)
    except Exception as error:
        return RunResult(_after_failure(message, export, ports, config, owner, error))

    if not ports.jobs.complete(
        export_id,
        owner=owner,
        s3_key=key,
        size_bytes=size,
        rows_written=rows,
        details=extra,
        expiration_days=config.expiration_days,
    ):
        if ports.jobs.get(export_id) is None:  # deleted while running: leave nothing behind
            ports.s3.delete_object(Bucket=config.exports_bucket, Key=key)
        return RunResult(Outcome.LEASE_LOST)
    seconds = time.monotonic() - started
    logger.info(
        "export completed",
        extra={
            "rows": rows,
            "bytes": size,
            "seconds": round(seconds, 3),
            "missing_images": extra["missing_images_count"],
        },
    )
    return RunResult(Outcome.COMPLETED, rows=rows, bytes=size)


def _after_failure(
    message: ExportMessage, export: Export, ports: WorkerPorts, config: WorkerConfig, owner: str, error: Exception
) -> Outcome:
    reason = short_error(error)
    logger.exception("export attempt failed", extra={"attempt": message.attempt})
    if message.attempt <= export.max_retries:
        next_attempt = ports.jobs.retry(
            export.export_id, owner=owner, message=f"attempt {message.attempt} failed ({reason}); retrying"
        )
        if next_attempt is None:
            return Outcome.LEASE_LOST
        delay = backoff_seconds(message.attempt, config.retry_backoff_seconds)
        ports.queue.send(message.model_copy(update={"attempt": next_attempt}), delay_seconds=delay)
        logger.info("export retry enqueued", extra={"next_attempt": next_attempt, "delay_seconds": delay})
        return Outcome.RETRYING
    ports.jobs.fail(export.export_id, owner=owner, message=f"failed after {message.attempt} attempts: {reason}")
    return Outcome.FAILED
