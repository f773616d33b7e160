"""Dataset jobs against real PostgreSQL and S3: the file PostgreSQL writes, and archive-then-delete, exactly.

The guarantee under test: the rows a dataset's delete.sql removes are exactly the rows in its
file. A row inserted while the export streams is neither exported nor deleted; a run killed
between the upload and the delete, during the delete, or after it, is safe to run again.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import pytest

from exporter.adapters.postgres import Database, connect_url
from exporter.adapters.s3 import S3Store
from exporter.adapters.sqs import JobQueue
from exporter.datasets import archive
from exporter.datasets.catalogue import load_catalogue
from exporter.datasets.kind import DATASET
from exporter.datasets.model import DatasetMessage
from exporter.datasets.request import request_dataset_export
from exporter.datasets.run import DatasetRun
from exporter.datasets.sources import DatasetSources
from exporter.jobs.kind import Artefact, JobRun
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts, Outcome, run_job
from exporter.jobs.model import Caller, Status
from exporter.jobs.repository import JobsRepository
from exporter.jobs.sweeper import sweep
from exporter.settings import DatabaseSettings

CONFIG = LifecycleConfig(
    lease_seconds=60, progress_interval_seconds=0.1, part_size_bytes=5 * 1024 * 1024, expiration_days=7
)
ADMIN = Caller(user_id="operator", is_admin=True, groups=("admin",))
DEADLINE = 60.0


@dataclass
class Setup:
    root: Path
    jobs: JobsRepository
    ports: LifecyclePorts
    db: psycopg2.extensions.connection
    url: str
    bucket: str

    def body(self) -> DatasetRun:
        sources = DatasetSources.from_settings(DatabaseSettings(DATABASE_URL=self.url), "{}")
        return DatasetRun(load_catalogue(self.root), sources.connection, gzip_level=6)

    def request(self, name: str, parameters: dict[str, Any] | None = None) -> DatasetMessage:
        export = request_dataset_export(
            name,
            parameters or {},
            ADMIN,
            catalogue=load_catalogue(self.root),
            jobs=self.jobs,
            queue=self.ports.queue,  # type: ignore[arg-type]
            max_retries=2,
        )
        return DatasetMessage(export_id=export.export_id, creator_id="operator", dataset=name, attempt=1, max_retries=2)

    def rows_of(self, export_id: uuid.UUID) -> list[dict[str, str]]:
        export = self.jobs.get(export_id)
        assert export is not None and export.s3_key is not None
        body = boto3.client("s3").get_object(Bucket=self.bucket, Key=export.s3_key)["Body"].read()
        return list(csv.DictReader(io.StringIO(gzip.decompress(body).decode("utf-8"))))

    def ids_in_table(self) -> set[int]:
        with self.db.cursor() as cur:
            cur.execute("SELECT id FROM archived_events")
            return {row[0] for row in cur.fetchall()}


def _folder(root: Path, name: str, select: str, delete: str | None = None, toml: str | None = None) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "select.sql").write_text(select)
    if delete is not None:
        (folder / "delete.sql").write_text(delete)
    if toml is not None:
        (folder / "dataset.toml").write_text(toml)


@pytest.fixture
def setup(postgres, service_env, db, tmp_path) -> Iterator[Setup]:
    with db.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS archived_events")
        cur.execute("CREATE TABLE archived_events (id bigserial PRIMARY KEY, kind text NOT NULL, note text)")
        cur.execute(
            "INSERT INTO archived_events (kind, note) SELECT 'seen', 'row ' || i FROM generate_series(1, 20000) i"
        )
    _folder(
        tmp_path,
        "events",
        "COPY (SELECT id, kind, note FROM archived_events ORDER BY id) TO STDOUT WITH CSV HEADER;\n",
        "DELETE FROM archived_events;\n",
    )
    jobs = JobsRepository(Database(lambda: connect_url(postgres.url)))
    ports = LifecyclePorts(
        jobs=jobs,
        store=S3Store(boto3.client("s3"), service_env.exports_bucket),
        queue=JobQueue(boto3.client("sqs"), service_env.queue_url),
    )
    yield Setup(tmp_path, jobs, ports, db, postgres.url, service_env.exports_bucket)
    with db.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS archived_events")


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Inserter(threading.Thread):
    """Inserts (and commits) one row after another into the exported table until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.inserted = url, threading.Event(), []

    def run(self) -> None:
        conn = connect_url(self.url)
        with conn.cursor() as cur:
            while not self.stop.is_set():
                cur.execute("INSERT INTO archived_events (kind, note) VALUES ('late', 'during') RETURNING id")
                self.inserted.append(cur.fetchone()[0])
        conn.close()


