"""One job attempt, whatever its kind: claim, lease heartbeat, run the body, complete, retry or fail.

At-least-once delivery, exactly-once effect: the claim is a conditional UPDATE on
(status, attempt), so a duplicate or stale message claims nothing and is acknowledged.
The output key is deterministic, so a re-run overwrites rather than duplicates. A job
deleted while it ran leaves no object behind.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import IO, Any

from aws_lambda_powertools import Logger

from ..adapters.ports import MessageQueue, ObjectStore
from ..adapters.sqs import MAX_DELAY_SECONDS
from ..output.multipart import MultipartSink
from ..settings import AssemblerSettings, CaptureSettings, WorkerSettings
from .checkpoints import CHECKPOINTS_PREFIX, delete_kept
from .events import JobNotifier
from .kind import Artefact, Body, Continuing, JobKind, LeaseLost, Output, Waiting
from .model import Export, JobMessage
from .repository import JobsRepository
from .views import export_details

logger = Logger(child=True)


class Outcome(StrEnum):
    COMPLETED = "completed"
    SKIPPED = "skipped"  # duplicate, stale or unknown message: nothing to do
    RETRYING = "retrying"
    FAILED = "failed"
    LEASE_LOST = "lease_lost"
    WAITING = "waiting"  # the body waits on something outside; the job stays open
    CONTINUING = "continuing"  # the body checkpointed before the run's time ran out; a next run goes on


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    rows: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class LifecycleConfig:
    lease_seconds: int
    progress_interval_seconds: float
    part_size_bytes: int
    expiration_days: int
    retry_backoff_seconds: int = 0
    # A body that can checkpoint does so while this much of its run's time is left (the time to store the
    # checkpoint); and, when set, after ``run_seconds`` in one run even if the function has longer.
    checkpoint_reserve_seconds: float = 60.0
    run_seconds: float | None = None

    @classmethod
    def of(cls, settings: WorkerSettings | AssemblerSettings | CaptureSettings) -> LifecycleConfig:
        """A function's settings as the lifecycle reads them (a capture is never retried: no backoff)."""
        return cls(
            lease_seconds=settings.LEASE_SECONDS,
            progress_interval_seconds=settings.PROGRESS_INTERVAL_SECONDS,
            part_size_bytes=settings.PART_SIZE_BYTES,
            expiration_days=settings.EXPORT_EXPIRATION_DAYS,
            retry_backoff_seconds=getattr(settings, "RETRY_BACKOFF_SECONDS", 0),
            checkpoint_reserve_seconds=getattr(settings, "CHECKPOINT_RESERVE_SECONDS", 60.0),
            run_seconds=getattr(settings, "RUN_SECONDS", None),
        )


# Seconds left in the function's invocation (the Lambda context's remaining time), set by the handler.
REMAINING_SECONDS: ContextVar[Callable[[], float] | None] = ContextVar("remaining_seconds", default=None)


@contextmanager
def invocation_deadline(context: Any) -> Iterator[None]:
    """Let the jobs run in this block know when the invocation ends (``context``: the Lambda context)."""
    token = REMAINING_SECONDS.set(lambda: context.get_remaining_time_in_millis() / 1000)
    try:
        yield
    finally:
        REMAINING_SECONDS.reset(token)


@dataclass
class LifecyclePorts:
    jobs: JobsRepository
    store: ObjectStore  # the exports bucket
    queue: MessageQueue | None  # where retries go; None for kinds that never retry
    notifier: JobNotifier | None = None  # publishes Export Completed / Export Failed as the job ends


def short_error(error: BaseException, limit: int = 300) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def backoff_seconds(attempt: int, base: int) -> int:
    """Delay before attempt ``attempt + 1``: base, 2*base, 4*base ... capped at SQS's 15 minutes."""
    return int(min(base * 2 ** max(attempt - 1, 0), MAX_DELAY_SECONDS))


