"""One fire of a schedule: claim its fire time once, request the export as the owner, record the run.

Scheduler delivers at least once. The run's primary key (schedule, fire time) makes a second
delivery of the same fire do nothing; a fire that crashed before recording anything releases
its claim (or leaves it to lapse), so Scheduler's retry runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from aws_lambda_powertools import Logger

from ..errors import ExportError
from .repository import SchedulesRepository
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


def fire(schedule_id: UUID, fire_time: datetime, *, schedules: SchedulesRepository, targets: Targets) -> FireResult:
    schedule = schedules.get(schedule_id)
    if schedule is None or not schedule.enabled:
        reason = "no such schedule" if schedule is None else "the schedule is paused"
        logger.info("fire skipped", extra={"schedule_id": str(schedule_id), "reason": reason})
        return FireResult(Outcome.SKIPPED, message=reason)
    if not schedules.claim_run(schedule_id, fire_time):
        logger.info("duplicate fire", extra={"schedule_id": str(schedule_id), "fire_time": fire_time.isoformat()})
        return FireResult(Outcome.DUPLICATE)
    try:
        export = targets.request(schedule.target, schedule.owner, fire_time=fire_time, timezone=schedule.timezone)
    except ExportError as error:  # refused or not queued: retrying the fire would not help
        schedules.finish_run(schedule_id, fire_time, export_id=None, message=str(error))
        logger.warning("scheduled export refused", extra={"schedule_id": str(schedule_id), "error": str(error)})
        return FireResult(Outcome.FAILED, message=str(error))
    except Exception:
        schedules.release_run(schedule_id, fire_time)  # let Scheduler's retry run this fire time
        raise
    schedules.finish_run(schedule_id, fire_time, export_id=export.export_id)
    logger.info(
        "scheduled export requested",
        extra={"schedule_id": str(schedule_id), "fire_time": fire_time.isoformat(), "export_id": str(export.export_id)},
    )
    return FireResult(Outcome.CREATED, export_id=export.export_id)