class WhileStreaming:
    """A body that, once the COPY has started writing, waits until ``inserter`` has committed more rows."""

    def __init__(self, body: DatasetRun, inserter: Inserter, rows: int = 50) -> None:
        self.body, self.inserter, self.rows = body, inserter, rows

    def __call__(self, run: JobRun) -> Artefact:
        return self.body(_HookedRun(run, self._first_write))

    def _first_write(self) -> None:
        target = len(self.inserter.inserted) + self.rows
        _wait_for(lambda: len(self.inserter.inserted) >= target, "rows inserted while the export streams")


@dataclass
class _HookedOutput:
    sink: Any
    hook: Any
    fired: bool = False

    def write(self, data: bytes) -> object:
        if not self.fired:
            self.fired = True
            self.hook()
        return self.sink.write(data)


class _HookedRun:
    def __init__(self, run: JobRun, hook) -> None:
        self._run, self.output = run, _HookedOutput(run.output, hook)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)


def test_postgres_writes_the_csv_gz_under_the_seeds_name_with_the_details(setup) -> None:
    # GIVEN a CKB task folder (COPY … TO STDOUT WITH CSV HEADER, no dataset.toml)
    message = setup.request("events")

    # WHEN its job runs
    result = run_job(message, DATASET, setup.body(), setup.ports, CONFIG, owner="test")

    # THEN the file holds every row, header first, under outputs/events-YYYY_MM_DD-HH_MM_SS_AM-{id}.csv.gz
    assert result.outcome is Outcome.COMPLETED and result.rows == 20000
    export = setup.jobs.get(message.export_id)
    assert export is not None and export.status is Status.COMPLETED and export.s3_key is not None
    stamp = export.created_at.strftime("%Y_%m_%d-%I_%M_%S_%p")
    assert export.s3_key == f"outputs/events-{stamp}-{export.export_id}.csv.gz"
    rows = setup.rows_of(message.export_id)
    assert len(rows) == 20000 and rows[0] == {"id": "1", "kind": "seen", "note": "row 1"}
    # AND the job records rows, bytes, parameters, source and the deleted count; the table is empty
    assert export.details["rows"] == 20000 and export.details["rows_deleted"] == 20000
    assert export.details["bytes"] == export.size_bytes and export.details["source"] == "service"
    assert setup.ids_in_table() == set()


def test_a_row_inserted_while_the_export_streams_is_neither_exported_nor_deleted(setup) -> None:
    # GIVEN rows committed one after another while the COPY streams
    message = setup.request("events")
    before = setup.ids_in_table()
    inserter = Inserter(setup.url)
    inserter.start()
    try:
        result = run_job(message, DATASET, WhileStreaming(setup.body(), inserter), setup.ports, CONFIG, owner="t")
    finally:
        inserter.stop.set()
        inserter.join(DEADLINE)

    # THEN what was exported was deleted, and nothing else: every row is in the file or in the table, once
    assert result.outcome is Outcome.COMPLETED
    exported = {int(row["id"]) for row in setup.rows_of(message.export_id)}
    remaining = setup.ids_in_table()
    assert before <= exported
    assert exported.isdisjoint(remaining)
    assert exported | remaining == before | set(inserter.inserted)
    assert len(remaining) >= 50  # the rows committed while it streamed are still there
    export = setup.jobs.get(message.export_id)
    assert export is not None and export.details["rows_deleted"] == len(exported) == result.rows


