"""The schedules repository: schedule rows and their runs.

Every change is a transaction the caller keeps open while it changes EventBridge Scheduler
(``creating``, ``changing``, ``deleting`` are context managers): an exception inside rolls the
row back, and the commit happens only after Scheduler agreed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg2.errors
import psycopg2.extras

from ..adapters.postgres import Database
from ..errors import Conflict, ScheduleLimitReached, ScheduleNotFound, SchedulesUnavailable
from .model import Run, RunState, Schedule

COLUMNS = """schedule_id, owner, name, target, expression, timezone, enabled, anchor_at, created_at, updated_at"""
INSERT_SCHEDULE = """
INSERT INTO schedules (schedule_id, owner_id, owner, name, target, expression, timezone, enabled,
                       anchor_at, created_at, updated_at)
VALUES (%(schedule_id)s, %(owner_id)s, %(owner)s, %(name)s, %(target)s, %(expression)s, %(timezone)s,
        %(enabled)s, %(anchor_at)s, %(anchor_at)s, %(anchor_at)s)
"""
# Creates by one owner are serialised, so two at once cannot both pass the limit.
LOCK_OWNER = "SELECT pg_advisory_xact_lock(hashtext('schedules:' || %s))"
COUNT_OWNED = "SELECT count(*) FROM schedules WHERE owner_id = %s"
SELECT_SCHEDULE = f"SELECT {COLUMNS} FROM schedules WHERE schedule_id = %s"
SELECT_FOR_UPDATE = f"SELECT {COLUMNS} FROM schedules WHERE schedule_id = %s FOR UPDATE"
SELECT_ALL = f"SELECT {COLUMNS} FROM schedules ORDER BY created_at DESC, schedule_id DESC LIMIT %s"
SELECT_OWNED = f"""
SELECT {COLUMNS} FROM schedules WHERE owner_id = %s ORDER BY created_at DESC, schedule_id DESC LIMIT %s
"""
UPDATE_SCHEDULE = f"""
UPDATE schedules SET expression = %(expression)s, timezone = %(timezone)s, enabled = %(enabled)s,
                     anchor_at = %(anchor_at)s, updated_at = now()
WHERE schedule_id = %(schedule_id)s
RETURNING {COLUMNS}
"""
DELETE_SCHEDULE = "DELETE FROM schedules WHERE schedule_id = %s"

RUN_COLUMNS = "fire_time, state, export_id, message, started_at"
# A fire claims its time once. A claim left 'started' for STALE_CLAIM_SECONDS (its fire crashed
# before recording anything) may be taken again by a redelivery of the same fire.
CLAIM_RUN = f"""
INSERT INTO schedule_runs AS r (schedule_id, fire_time) VALUES (%(schedule_id)s, %(fire_time)s)
ON CONFLICT (schedule_id, fire_time) DO UPDATE SET started_at = now()
    WHERE r.state = 'started' AND r.started_at < now() - make_interval(secs => %(stale_seconds)s)