class LeaseHeartbeat:
    """Renews the lease and records progress at most every ``interval`` seconds."""

    def __init__(self, jobs: JobsRepository, export: Export, owner: str, config: LifecycleConfig) -> None:
        self._jobs, self._export, self._owner, self._config = jobs, export, owner, config
        self._next = time.monotonic() + config.progress_interval_seconds
        self.rows_total: int | None = None

    def __call__(self, rows_written: int, *, force: bool = False) -> None:
        if not force and time.monotonic() < self._next:
            return
        self._renew(rows_written, details=None, message=None)
        logger.info("progress", extra={"rows_written": rows_written, "rows_total": self.rows_total})

    def report(self, rows_written: int, *, details: dict[str, Any] | None, message: str | None) -> None:
        self._renew(rows_written, details=details, message=message)

    def _renew(self, rows_written: int, *, details: dict[str, Any] | None, message: str | None) -> None:
        self._next = time.monotonic() + self._config.progress_interval_seconds
        if not self._jobs.renew(
            self._export.export_id,
            owner=self._owner,
            lease_seconds=self._config.lease_seconds,
            rows_written=rows_written,
            rows_total=self.rows_total,
            details=details,
            message=message,
        ):
            raise LeaseLost(str(self._export.export_id))


@dataclass
class _Checkpoints:
    """A job's checkpoint: what the last run stored with the job, and the objects it kept in the bucket."""

    store: ObjectStore
    export_id: str
    stored: dict[str, Any] | None  # the checkpoint this run goes on from
    kept: list[str] = field(default_factory=list)  # every key saved by this attempt's runs
    # In this run's keys: a lost run that wakes up after another went on from the same checkpoint
    # cannot overwrite what that one keeps.
    run_token: str = field(default_factory=lambda: secrets.token_hex(4))

    def __post_init__(self) -> None:
        self.kept = list(self.stored["kept"]) if self.stored else []

    @property
    def segment(self) -> int:
        """This run's number among the attempt's runs (1 for a run from the start)."""
        return int(self.stored["segment"]) + 1 if self.stored else 1

    def resumed_sink(self) -> tuple[dict[str, Any], bytes] | None:
        if self.stored is None:
            return None
        return self.stored["sink"], b"".join(self.store.chunks(self.stored["tail"]))

    def save(self, name: str, body: bytes | IO[bytes]) -> str:
        key = f"{CHECKPOINTS_PREFIX}{self.export_id}/{self.segment:05d}-{self.run_token}/{name}"
        self.store.put(key, body)
        self.kept.append(key)
        return key

    def forget(self) -> None:
        """The attempt ended: its kept objects go (best effort; the bucket expires what is left)."""
        delete_kept(self.store, self.kept)
        self.kept.clear()


@dataclass
class _Clock:
    """How long a run may still go before it must have checkpointed."""

    reserve_seconds: float
    run_seconds: float | None
    remaining: Callable[[], float] | None = field(default_factory=REMAINING_SECONDS.get)
    started: float = field(default_factory=time.monotonic)

    def time_left(self) -> float | None:
        limits = [] if self.remaining is None else [self.remaining()]
        if self.run_seconds is not None:
            limits.append(self.run_seconds - (time.monotonic() - self.started))
        return min(limits) - self.reserve_seconds if limits else None


@dataclass
class _Run:
    """The :class:`~exporter.jobs.kind.JobRun` a body is handed."""

    export: Export
    heartbeat: LeaseHeartbeat
    output: MultipartSink
    expiration_days: int
    jobs: JobsRepository
    owner: str
    checkpoints: _Checkpoints
    clock: _Clock

    def details(self, *, rows: int, extra: dict[str, Any], completed_at: datetime) -> dict[str, Any]:
        return export_details(
            self.export, completed_at=completed_at, expiration_days=self.expiration_days, rows=rows, extra=extra
        )

    @property
    def resumed(self) -> dict[str, Any] | None:
        stored = self.checkpoints.stored
        return dict(stored["body"]) if stored else None

    def time_left(self) -> float | None:
        return self.clock.time_left()

    def save(self, name: str, body: bytes | IO[bytes]) -> str:
        return self.checkpoints.save(name, body)

    def saved(self, key: str) -> Iterator[bytes]:
        return self.checkpoints.store.chunks(key)

    def suspend(self, state: dict[str, Any], *, rows: int) -> Continuing:
        sink, tail = self.output.suspend()
        checkpoint = {
            "segment": self.checkpoints.segment,
            "rows": rows,
            "sink": sink,
            "tail": self.save("tail", tail),
            "body": state,
            "kept": self.checkpoints.kept,
        }
        total = f" of {self.heartbeat.rows_total:,}" if self.heartbeat.rows_total is not None else ""
        message = f"{rows:,}{total} rows written; going on in a next run"
        if not self.jobs.suspend(
            self.export.export_id, owner=self.owner, checkpoint=checkpoint, rows_written=rows, message=message
        ):
            raise LeaseLost(str(self.export.export_id))
        logger.info("checkpoint stored", extra={"segment": checkpoint["segment"], "rows": rows, "bytes": sink["size"]})
        return Continuing(rows=rows)


