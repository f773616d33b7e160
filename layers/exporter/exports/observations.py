"""Reading the Ad Observatory observations a query selects, from one consistent snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import psycopg2.extensions

COUNT_OBSERVATIONS = "SELECT count(*) FROM observations WHERE {where}"
SELECT_OBSERVATIONS = (
    "SELECT observation_id, rdo::text FROM observations WHERE {where} ORDER BY observed_at, observation_id"
)


class ObservationsSnapshot:
    """Read the observations a query selects, more than once, from one consistent snapshot.

    The archive needs two passes (the CSV, then one folder per ad); a REPEATABLE READ
    transaction makes both passes see the same rows. Rows stream from a server-side cursor
    in batches of ``batch_rows``; memory holds one batch at a time.
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

    def rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(observation_id, document) in a stable order."""
        self._passes += 1
        loads = orjson.loads
        with self._conn.cursor(name=f"observations_{self._passes}") as cur:
            cur.itersize = self._batch
            cur.execute(SELECT_OBSERVATIONS.format(where=self._where), self._params)
            for observation_id, text in cur:
                yield observation_id, loads(text)