RETURNING {RUN_COLUMNS}
"""
FINISH_RUN = """
UPDATE schedule_runs SET state = %(state)s, export_id = %(export_id)s, message = %(message)s
WHERE schedule_id = %(schedule_id)s AND fire_time = %(fire_time)s
"""
RELEASE_RUN = "DELETE FROM schedule_runs WHERE schedule_id = %s AND fire_time = %s AND state = 'started'"
SELECT_RUNS = f"""
SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = %s ORDER BY fire_time DESC LIMIT %s
"""
STALE_CLAIM_SECONDS = 300


def _schedule(row: dict[str, Any]) -> Schedule:
    return Schedule.model_validate(row)


class SchedulesRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _schedules(self, sql: str, params: Any) -> list[Schedule]:
        rows = self._db.run([(sql, params)], cursor_factory=psycopg2.extras.RealDictCursor)
        return [_schedule(dict(r)) for r in rows]

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A transaction whose database failures (the commit's included) are :class:`SchedulesUnavailable`."""
        try:
            with self._db.transaction() as cur:
                yield cur
        except psycopg2.Error as error:
            raise SchedulesUnavailable("the database failed; the schedule was not changed") from error

    @contextmanager
    def creating(self, schedule: Schedule, *, limit: int) -> Iterator[None]:
        """Insert ``schedule`` in a transaction committed when the block ends without an exception."""
        with self._transaction() as cur:
            cur.execute(LOCK_OWNER, (schedule.owner_id,))
            cur.execute(COUNT_OWNED, (schedule.owner_id,))
            (held,) = cur.fetchone() or (0,)
            if held >= limit:
                raise ScheduleLimitReached(f"you already hold {held} schedules, the most one user may hold ({limit})")
            try:
                cur.execute(INSERT_SCHEDULE, self._values(schedule))
            except psycopg2.errors.UniqueViolation as error:
                raise Conflict(f"you already have a schedule named {schedule.name!r}") from error
            yield

    @staticmethod
    def _values(schedule: Schedule) -> dict[str, Any]:
        return {
            "schedule_id": str(schedule.schedule_id),
            "owner_id": schedule.owner_id,
            "owner": json.dumps(schedule.owner.model_dump(mode="json")),
            "name": schedule.name,
            "target": json.dumps(schedule.target.model_dump(mode="json")),
            "expression": schedule.expression,
            "timezone": schedule.timezone,
            "enabled": schedule.enabled,
            "anchor_at": schedule.anchor_at,
        }

    @contextmanager
    def changing(self, schedule_id: UUID) -> Iterator[tuple[Schedule, Any]]:
        """The row locked for update, and a function that writes its new version; committed at the end."""
        with self._transaction() as cur:
            current = self._locked(cur, schedule_id)

            def write(new: Schedule) -> None:
                cur.execute(UPDATE_SCHEDULE, self._values(new))

            yield current, write

    @contextmanager
    def deleting(self, schedule_id: UUID) -> Iterator[Schedule]:
        """The row locked and deleted; the delete is committed when the block ends without an exception."""
        with self._transaction() as cur:
            current = self._locked(cur, schedule_id)
            cur.execute(DELETE_SCHEDULE, (str(schedule_id),))
            yield current

    @staticmethod
    def _locked(cur: Any, schedule_id: UUID) -> Schedule:
        cur.execute(SELECT_FOR_UPDATE, (str(schedule_id),))
        row = cur.fetchone()
        if row is None:
            raise ScheduleNotFound(str(schedule_id))
        names = [column.name for column in cur.description]
        return _schedule(dict(zip(names, row, strict=True)))

    def get(self, schedule_id: UUID) -> Schedule | None:
        found = self._schedules(SELECT_SCHEDULE, (str(schedule_id),))
        return found[0] if found else None

    def of_owner(self, *, owner_id: str | None, limit: int) -> list[Schedule]:
        """The owner's schedules (every schedule when ``owner_id`` is None), newest first."""
        if owner_id is None:
            return self._schedules(SELECT_ALL, (limit,))
        return self._schedules(SELECT_OWNED, (owner_id, limit))

    # ---- runs ----

    def claim_run(self, schedule_id: UUID, fire_time: datetime) -> bool:
        """True when this fire is the one that runs ``fire_time``; False for a duplicate."""
        params = {"schedule_id": str(schedule_id), "fire_time": fire_time, "stale_seconds": STALE_CLAIM_SECONDS}
        return bool(self._db.run([(CLAIM_RUN, params)]))

    def finish_run(
        self, schedule_id: UUID, fire_time: datetime, *, export_id: UUID | None, message: str | None = None
    ) -> None:
        params = {
            "schedule_id": str(schedule_id),
            "fire_time": fire_time,
            "state": (RunState.CREATED if export_id else RunState.FAILED).value,
            "export_id": str(export_id) if export_id else None,
            "message": message,
        }
        self._db.run([(FINISH_RUN, params)])

    def release_run(self, schedule_id: UUID, fire_time: datetime) -> None:
        """Forget a claim whose fire failed before it could record anything, so a retry may run it."""
        self._db.run([(RELEASE_RUN, (str(schedule_id), fire_time))])

    def runs(self, schedule_id: UUID, *, limit: int = 10) -> list[Run]:
        rows = self._db.run([(SELECT_RUNS, (str(schedule_id), limit))], cursor_factory=psycopg2.extras.RealDictCursor)
        return [Run.model_validate(dict(r)) for r in rows]


OPERATOR_CLAIM_RUN = f"""
INSERT INTO operator_schedule_runs AS r (dataset, fire_time) VALUES (%(dataset)s, %(fire_time)s)
ON CONFLICT (dataset, fire_time) DO UPDATE SET started_at = now()
    WHERE r.state = 'started' AND r.started_at < now() - make_interval(secs => %(stale_seconds)s)
RETURNING {RUN_COLUMNS}
"""
OPERATOR_FINISH_RUN = """
UPDATE operator_schedule_runs SET state = %(state)s, export_id = %(export_id)s, message = %(message)s
WHERE dataset = %(dataset)s AND fire_time = %(fire_time)s
"""
OPERATOR_RELEASE_RUN = "DELETE FROM operator_schedule_runs WHERE dataset = %s AND fire_time = %s AND state = 'started'"
OPERATOR_SELECT_RUNS = f"""
SELECT {RUN_COLUMNS} FROM operator_schedule_runs WHERE dataset = %s ORDER BY fire_time DESC LIMIT %s
"""


class OperatorRunsRepository:
    """The runs of operator schedules (a dataset's ``[schedule]``), one per dataset and fire time."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim_run(self, dataset: str, fire_time: datetime) -> bool:
        params = {"dataset": dataset, "fire_time": fire_time, "stale_seconds": STALE_CLAIM_SECONDS}
        return bool(self._db.run([(OPERATOR_CLAIM_RUN, params)]))

    def finish_run(
        self, dataset: str, fire_time: datetime, *, export_id: UUID | None, message: str | None = None
    ) -> None:
        params = {
            "dataset": dataset,
            "fire_time": fire_time,
            "state": (RunState.CREATED if export_id else RunState.FAILED).value,
            "export_id": str(export_id) if export_id else None,
            "message": message,
        }
        self._db.run([(OPERATOR_FINISH_RUN, params)])

    def release_run(self, dataset: str, fire_time: datetime) -> None:
        self._db.run([(OPERATOR_RELEASE_RUN, (dataset, fire_time))])

    def runs(self, dataset: str, *, limit: int = 10) -> list[Run]:
        rows = self._db.run([(OPERATOR_SELECT_RUNS, (dataset, limit))], cursor_factory=psycopg2.extras.RealDictCursor)
        return [Run.model_validate(dict(r)) for r in rows]
