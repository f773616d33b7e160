"""Creating, reading, changing and deleting schedules, with EventBridge Scheduler kept in step.

Each change opens the row's transaction, changes Scheduler inside it, and commits only after
Scheduler agreed: a Scheduler failure rolls the row back. When the commit itself fails after
Scheduler changed, Scheduler is put back as it was (the compensation). If even that fails, the
leftover Scheduler schedule is harmless: a fire for a schedule with no row does nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from ..adapters.ports import ScheduleService, TimedSchedule
from ..errors import ScheduleNotFound, SchedulesUnavailable
from ..jobs.model import Caller
from .expressions import At, InvalidExpression, next_runs, parse, zone
from .model import DEFAULT_TIMEZONE, Run, Schedule, ScheduleChange, Target
from .repository import SchedulesRepository
from .targets import Targets

logger = Logger(child=True)

NEXT_RUNS = 3
LAST_RUNS = 10
MAX_LISTED = 500


class NewSchedule(BaseModel):
    """``POST /schedules``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=100)
    target: Target
    expression: str = Field(max_length=256, description="cron(…) with 6 fields, rate(N unit) or at(…)")
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64, description="An IANA time zone")
    enabled: bool = True


@dataclass(frozen=True)
class SchedulePorts:
    schedules: SchedulesRepository
    scheduler: ScheduleService
    targets: Targets


def timed(schedule: Schedule) -> TimedSchedule:
    return TimedSchedule(
        name=str(schedule.schedule_id),
        expression=schedule.expression,
        timezone=schedule.timezone,
        enabled=schedule.enabled,
    )


def check_timing(expression: str, timezone: str, *, now: datetime) -> None:
    """A 400 for an expression or time zone Scheduler would refuse, or a one-off time already past."""
    parsed = parse(expression)
    tz = zone(timezone)
    if isinstance(parsed, At) and not next_runs(expression, timezone, after=now, anchor=now):
        raise InvalidExpression(f"{expression} is not in the future in {tz.key}")


def _undo(action: Callable[[], None], what: str, schedule_id: UUID) -> None:
    """Best-effort compensation; a leftover Scheduler schedule fires into nothing (no row), so log and go on."""
    try:
        action()
    except Exception:
        logger.exception(f"could not {what} in Scheduler after the database failed", extra={"id": str(schedule_id)})


def create_schedule(new: NewSchedule, *, caller: Caller, now: datetime, ports: SchedulePorts, limit: int) -> Schedule:
    check_timing(new.expression, new.timezone, now=now)
    ports.targets.check(new.target, caller, now=now, timezone=new.timezone)
    schedule = Schedule(
        schedule_id=uuid.uuid4(),
        owner=caller,
        name=new.name,
        target=new.target,
        expression=new.expression.strip(),
        timezone=new.timezone,
        enabled=new.enabled,
        anchor_at=now,
        created_at=now,
        updated_at=now,
    )
    made = False
    try:
        with ports.schedules.creating(schedule, limit=limit):
            ports.scheduler.create(timed(schedule))
            made = True
    except SchedulesUnavailable:
        if made:
            _undo(lambda: ports.scheduler.delete(str(schedule.schedule_id)), "delete", schedule.schedule_id)
        raise
    logger.info("schedule created", extra={"schedule_id": str(schedule.schedule_id), "expression": new.expression})
    return schedule


def visible_schedule(schedule_id: UUID, caller: Caller, schedules: SchedulesRepository) -> Schedule:
    schedule = schedules.get(schedule_id)
    if schedule is None or not schedule.visible_to(caller):
        raise ScheduleNotFound(str(schedule_id))
    return schedule


def _changed(current: Schedule, change: ScheduleChange, now: datetime) -> Schedule:
    expression = change.expression.strip() if change.expression is not None else current.expression
    timezone = change.timezone if change.timezone is not None else current.timezone
    enabled = change.enabled if change.enabled is not None else current.enabled
    retimed = (expression, timezone) != (current.expression, current.timezone)
    if retimed:
        check_timing(expression, timezone, now=now)
    return current.model_copy(
        update={
            "expression": expression,
            "timezone": timezone,
            "enabled": enabled,
            "anchor_at": now if retimed else current.anchor_at,
            "updated_at": now,
        }
    )


def change_schedule(
    schedule_id: UUID, change: ScheduleChange, *, caller: Caller, now: datetime, ports: SchedulePorts
) -> Schedule:
    updated: Schedule | None = None
    current: Schedule | None = None
    try:
        with ports.schedules.changing(schedule_id) as (current, write):
            if not current.visible_to(caller):
                raise ScheduleNotFound(str(schedule_id))
            new = _changed(current, change, now)
            write(new)
            ports.scheduler.update(timed(new))
            updated = new
    except SchedulesUnavailable:
        if updated is not None and current is not None:
            before = timed(current)
            _undo(lambda: ports.scheduler.update(before), "restore", schedule_id)
        raise
    assert updated is not None
    return updated


def delete_schedule(schedule_id: UUID, *, caller: Caller, ports: SchedulePorts) -> None:
    removed: Schedule | None = None
    try:
        with ports.schedules.deleting(schedule_id) as current:
            if not current.visible_to(caller):
                raise ScheduleNotFound(str(schedule_id))
            ports.scheduler.delete(str(schedule_id))
            removed = current
    except SchedulesUnavailable:
        if removed is not None:
            again = timed(removed)
            _undo(lambda: ports.scheduler.create(again), "re-create", schedule_id)
        raise


def upcoming(schedule: Schedule, *, now: datetime, count: int = NEXT_RUNS) -> list[datetime]:
    """The next fire times of an enabled schedule (none while it is paused)."""
    if not schedule.enabled:
        return []
    return next_runs(schedule.expression, schedule.timezone, after=now, anchor=schedule.anchor_at, count=count)


def list_schedules(*, caller: Caller, schedules: SchedulesRepository) -> list[Schedule]:
    """The caller's own schedules; an admin sees every schedule."""
    return schedules.of_owner(owner_id=None if caller.is_admin else caller.user_id, limit=MAX_LISTED)


def last_runs(schedule: Schedule, schedules: SchedulesRepository) -> list[Run]:
    return schedules.runs(schedule.schedule_id, limit=LAST_RUNS)


def describe_target(schedule: Schedule) -> dict[str, Any]:
    return schedule.target.model_dump(mode="json")
