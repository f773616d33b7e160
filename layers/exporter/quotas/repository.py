"""The limits' rows in PostgreSQL: a per-user per-minute counter and the idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ..adapters.postgres import Database

COUNT_REQUEST = """
INSERT INTO request_counts (user_id, window_start, requests)
VALUES (%(user_id)s, date_trunc('minute', now()), 1)
ON CONFLICT (user_id, window_start) DO UPDATE SET requests = request_counts.requests + 1
RETURNING requests, ceil(extract(epoch FROM request_counts.window_start + interval '1 minute' - now()))::int
"""
# A user's past minutes are of no more use once a new one has started.
FORGET_PAST_MINUTES = """
DELETE FROM request_counts WHERE user_id = %(user_id)s AND window_start < date_trunc('minute', now())
"""
ACTIVE_JOBS = """
SELECT count(*) FROM exports WHERE creator_id = %s AND status IN ('pending', 'processing')
"""
FORGET_EXPIRED_KEYS = """
DELETE FROM idempotency_keys WHERE user_id = %(user_id)s AND expires_at <= now()
"""
CLAIM_KEY = """
INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, expires_at)
VALUES (%(user_id)s, %(key)s, %(fingerprint)s, now() + %(ttl_seconds)s * interval '1 second')
ON CONFLICT (user_id, idempotency_key) DO NOTHING
RETURNING true
"""
READ_KEY = """
SELECT fingerprint, export_id FROM idempotency_keys WHERE user_id = %s AND idempotency_key = %s
"""
COMPLETE_KEY = """
UPDATE idempotency_keys SET export_id = %s WHERE user_id = %s AND idempotency_key = %s AND export_id IS NULL
"""
RELEASE_KEY = """
DELETE FROM idempotency_keys WHERE user_id = %s AND idempotency_key = %s AND export_id IS NULL
"""


@dataclass(frozen=True)
class Window:
    """This minute's count of a user's requests, and the seconds until the next minute starts."""

    requests: int
    seconds_left: int


@dataclass(frozen=True)
class KeyRecord:
    """Another request's use of a key: its body's fingerprint, and its job once written."""

    fingerprint: str
    export_id: UUID | None


class QuotaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def count_request(self, user_id: str) -> Window:
        """Count one request of ``user_id`` in the current minute (atomically, across containers)."""
        params = {"user_id": user_id}
        (requests, seconds_left), *_ = self._db.run([(COUNT_REQUEST, params)])
        if requests == 1:
            self._db.run([(FORGET_PAST_MINUTES, params)])
        return Window(requests=int(requests), seconds_left=max(1, int(seconds_left)))

    def active_jobs(self, user_id: str) -> int:
        (count,), *_ = self._db.run([(ACTIVE_JOBS, (user_id,))])
        return int(count)

    def claim_key(self, user_id: str, key: str, fingerprint: str, ttl_seconds: int) -> bool:
        """True when this request now holds ``key`` (no other live row had it)."""
        params = {"user_id": user_id, "key": key, "fingerprint": fingerprint, "ttl_seconds": ttl_seconds}
        return bool(self._db.run([(FORGET_EXPIRED_KEYS, params), (CLAIM_KEY, params)]))

    def read_key(self, user_id: str, key: str) -> KeyRecord | None:
        rows = self._db.run([(READ_KEY, (user_id, key))])
        if not rows:
            return None
        fingerprint, export_id = rows[0]
        return KeyRecord(fingerprint=fingerprint, export_id=UUID(str(export_id)) if export_id else None)

    def complete_key(self, user_id: str, key: str, export_id: UUID) -> None:
        self._db.run([(COMPLETE_KEY, (str(export_id), user_id, key))])

    def release_key(self, user_id: str, key: str) -> None:
        """Give up a key whose job was not written, so the request can be made again with it."""
        self._db.run([(RELEASE_KEY, (user_id, key))])