def run_job(
    message: JobMessage, kind: JobKind, body: Body, ports: LifecyclePorts, config: LifecycleConfig, *, owner: str
) -> RunResult:
    """Run one attempt of the job ``message`` names. Raises only when the outcome could not be recorded."""
    export_id = message.export_id
    if not ports.jobs.claim(export_id, message.attempt, owner=owner, lease_seconds=config.lease_seconds):
        logger.info(
            f"message skipped: the {kind.noun} is gone, already claimed, or this attempt is stale",
            extra={"attempt": message.attempt},
        )
        return RunResult(Outcome.SKIPPED)
    export = ports.jobs.get(export_id)
    if export is None:  # deleted between claim and read
        return RunResult(Outcome.SKIPPED)
    if export.kind is not kind.kind:
        ports.jobs.fail(export_id, owner=owner, message=f"this job is not of kind {kind.kind.value}")
        return RunResult(Outcome.FAILED)
    logger.info(f"{kind.noun} claimed", extra={"attempt": message.attempt, "max_retries": message.max_retries})
    started = time.monotonic()
    output = kind.output_of(export)
    key = output.object_key(export)
    try:
        result, size = _write(export, output, body, ports, config, owner, key)
    except LeaseLost:
        logger.warning(f"lease lost: another run owns this {kind.noun} now, or it was deleted")
        return RunResult(Outcome.LEASE_LOST)
    except Exception as error:
        return _announced(ports, RunResult(_after_failure(message, export, kind, ports, config, owner, error)), export)
    if isinstance(result, Waiting):
        return _wait(export, ports, owner, result)
    if isinstance(result, Continuing):
        return _continue(message, ports, result)
    if not ports.jobs.complete(
        export_id,
        owner=owner,
        s3_key=key,
        size_bytes=size,
        rows_written=result.rows,
        details=result.details,
        expiration_days=config.expiration_days,
        message=result.message,
    ):
        if ports.jobs.get(export_id) is None:  # deleted while running: leave nothing behind
            ports.store.delete(key)
        return RunResult(Outcome.LEASE_LOST)
    logger.info(
        f"{kind.noun} completed",
        extra={"rows": result.rows, "bytes": size, "seconds": round(time.monotonic() - started, 3), **result.log},
    )
    return _announced(ports, RunResult(Outcome.COMPLETED, rows=result.rows, bytes=size), export)


def _announced(ports: LifecyclePorts, result: RunResult, export: Export) -> RunResult:
    """``result``, once a job that ended (completed or failed) has been announced on the bus."""
    if ports.notifier is not None and result.outcome in (Outcome.COMPLETED, Outcome.FAILED):
        ports.notifier.announce(export.export_id)
    return result


