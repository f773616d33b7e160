"""The job state machine in SQL: claim, renew, complete, retry, release, fail, and the sweeper's sweeps.

Every transition is one conditional UPDATE ... RETURNING on the lease owner (or on status and
attempt for a claim), so a duplicate message, a stale run or a deleted job changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from ..adapters.postgres import Database

CLAIM = """
UPDATE exports
SET status = 'processing', started_at = COALESCE(started_at, now()), updated_at = now(),
    lease_owner = %(owner)s, lease_expires_at = now() + make_interval(secs => %(lease)s),
    message = NULL
WHERE export_id = %(export_id)s AND status = 'pending' AND attempt = %(attempt)s
RETURNING export_id
"""
RENEW = """
UPDATE exports
SET lease_expires_at = now() + make_interval(secs => %(lease)s), updated_at = now(),
    rows_written = %(rows_written)s, rows_total = %(rows_total)s,
    details = COALESCE(%(details)s::jsonb, details), message = COALESCE(%(message)s, message)
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING export_id
"""
COMPLETE = """
UPDATE exports
SET status = 'completed', completed_at = now(), updated_at = now(), s3_key = %(s3_key)s,
    size_bytes = %(size_bytes)s, rows_written = %(rows_written)s, rows_total = %(rows_written)s,
    details = %(details)s, expires_at = now() + make_interval(days => %(expiration_days)s),
    lease_owner = NULL, lease_expires_at = NULL, message = %(message)s, checkpoint = NULL
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING export_id
"""
RETRY = """
UPDATE exports
SET status = 'pending', attempt = attempt + 1, updated_at = now(), message = %(message)s,
    lease_owner = NULL, lease_expires_at = NULL, rows_written = 0, checkpoint = NULL
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING attempt
"""
FAIL = """
UPDATE exports
SET status = 'failed', updated_at = now(), completed_at = now(), message = %(message)s,
    lease_owner = NULL, lease_expires_at = NULL, checkpoint = NULL
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING export_id
"""
FAIL_UNFINISHED = """
UPDATE exports
SET status = 'failed', updated_at = now(), completed_at = now(), message = %(message)s,
    lease_owner = NULL, lease_expires_at = NULL, checkpoint = NULL
WHERE export_id = %(export_id)s AND status IN ('pending', 'processing')
RETURNING export_id
"""
# A lapsed lease with retries left goes back to pending with the next attempt number. Its checkpoint,
# if any, stays: the run was lost, not wrong, so the next attempt goes on from there. A job of a kind
# that is never resent (``awaiting``: its own message comes back when the lost run's visibility timeout
# ends) goes on from its checkpoint with the same attempt, retries or not: a capture's window goes on.
_GOES_ON = "(checkpoint IS NOT NULL AND kind = ANY(%(awaiting)s::text[]))"
REQUEUE_LAPSED = f"""
UPDATE exports
SET status = 'pending', attempt = attempt + CASE WHEN {_GOES_ON} THEN 0 ELSE 1 END, updated_at = now(),
    lease_owner = NULL, lease_expires_at = NULL, rows_written = COALESCE((checkpoint->>'rows')::bigint, 0),
    message = CASE WHEN checkpoint IS NULL THEN 'attempt ' || attempt || ' stopped responding; retrying'
                   ELSE 'a run stopped responding; going on from its last checkpoint' END
WHERE status = 'processing' AND lease_expires_at < now() AND (attempt <= max_retries OR {_GOES_ON})
RETURNING export_id
"""
FAIL_LAPSED = f"""
UPDATE exports
SET status = 'failed', updated_at = now(), completed_at = now(), lease_owner = NULL,
    lease_expires_at = NULL, checkpoint = NULL,
    message = 'the export stopped responding on its last attempt (' || attempt || ')'
WHERE status = 'processing' AND lease_expires_at < now() AND attempt > max_retries AND NOT {_GOES_ON}
RETURNING export_id
"""
TOUCH_PENDING = "UPDATE exports SET updated_at = now() WHERE export_id = %s AND status = 'pending'"
# A body that waits on something outside gives the job back: pending again, same attempt.
RELEASE = """
UPDATE exports
SET status = 'pending', updated_at = now(), message = %(message)s, lease_owner = NULL, lease_expires_at = NULL
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING export_id
"""
# A body that checkpointed gives the job back with its checkpoint: pending again, same attempt.
SUSPEND = """
UPDATE exports
SET status = 'pending', updated_at = now(), message = %(message)s, lease_owner = NULL, lease_expires_at = NULL,
    rows_written = %(rows_written)s, checkpoint = %(checkpoint)s::jsonb
WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING export_id
"""
CHECKPOINT = "SELECT checkpoint FROM exports WHERE export_id = %(export_id)s AND lease_owner = %(owner)s"
HOLDS = "SELECT 1 FROM exports WHERE export_id = %(export_id)s AND status = 'processing' AND lease_owner = %(owner)s"


class LeaseStateMachine:
    """The worker's and the sweeper's transitions of a job row (mixed into the jobs repository)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _returning(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return [row[0] for row in self._db.run([(sql, params)])]

    def claim(self, export_id: UUID, attempt: int, *, owner: str, lease_seconds: int) -> bool:
        return bool(
            self._returning(
                CLAIM, {"export_id": str(export_id), "attempt": attempt, "owner": owner, "lease": lease_seconds}
            )
        )

    def renew(
        self,
        export_id: UUID,
        *,
        owner: str,
        lease_seconds: int,
        rows_written: int,
        rows_total: int | None,
        details: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> bool:
        """Extend the lease and record progress; ``details``/``message``, when given, replace the stored ones."""
        return bool(
            self._returning(
                RENEW,
                {
                    "export_id": str(export_id),
                    "owner": owner,
                    "lease": lease_seconds,
                    "rows_written": rows_written,
                    "rows_total": rows_total,
                    "details": json.dumps(details) if details is not None else None,
                    "message": message,
                },
            )
        )

    def complete(
        self,
        export_id: UUID,
        *,
        owner: str,
        s3_key: str,
        size_bytes: int,
        rows_written: int,
        details: dict[str, Any],
        expiration_days: int,
        message: str | None = None,
    ) -> bool:
        return bool(
            self._returning(
                COMPLETE,
                {
                    "export_id": str(export_id),
                    "owner": owner,
                    "s3_key": s3_key,
                    "size_bytes": size_bytes,
                    "rows_written": rows_written,
                    "details": json.dumps(details),
                    "expiration_days": expiration_days,
                    "message": message,
                },
            )
        )

    def retry(self, export_id: UUID, *, owner: str, message: str) -> int | None:
        """Back to pending with the next attempt number; that number, or None if the lease was lost."""
        rows = self._returning(RETRY, {"export_id": str(export_id), "owner": owner, "message": message})
        return int(rows[0]) if rows else None

    def fail(self, export_id: UUID, *, owner: str, message: str) -> bool:
        return bool(self._returning(FAIL, {"export_id": str(export_id), "owner": owner, "message": message}))

    def release(self, export_id: UUID, *, owner: str, message: str) -> bool:
        """Pending again with the same attempt (the body waits on something outside)."""
        return bool(self._returning(RELEASE, {"export_id": str(export_id), "owner": owner, "message": message}))

    def suspend(
        self, export_id: UUID, *, owner: str, checkpoint: dict[str, Any], rows_written: int, message: str
    ) -> bool:
        """Pending again with the same attempt and ``checkpoint`` stored: a next run goes on from there."""
        return bool(
            self._returning(
                SUSPEND,
                {
                    "export_id": str(export_id),
                    "owner": owner,
                    "checkpoint": json.dumps(checkpoint),
                    "rows_written": rows_written,
                    "message": message,
                },
            )
        )

    def checkpoint(self, export_id: UUID, *, owner: str) -> dict[str, Any] | None:
        """The checkpoint the job's current run (``owner``) goes on from; None: it starts from the beginning."""
        rows = self._returning(CHECKPOINT, {"export_id": str(export_id), "owner": owner})
        return dict(rows[0]) if rows and rows[0] is not None else None

    def fail_unfinished(self, export_id: UUID, message: str) -> bool:
        return bool(self._returning(FAIL_UNFINISHED, {"export_id": str(export_id), "message": message}))

    def holds(self, export_id: UUID, *, owner: str) -> bool:
        """Whether the run ``owner`` still holds the job's lease."""
        return bool(self._returning(HOLDS, {"export_id": str(export_id), "owner": owner}))

    def requeue_lapsed(self, *, awaiting: Sequence[str] = ()) -> list[UUID]:
        """Lapsed leases back to pending; ``awaiting``: kinds whose checkpointed jobs wait for their own message."""
        return [UUID(str(x)) for x in self._returning(REQUEUE_LAPSED, {"awaiting": list(awaiting)})]

    def fail_lapsed(self, *, awaiting: Sequence[str] = ()) -> list[UUID]:
        return [UUID(str(x)) for x in self._returning(FAIL_LAPSED, {"awaiting": list(awaiting)})]

    def touch_pending(self, export_id: UUID) -> None:
        self._db.run([(TOUCH_PENDING, (str(export_id),))])
