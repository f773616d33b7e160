"""One fire of a schedule: claim its fire time once, request the export as the owner, record the run.

Scheduler delivers at least once. The run's primary key (schedule, fire time) makes a second
delivery of the same fire do nothing; a fire that crashed before recording anything releases
its claim (or leaves it to lapse), so Scheduler's retry runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from aws_lambda_powertools import Logger

from ..datasets.catalogue import Catalogue, RunMode
from ..errors import ExportError
from ..jobs.model import Caller, Export
from ..settings import ADMIN_GROUP
from .model import DatasetTarget
from .repository import OperatorRunsRepository, SchedulesRepository
from .targets import Targets

logger = Logger(child=True)


class Outcome(StrEnum):
    CREATED = "created"  # an export was requested for this fire time
    DUPLICATE = "duplicate"  # this fire time already ran (or is running)
    FAILED = "failed"  # the export could not be requested; the run records why
    SKIPPED = "skipped"  # no such schedule any more, or it is paused


@dataclass(frozen=True)
class FireResult:
    outcome: Outcome
    export_id: UUID | None = None
    message: str | None = None


def parse_fire_time(text: str) -> datetime:
    """Scheduler's ``<aws.scheduler.scheduled-time>`` (``2026-12-03T02:00:00Z``) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError(f"fire time {text!r} has no UTC offset")
    return moment.astimezone(UTC).replace(microsecond=0)


# An operator schedule has no owner: it runs as the system, in the admin group (admins run every dataset).
OPERATOR = Caller(user_id="system:operator-schedule", is_admin=True, groups=(ADMIN_GROUP,))


class Runs(Protocol):
    """Where a schedule's fire times are claimed and recorded: by schedule id, or by dataset for an operator's."""

    def claim_run(self, key: Any, fire_time: datetime, /) -> bool: ...
    def finish_run(
        self, key: Any, fire_time: datetime, /, *, export_id: UUID | None, message: str | None = None
    ) -> None: ...
    def release_run(self, key: Any, fire_time: datetime, /) -> None: ...


def fire(schedule_id: UUID, fire_time: datetime, *, schedules: SchedulesRepository, targets: Targets) -> FireResult:
    schedule = schedules.get(schedule_id)
    if schedule is None or not schedule.enabled:
        reason = "no such schedule" if schedule is None else "the schedule is paused"
        logger.info("fire skipped", extra={"schedule_id": str(schedule_id), "reason": reason})
        return FireResult(Outcome.SKIPPED, message=reason)
    return _run_once(
        schedule_id,
        fire_time,
        lambda: targets.request(schedule.target, schedule.owner, fire_time=fire_time, timezone=schedule.timezone),
        runs=schedules,
    )


def fire_operator(
    dataset: str,
    fire_time: datetime,
    *,
    catalogue: Catalogue,
    runs: OperatorRunsRepository,
    targets: Targets,
    batch: Callable[[str], int] | None = None,
) -> FireResult:
    """One fire of the operator schedule of ``dataset`` (its ``dataset.toml``), as the system, once per fire time.

    A dataset that runs in batches (``run = "batch"``) starts every request waiting for it instead
    (``batch`` starts them and says how many).
    """
    found = catalogue.datasets.get(dataset)
    schedule = found.schedule if found is not None else None
    if schedule is None:
        logger.info("operator fire skipped", extra={"dataset": dataset, "reason": "no such operator schedule"})
        return FireResult(Outcome.SKIPPED, message="no such operator schedule")
    if found is not None and found.run is RunMode.BATCH and batch is not None:
        return _batch_once(dataset, fire_time, batch, runs=runs)
    target = DatasetTarget(dataset=dataset, parameters=dict(schedule.parameters))
    return _run_once(
        dataset,
        fire_time,
        lambda: targets.request(target, OPERATOR, fire_time=fire_time, timezone=schedule.timezone),
        runs=runs,
    )


def _batch_once(dataset: str, fire_time: datetime, batch: Callable[[str], int], *, runs: Runs) -> FireResult:
    """Claim the fire time, start every waiting request of ``dataset``, record how many."""
    if not runs.claim_run(dataset, fire_time):
        logger.info("duplicate fire", extra={"schedule": dataset, "fire_time": fire_time.isoformat()})
        return FireResult(Outcome.DUPLICATE)
    try:
        started = batch(dataset)
    except Exception:
        runs.release_run(dataset, fire_time)
        raise
    message = f"batch run: {started} waiting request(s) started"
    runs.finish_run(dataset, fire_time, export_id=None, message=message)
    return FireResult(Outcome.CREATED, message=message)


def _run_once(key: UUID | str, fire_time: datetime, request: Callable[[], Export], *, runs: Runs) -> FireResult:
    """Claim ``(key, fire_time)``, request the export, record the run; a duplicate fire does nothing."""
    where = {"schedule": str(key), "fire_time": fire_time.isoformat()}
    if not runs.claim_run(key, fire_time):
        logger.info("duplicate fire", extra=where)
        return FireResult(Outcome.DUPLICATE)
    try:
        export = request()
    except ExportError as error:  # refused or not queued: retrying the fire would not help
        runs.finish_run(key, fire_time, export_id=None, message=str(error))
        logger.warning("scheduled export refused", extra={**where, "error": str(error)})
        return FireResult(Outcome.FAILED, message=str(error))
    except Exception:
        runs.release_run(key, fire_time)  # let Scheduler's retry run this fire time
        raise
    runs.finish_run(key, fire_time, export_id=export.export_id)
    logger.info("scheduled export requested", extra={**where, "export_id": str(export.export_id)})
    return FireResult(Outcome.CREATED, export_id=export.export_id)