def _write(
    export: Export, output: Output, body: Body, ports: LifecyclePorts, config: LifecycleConfig, owner: str, key: str
) -> tuple[Artefact | Waiting | Continuing, int]:
    """Run the body into the job's multipart upload of ``key``: a new one, or the one its checkpoint holds.

    The upload is aborted unless it completes or the body checkpoints. Once the object is complete in S3,
    the artefact's ``after_upload`` runs (archive-then-delete), and what the attempt's checkpoints kept goes.
    """
    checkpoints = _Checkpoints(ports.store, str(export.export_id), ports.jobs.checkpoint(export.export_id, owner=owner))
    resumed = checkpoints.resumed_sink()
    sink = MultipartSink(
        ports.store,
        key,
        part_size=config.part_size_bytes,
        content_type=output.content_type,
        content_disposition=f'attachment; filename="{output.filename(export)}"',
        resumed=resumed,
    )
    # Without a queue no next run can be started: such a run has no time to checkpoint by.
    clock = (
        _Clock(config.checkpoint_reserve_seconds, config.run_seconds)
        if ports.queue is not None
        else _Clock(0.0, None, remaining=None)
    )
    heartbeat = LeaseHeartbeat(ports.jobs, export, owner, config)
    try:
        run = _Run(export, heartbeat, sink, config.expiration_days, ports.jobs, owner, checkpoints, clock)
        result = body(run)
        if isinstance(result, Continuing):
            return result, 0
        if isinstance(result, Waiting) or (result.kept_size is not None):
            sink.abort()
            return result, 0 if isinstance(result, Waiting) else int(result.kept_size or 0)
        size = sink.complete()
    except LeaseLost:
        # Another run owns the job now, and an upload this run went on with is that run's upload too;
        # unless the job was deleted: then nothing of it stays.
        if resumed is None or ports.jobs.get(export.export_id) is None:
            sink.abort()
            checkpoints.forget()
        raise
    except BaseException:
        if resumed is not None and not _still_holds(ports, export, owner):
            raise  # a run that lost its lease meanwhile: the one that took over goes on with this upload
        sink.abort()
        checkpoints.forget()
        raise
    checkpoints.forget()
    if result.after_upload is None:
        return result, size
    return replace(result, details={**result.details, **result.after_upload(size)}), size


def _still_holds(ports: LifecyclePorts, export: Export, owner: str) -> bool:
    """Whether this run still holds the job; not knowing (the database is away) counts as no."""
    try:
        return ports.jobs.holds(export.export_id, owner=owner)
    except Exception:
        return False


def _continue(message: JobMessage, ports: LifecyclePorts, continuing: Continuing) -> RunResult:
    """The job is pending again with its checkpoint: this attempt's message again, for the next run.

    Were this run lost before the send, the message it was handed comes back (it is not acknowledged)
    and runs the same attempt; a duplicate claims nothing.
    """
    if ports.queue is None:
        raise RuntimeError("a job that checkpoints needs a queue to go on")
    ports.queue.send(message)
    logger.info("continuing in a next run", extra={"rows": continuing.rows})
    return RunResult(Outcome.CONTINUING, rows=continuing.rows)


def _wait(export: Export, ports: LifecyclePorts, owner: str, waiting: Waiting) -> RunResult:
    """Back to pending, same attempt, so the next message for this attempt runs it again."""
    if not ports.jobs.release(export.export_id, owner=owner, message=waiting.message):
        return RunResult(Outcome.LEASE_LOST)
    logger.info("waiting", extra={"reason": waiting.message})
    return RunResult(Outcome.WAITING)


def _after_failure(
    message: JobMessage,
    export: Export,
    kind: JobKind,
    ports: LifecyclePorts,
    config: LifecycleConfig,
    owner: str,
    error: Exception,
) -> Outcome:
    reason = short_error(error)
    logger.exception(f"{kind.noun} attempt failed", extra={"attempt": message.attempt})
    if message.attempt <= export.max_retries and ports.queue is not None:
        next_attempt = ports.jobs.retry(
            export.export_id, owner=owner, message=f"attempt {message.attempt} failed ({reason}); retrying"
        )
        if next_attempt is None:
            return Outcome.LEASE_LOST
        delay = backoff_seconds(message.attempt, config.retry_backoff_seconds)
        ports.queue.send(message.model_copy(update={"attempt": next_attempt}), delay_seconds=delay)
        logger.info(f"{kind.noun} retry enqueued", extra={"next_attempt": next_attempt, "delay_seconds": delay})
        return Outcome.RETRYING
    ports.jobs.fail(
        export.export_id, owner=owner, message=kind.failure_message.format(attempts=message.attempt, reason=reason)
    )
    return Outcome.FAILED
