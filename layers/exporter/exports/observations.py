"""Reading the Ad Observatory observations a query selects, from one consistent snapshot."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import orjson
import psycopg2.extensions

from .fields import pruned_document

COUNT_OBSERVATIONS = "SELECT count(*) FROM observations WHERE {where}"
SELECT_OBSERVATIONS = (
    "SELECT observation_id, {document}::text FROM observations"
    " WHERE {where}{after} ORDER BY observed_at, observation_id"
)
# Where a run that goes on from a checkpoint starts: after the last row written, in the same order.
AFTER_KEY = " AND (observed_at, observation_id) > (%s::timestamptz, %s)"
# ISO 8601 in UTC with microseconds: read back the same whatever the session's DateStyle and TimeZone.
KEY_OF = (
    "SELECT to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    " FROM observations WHERE observation_id = %s"
)
# Batches fetched ahead of the one being written: the database works while Python does.
_AHEAD = 2
_POLL_SECONDS = 0.5


def select_observations(where_sql: str, paths: Sequence[str] | None = None, *, after: bool = False) -> str:
    """The SELECT of (observation_id, document text); only what ``paths`` reach of each document when given.

    With ``after``, only the rows after a key (two more parameters: observed_at text, observation_id).
    """
    return SELECT_OBSERVATIONS.format(
        document="rdo" if paths is None else pruned_document(paths), where=where_sql, after=AFTER_KEY if after else ""
    )


Key = tuple[str, str]  # (observed_at as text, observation_id): a row's place in the export's order


class ObservationsSnapshot:
    """Read the observations a query selects from one consistent snapshot.

    A REPEATABLE READ transaction makes the count and the rows (and a second pass, if a
    writer needs one) see the same observations. Rows stream from a server-side cursor in
    batches of ``batch_rows``, fetched by a thread a few batches ahead of the rows being
    written; memory holds at most ``2 + _AHEAD`` batches.
    """

    def __init__(
        self, conn: psycopg2.extensions.connection, where_sql: str, params: tuple[Any, ...], *, batch_rows: int
    ) -> None:
        self._conn, self._where, self._params, self._batch = conn, where_sql, params, batch_rows
        self._passes = 0

    def __enter__(self) -> ObservationsSnapshot:
        self._conn.autocommit = False
        self._conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.rollback()
        self._conn.set_session(isolation_level="DEFAULT", readonly=False)
        self._conn.autocommit = True

    def count(self) -> int:
        with self._conn.cursor() as cur:
            cur.execute(COUNT_OBSERVATIONS.format(where=self._where), self._params)
            row = cur.fetchone()
            return int(row[0]) if row else 0

    def key_of(self, observation_id: str) -> Key:
        """The place of a row this snapshot holds, to go on after it in another run."""
        with self._conn.cursor() as cur:
            cur.execute(KEY_OF, (observation_id,))
            row = cur.fetchone()
        if row is None:
            raise LookupError(f"observation {observation_id!r} is not in the export's snapshot")
        return str(row[0]), observation_id

    def rows(
        self, paths: Sequence[str] | None = None, *, after: Key | None = None
    ) -> Generator[tuple[str, dict[str, Any]], None, None]:
        """(observation_id, document) in a stable order; with ``paths``, the document holds what they reach.

        With ``after``, the rows that come after that key (a run going on from a checkpoint).
        """
        self._passes += 1
        loads = orjson.loads
        params = self._params if after is None else (*self._params, *after)
        with self._conn.cursor(name=f"observations_{self._passes}") as cur:
            cur.execute(select_observations(self._where, paths, after=after is not None), params)
            for batch in _fetched_ahead(cur, self._batch):
                for observation_id, text in batch:
                    yield observation_id, loads(text)


def _fetched_ahead(cur: psycopg2.extensions.cursor, size: int) -> Iterator[list[tuple[str, str]]]:
    """The cursor's batches, fetched by a thread while the caller works on the previous ones.

    Only the thread touches the cursor until it has finished; a caller that stops early
    (an error, a lost lease) stops the thread before the cursor is closed.
    """
    batches: queue.Queue[list[tuple[str, str]] | BaseException | None] = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()

    def put(item: list[tuple[str, str]] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            while batch := cur.fetchmany(size):
                if not put(batch):
                    return
            put(None)
        except BaseException as error:  # handed to the caller, raised there
            put(error)

    thread = threading.Thread(target=fetch, name="observations-fetch", daemon=True)
    thread.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
