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

STALE_CLAIM_SECONDS = 300


def _schedule(row: dict[str, Any]) -> Schedule:
    return Schedule.model_validate(row)


class SchedulesRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._runs = RunLedger(db, table="schedule_runs", key="schedule_id")

    def _schedules(self, sql: str, params: Any) -> list[Schedule]:
        rows = self._db.run([(sql, params)], cursor_factory=psycopg2.extras.RealDictCursor)
        return [_schedule(r) for r in rows]

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
        return self._runs.claim_run(str(schedule_id), fire_time)

    def finish_run(
        self, schedule_id: UUID, fire_time: datetime, *, export_id: UUID | None, message: str | None = None
    ) -> None:
        self._runs.finish_run(str(schedule_id), fire_time, export_id=export_id, message=message)

    def release_run(self, schedule_id: UUID, fire_time: datetime) -> None:
        """Forget a claim whose fire failed before it could record anything, so a retry may run it."""
        self._runs.release_run(str(schedule_id), fire_time)

    def runs(self, schedule_id: UUID, *, limit: int = 10) -> list[Run]:
        return self._runs.runs(str(schedule_id), limit=limit)


class RunLedger:
    """One row per (schedule, fire time) in ``table``, keyed by ``key``: a fire claims its time once.

    A claim left 'started' for STALE_CLAIM_SECONDS (its fire crashed before recording anything)
    may be taken again by a redelivery of the same fire.
    """

    _COLUMNS = "fire_time, state, export_id, message, started_at"

    def __init__(self, db: Database, *, table: str, key: str) -> None:
        self._db = db
        self._claim = f"""
INSERT INTO {table} AS r ({key}, fire_time) VALUES (%(key)s, %(fire_time)s)
ON CONFLICT ({key}, fire_time) DO UPDATE SET started_at = now()
    WHERE r.state = 'started' AND r.started_at < now() - make_interval(secs => %(stale_seconds)s)
RETURNING {self._COLUMNS}
"""
        self._finish = f"""
UPDATE {table} SET state = %(state)s, export_id = %(export_id)s, message = %(message)s
WHERE {key} = %(key)s AND fire_time = %(fire_time)s
"""
        self._release = f"DELETE FROM {table} WHERE {key} = %s AND fire_time = %s AND state = 'started'"
        self._select = f"SELECT {self._COLUMNS} FROM {table} WHERE {key} = %s ORDER BY fire_time DESC LIMIT %s"

    def claim_run(self, key: str, fire_time: datetime) -> bool:
        """True when this fire is the one that runs ``fire_time``; False for a duplicate."""
        params = {"key": key, "fire_time": fire_time, "stale_seconds": STALE_CLAIM_SECONDS}
        return bool(self._db.run([(self._claim, params)]))

    def finish_run(self, key: str, fire_time: datetime, *, export_id: UUID | None, message: str | None = None) -> None:
        params = {
            "key": key,
            "fire_time": fire_time,
            "state": (RunState.CREATED if export_id else RunState.FAILED).value,
            "export_id": str(export_id) if export_id else None,
            "message": message,
        }
        self._db.run([(self._finish, params)])

    def release_run(self, key: str, fire_time: datetime) -> None:
        """Forget a claim whose fire failed before it could record anything, so a retry may run it."""
        self._db.run([(self._release, (key, fire_time))])

    def runs(self, key: str, *, limit: int = 10) -> list[Run]:
        rows = self._db.run([(self._select, (key, limit))], cursor_factory=psycopg2.extras.RealDictCursor)
        return [Run.model_validate(r) for r in rows]


class OperatorRunsRepository(RunLedger):
    """The runs of operator schedules (a dataset's ``[schedule]``), one per dataset and fire time."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, table="operator_schedule_runs", key="dataset")
