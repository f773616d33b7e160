"""Reading the Ad Observatory observations a query selects, from one consistent snapshot."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import psycopg2.extensions

from .fields import pruned_document

COUNT_OBSERVATIONS = "SELECT count(*) FROM observations WHERE {where}"
SELECT_OBSERVATIONS = (
    "SELECT observation_id, {document}::text FROM observations WHERE {where} ORDER BY observed_at, observation_id"
)
# Batches fetched ahead of the one being written: the database works while Python does.
_AHEAD = 2
_POLL_SECONDS = 0.5


def select_observations(where_sql: str, paths: Sequence[str] | None = None) -> str:
    """The SELECT of (observation_id, document text); only what ``paths`` reach of each document when given."""
    return SELECT_OBSERVATIONS.format(document="rdo" if paths is None else pruned_document(paths), where=where_sql)


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

    def rows(self, paths: Sequence[str] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(observation_id, document) in a stable order; with ``paths``, the document holds what they reach."""
        self._passes += 1
        loads = orjson.loads
        with self._conn.cursor(name=f"observations_{self._passes}") as cur:
            cur.execute(select_observations(self._where, paths), self._params)
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