def _rerun(setup: Setup, message: DatasetMessage) -> DatasetMessage:
    export = setup.jobs.get(message.export_id)
    assert export is not None and export.status is Status.PENDING and export.attempt == message.attempt + 1
    return message.model_copy(update={"attempt": export.attempt})


def _add_rows(setup: Setup, n: int) -> set[int]:
    with setup.db.cursor() as cur:
        cur.execute(
            "INSERT INTO archived_events (kind, note) SELECT 'new', 'n' FROM generate_series(1, %s) RETURNING id", (n,)
        )
        return {row[0] for row in cur.fetchall()}


def test_a_run_killed_between_the_upload_and_the_delete_is_run_again_without_losing_a_row(setup, monkeypatch) -> None:
    # GIVEN a run whose worker dies once its object is complete, before the delete
    message = setup.request("events")
    before = setup.ids_in_table()
    body = setup.body()

    def dies_after_upload(run: JobRun) -> Artefact:
        artefact = body(run)
        conn = artefact.after_upload.conn  # type: ignore[union-attr]

        def killed(size: int) -> dict[str, Any]:
            conn.close()  # the process is gone: the server ends its transaction
            raise ConnectionError("worker killed after the upload")

        return replace(artefact, after_upload=killed)

    first = run_job(message, DATASET, dies_after_upload, setup.ports, CONFIG, owner="first")
    assert first.outcome is Outcome.RETRYING
    assert setup.ids_in_table() == before  # nothing deleted
    added = _add_rows(setup, 7)

    # WHEN the retry runs
    second = run_job(_rerun(setup, message), DATASET, setup.body(), setup.ports, CONFIG, owner="second")

    # THEN its file (the one object) holds every row, the earlier rows once, and all of them are deleted
    assert second.outcome is Outcome.COMPLETED
    exported = [int(row["id"]) for row in setup.rows_of(message.export_id)]
    assert len(exported) == len(set(exported)) and set(exported) == before | added
    assert setup.ids_in_table() == set()


def test_a_run_killed_during_the_delete_deletes_nothing_and_the_retry_deletes_what_it_exported(
    setup, monkeypatch
) -> None:
    # GIVEN a run that dies after delete.sql ran, before the delete committed
    message = setup.request("events")
    before = setup.ids_in_table()

    def killed_mid_delete(self: archive.DeleteExported, deleted: int, size: int) -> None:
        assert deleted == len(before)
        self.conn.close()
        raise ConnectionError("worker killed during the delete")

    monkeypatch.setattr(archive.DeleteExported, "_record", killed_mid_delete)
    first = run_job(message, DATASET, setup.body(), setup.ports, CONFIG, owner="first")
    monkeypatch.undo()
    assert first.outcome is Outcome.RETRYING and setup.ids_in_table() == before
    added = _add_rows(setup, 3)

    # WHEN the retry runs
    second = run_job(_rerun(setup, message), DATASET, setup.body(), setup.ports, CONFIG, owner="second")

    # THEN every row is archived once and deleted
    assert second.outcome is Outcome.COMPLETED
    exported = [int(row["id"]) for row in setup.rows_of(message.export_id)]
    assert sorted(exported) == sorted(before | added) and setup.ids_in_table() == set()


