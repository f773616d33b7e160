"""A PostgreSQL restart costs nobody an error: the first use of a dropped connection reconnects and runs again."""

from __future__ import annotations

import uuid
from pathlib import Path

from exporter.adapters.postgres import Database, apply_migrations, connect_url
from exporter.exports.kind import QUERY_EXPORT
from exporter.exports.model import ExportParameters
from exporter.jobs.repository import JobsRepository
from local.services import start_postgres

PARAMETERS = ExportParameters(query={"method": "PLATFORM_EQUALS", "args": ["X"]}, fields=["observation_id"])


def test_reads_and_writes_after_a_restart_succeed_on_the_first_try(tmp_path: Path) -> None:
    # GIVEN a server of this test's own and a repository whose connection is open and idle
    server = start_postgres(tmp_path / "pg", keep=True)
    try:
        conn = connect_url(server.url)
        apply_migrations(conn)
        conn.close()
        jobs = JobsRepository(Database(lambda: connect_url(server.url)))
        export = jobs.create(
            export_id=uuid.uuid4(),
            creator_id="alice",
            kind=QUERY_EXPORT.kind,
            dataset="x",
            parameters=PARAMETERS,
            max_retries=0,
        )

        # WHEN the server restarts under it
        server.stop()
        server = start_postgres(tmp_path / "pg", keep=True)

        # THEN the next read, and the next write, just work
        again = jobs.get(export.export_id)
        assert again is not None and again.creator_id == "alice"
        server.stop()
        server = start_postgres(tmp_path / "pg", keep=True)
        assert jobs.claim(export.export_id, 1, owner="w", lease_seconds=60) is True
    finally:
        server.stop()
