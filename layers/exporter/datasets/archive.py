"""Archive-then-delete, exactly: the rows a dataset's ``delete.sql`` removes are the rows its file holds.

The export runs in a REPEATABLE READ transaction on the source database, and that transaction
stays open while the file uploads. Once the object is complete in S3, ``delete.sql`` runs in
the *same* transaction, so it sees the export's snapshot and nothing else: a row inserted
while the export ran is invisible to it (neither exported nor deleted), and a row changed or
deleted by someone else since is a serialization failure (the delete rolls back, the attempt
is retried and exports afresh). In that transaction a ``dataset_deletions`` row records the
job, the counts and the file's size, and the commit makes the delete and the record one.

A run killed before that commit deleted nothing: the retry exports again (a new snapshot,
every row still there plus the new ones) into the same deterministic key, replacing the
earlier object, and deletes what it exported. A run killed after the commit left the record:
the retry finds it, keeps the object and only completes the job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg2.extensions

from ..jobs.kind import Heartbeat
from .sql import Statement, literal_percent

SELECT_DELETION = "SELECT rows_exported, rows_deleted, size_bytes, details FROM dataset_deletions WHERE export_id = %s"
INSERT_DELETION = """
INSERT INTO dataset_deletions (export_id, dataset, rows_exported, rows_deleted, size_bytes, details)
VALUES (%s, %s, %s, %s, %s, %s)
"""


def release(conn: psycopg2.extensions.connection) -> None:
    """End the export's transaction (rolled back unless committed) and give the connection back in autocommit."""
    if conn.closed:
        return
    conn.rollback()
    conn.set_session(isolation_level="default", readonly="default")
    conn.autocommit = True


@dataclass(frozen=True)
class Deleted:
    """What an earlier run of the job archived and deleted."""

    rows_exported: int
    rows_deleted: int
    size_bytes: int
    details: dict[str, Any]


def finished_deletion(conn: psycopg2.extensions.connection, export_id: UUID) -> Deleted | None:
    """The record an earlier run of this job committed with its delete, if any."""
    with conn.cursor() as cur:
        cur.execute(SELECT_DELETION, (str(export_id),))
        row = cur.fetchone()
    conn.rollback()  # a read outside the export's transaction; leave the connection idle
    return Deleted(int(row[0]), int(row[1]), int(row[2]), dict(row[3])) if row else None


@dataclass
class DeleteExported:
    """The artefact's ``after_upload``: delete what the open snapshot exported, record it, commit.

    Runs on the connection whose REPEATABLE READ transaction streamed the export.
    """

    conn: psycopg2.extensions.connection
    delete: Statement
    values: dict[str, Any]
    export_id: UUID
    dataset: str
    rows: int
    details: dict[str, Any]
    heartbeat: Heartbeat

    def __call__(self, size: int) -> dict[str, Any]:
        try:
            deleted = self._delete()
            self._record(deleted, size)
            self.heartbeat(self.rows, force=True)  # still this run's job: a newer run may own it now
            self.conn.commit()
        finally:
            release(self.conn)
        return {"rows_deleted": deleted, "bytes": size}

    def _delete(self) -> int:
        with self.conn.cursor() as cur:
            cur.execute(literal_percent(self.delete), self.values)
            return int(cur.rowcount)

    def _record(self, deleted: int, size: int) -> None:
        details = {**self.details, "rows_deleted": deleted, "bytes": size}
        with self.conn.cursor() as cur:
            cur.execute(
                INSERT_DELETION,
                (str(self.export_id), self.dataset, self.rows, deleted, size, json.dumps(details)),
            )