def test_a_run_killed_after_the_delete_committed_keeps_its_object_and_deletes_nothing_more(setup, monkeypatch) -> None:
    # GIVEN a run whose delete committed, but whose job could not be completed
    message = setup.request("events")
    before = setup.ids_in_table()
    complete = setup.jobs.complete

    def dies_before_completing(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("worker killed before the job completed")

    monkeypatch.setattr(setup.jobs, "complete", dies_before_completing)
    with pytest.raises(ConnectionError):
        run_job(message, DATASET, setup.body(), setup.ports, CONFIG, owner="first")
    monkeypatch.setattr(setup.jobs, "complete", complete)
    assert setup.ids_in_table() == set()
    objects = boto3.client("s3").list_objects_v2(Bucket=setup.bucket)["Contents"]
    assert len(objects) == 1
    # AND its lease lapses, so the sweeper sends the next attempt
    with setup.db.cursor() as cur:
        cur.execute(
            "UPDATE exports SET lease_expires_at = now() - interval '1 second' WHERE export_id = %s",
            (str(message.export_id),),
        )
    assert message.export_id in sweep(setup.jobs, setup.ports.queue).requeued  # type: ignore[arg-type]
    original = boto3.client("s3").get_object(Bucket=setup.bucket, Key=objects[0]["Key"])["Body"].read()
    added = _add_rows(setup, 5)

    # WHEN the retry runs
    second = run_job(_rerun(setup, message), DATASET, setup.body(), setup.ports, CONFIG, owner="second")

    # THEN the job completes with the first run's object, unchanged; the rows added since are kept
    assert second.outcome is Outcome.COMPLETED
    export = setup.jobs.get(message.export_id)
    assert export is not None and export.s3_key == objects[0]["Key"]
    assert boto3.client("s3").get_object(Bucket=setup.bucket, Key=export.s3_key)["Body"].read() == original
    assert {int(row["id"]) for row in setup.rows_of(message.export_id)} == before
    assert export.details["rows_deleted"] == len(before) and export.size_bytes == len(original)
    assert setup.ids_in_table() == added


def test_parameters_are_bound_as_values_never_as_sql(setup) -> None:
    # GIVEN a dataset with a string parameter, asked with text that would be SQL if concatenated
    _folder(
        setup.root,
        "by-kind",
        "SELECT id, kind FROM archived_events WHERE kind = %(kind)s OR note = %(note)s ORDER BY id",
        toml='[[parameters]]\nname = "kind"\ntype = "string"\nrequired = true\n\n'
        '[[parameters]]\nname = "note"\ntype = "string"\ndefault = "row 1"\n',
    )
    hostile = "x'; DROP TABLE archived_events; --"
    message = setup.request("by-kind", {"kind": hostile})

    result = run_job(message, DATASET, setup.body(), setup.ports, CONFIG, owner="test")

    # THEN it selects by the value (the one row whose note matches) and the table is intact
    assert result.outcome is Outcome.COMPLETED
    assert setup.rows_of(message.export_id) == [{"id": "1", "kind": "seen"}]
    assert len(setup.ids_in_table()) == 20000


def test_jsonl_gz_holds_one_json_document_a_line_byte_for_byte(setup) -> None:
    # GIVEN a dataset in jsonl.gz whose text holds quotes, backslashes, tabs and newlines
    with setup.db.cursor() as cur:
        cur.execute("UPDATE archived_events SET note = %s WHERE id = 2", ('say "hi"\\n\tnew\nline ☃',))
    _folder(
        setup.root,
        "as-json",
        "SELECT id, note FROM archived_events WHERE id <= %(last)s ORDER BY id",
        toml='format = "jsonl.gz"\n[[parameters]]\nname = "last"\ntype = "integer"\nrequired = true\n',
    )
    message = setup.request("as-json", {"last": "3"})

    run_job(message, DATASET, setup.body(), setup.ports, CONFIG, owner="test")

    export = setup.jobs.get(message.export_id)
    assert export is not None and export.s3_key is not None and export.s3_key.endswith(".jsonl.gz")
    body = boto3.client("s3").get_object(Bucket=setup.bucket, Key=export.s3_key)["Body"].read()
    lines = gzip.decompress(body).decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": 1, "note": "row 1"},
        {"id": 2, "note": 'say "hi"\\n\tnew\nline ☃'},
        {"id": 3, "note": "row 3"},
    ]
    assert export.details["parameters"] == {"last": 3}
