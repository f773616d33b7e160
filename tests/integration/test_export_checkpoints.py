"""An export longer than one run: it checkpoints, goes on in next runs, and ends as the one archive
an uninterrupted run writes — also when the run after a checkpoint is lost."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import requests

from local.observations import insert_observations
from tests.support import observation

ROWS = 1000
EVERY = 300  # the boundaries: 300, 600, 900 → four runs when every run stops at its first one
QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")


@pytest.fixture
def observations(db, s3, service_env) -> list[dict]:
    """ROWS ads, several at the same instant (so the order's ties fall across a boundary), every
    fourth one with its image in the source bucket (the rest are missing)."""
    documents = [observation(i, observed_at=1_759_583_019 - (i % 7), media=1) for i in range(ROWS)]
    insert_observations(db, documents)
    for n, doc in enumerate(documents):
        if n % 4 == 0:
            s3.put_object(Bucket=service_env.source_bucket, Key=doc["media"][0], Body=f"jpeg {n}".encode())
    return documents


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    from worker import dependencies

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    dependencies.settings.cache_clear()
    dependencies.worker.cache_clear()


def export(api) -> str:
    created = api("POST", "/exports", body={"query": QUERY, "include_images": True})
    assert created.status == 202, created.body
    return str(created.body["export_id"])


def runs_until_done(jobs_queue, run_worker, *, at_most: int = 20) -> int:
    """Run the worker on the queue's messages, one invocation each, until none is left; the invocations."""
    runs = 0
    while bodies := jobs_queue.take():
        for body in bodies:
            assert run_worker(body)["batchItemFailures"] == []
            runs += 1
        assert runs <= at_most, "the export never finished"
    return runs


def archive_bytes(api, export_id: str) -> bytes:
    status = api("GET", f"/exports/{export_id}").body
    assert status["status"] == "completed", status
    return requests.get(status["url"], timeout=60).content


def stored_entries(data: bytes) -> dict[str, tuple[int, int, bytes]]:
    """Each entry's method, CRC and stored (compressed) bytes, as they lie in the archive."""
    entries = {}
    for info in zipfile.ZipFile(io.BytesIO(data)).infolist():
        header = _LOCAL_HEADER.unpack_from(data, info.header_offset)
        start = info.header_offset + _LOCAL_HEADER.size + header[9] + header[10]
        entries[info.filename] = (info.compress_type, info.CRC, data[start : start + info.compress_size])
    return entries


def same_archive(interrupted: bytes, whole: bytes) -> None:
    """Every entry stored byte for byte as in the uninterrupted archive, in the same order; the details
    differ only in what names the export itself."""
    a, b = stored_entries(interrupted), stored_entries(whole)
    assert list(a) == list(b)
    for name in a:
        if name != "export_details.json":
            assert a[name] == b[name], name
    details = [json.loads(zipfile.ZipFile(io.BytesIO(x)).read("export_details.json")) for x in (interrupted, whole)]
    for d in details:
        for own in ("export_id", "created_at", "started_at", "completed_at", "updated_at", "expires_at"):
            d.pop(own, None)
    assert details[0] == details[1]


def checkpoint_objects(s3, service_env) -> list[str]:
    listed = s3.list_objects_v2(Bucket=service_env.exports_bucket, Prefix="checkpoints/")
    return [o["Key"] for o in listed.get("Contents", [])]


def open_uploads(s3, service_env) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=service_env.exports_bucket).get("Uploads", [])]


@pytest.fixture
def uninterrupted(api, observations, jobs_queue, run_worker, monkeypatch) -> bytes:
    """The archive one run writes for the export, with the same boundaries."""
    configure(monkeypatch, CHECKPOINT_EVERY_ROWS=str(EVERY))
    export_id = export(api)
    assert runs_until_done(jobs_queue, run_worker) == 1
    return archive_bytes(api, export_id)


def test_an_export_longer_than_its_runs_goes_on_from_checkpoints_into_the_same_archive(
    api, db, s3, service_env, jobs_queue, run_worker, uninterrupted, monkeypatch
) -> None:
    # GIVEN runs so short that each stops at its first boundary
    configure(monkeypatch, CHECKPOINT_EVERY_ROWS=str(EVERY), RUN_SECONDS="0.001", CHECKPOINT_RESERVE_SECONDS="0")
    export_id = export(api)

    # WHEN the worker takes the first message
    (first,) = jobs_queue.take()
    assert run_worker(first)["batchItemFailures"] == []

    # THEN the export is pending again after its first 400 rows, with a message saying so, and one next
    # message for the same attempt is queued
    status = api("GET", f"/exports/{export_id}").body
    assert status["status"] == "pending"
    assert status["progress"]["rows_written"] == EVERY
    assert status["message"] == f"{EVERY} of {ROWS:,} rows written; going on in a next run"
    queued = jobs_queue.take()
    assert [json.loads(b)["attempt"] for b in queued] == [json.loads(first)["attempt"]]
    assert checkpoint_objects(s3, service_env)  # what the next run reads

    # AND the next runs go on until the export completes: four runs for 1,000 rows, boundaries every 300
    for body in queued:
        assert run_worker(body)["batchItemFailures"] == []
    assert runs_until_done(jobs_queue, run_worker) == 2
    interrupted = archive_bytes(api, export_id)
    same_archive(interrupted, uninterrupted)
    assert api("GET", f"/exports/{export_id}").body["attempt"] == 1
    # AND nothing is left behind: no checkpoint object, no open upload
    assert checkpoint_objects(s3, service_env) == []
    assert open_uploads(s3, service_env) == []


WORKER_RUN = textwrap.dedent(
    """
    import sys
    from local import faults
    faults.install()
    from local.event_source import sqs_event_of
    from tests.support import context
    from worker.handler import lambda_handler
    lambda_handler(sqs_event_of(sys.argv[1], queue_arn=sys.argv[2]), context())
    """
)


def test_a_worker_killed_right_after_a_checkpoint_is_gone_on_from_by_the_redelivered_message(
    api, s3, service_env, jobs_queue, run_worker, uninterrupted, monkeypatch, tmp_path: Path
) -> None:
    # GIVEN a worker process that will be killed (SIGKILL) once its checkpoint is stored, before it
    # sends the next message or acknowledges its own
    configure(monkeypatch, CHECKPOINT_EVERY_ROWS=str(EVERY), RUN_SECONDS="0.001", CHECKPOINT_RESERVE_SECONDS="0")
    export_id = export(api)
    (message,) = jobs_queue.take()
    fault_file = tmp_path / "fault"
    fault_file.write_text("after_checkpoint")
    env = {**os.environ, "LOCAL_FAULT_FILE": str(fault_file), "PYTHONPATH": os.pathsep.join(sys.path)}

    # WHEN it runs the export's message
    worker = subprocess.run(
        [sys.executable, "-c", WORKER_RUN, message, service_env.queue_arn], env=env, capture_output=True, timeout=240
    )

    # THEN it died there: the export is pending with its first stretch stored, and no next message was sent
    assert worker.returncode == -signal.SIGKILL, worker.stderr.decode()[-2000:]
    status = api("GET", f"/exports/{export_id}").body
    assert (status["status"], status["progress"]["rows_written"]) == ("pending", EVERY)
    assert jobs_queue.take() == []

    # WHEN the queue hands the unacknowledged message out again (runs without the fault from here on)
    assert run_worker(message)["batchItemFailures"] == []
    runs = runs_until_done(jobs_queue, run_worker)

    # THEN the export went on from the checkpoint (three more runs, not four) into the same archive
    assert runs == 2
    same_archive(archive_bytes(api, export_id), uninterrupted)
    assert checkpoint_objects(s3, service_env) == []
    assert open_uploads(s3, service_env) == []


def test_an_export_deleted_between_its_runs_leaves_no_upload_and_nothing_kept(
    api, s3, service_env, jobs_queue, run_worker, observations, monkeypatch
) -> None:
    # GIVEN an export that stopped at its first boundary and waits for its next run
    configure(monkeypatch, CHECKPOINT_EVERY_ROWS=str(EVERY), RUN_SECONDS="0.001", CHECKPOINT_RESERVE_SECONDS="0")
    export_id = export(api)
    (first,) = jobs_queue.take()
    assert run_worker(first)["batchItemFailures"] == []
    assert checkpoint_objects(s3, service_env) and open_uploads(s3, service_env)

    # WHEN alice deletes it
    assert api("DELETE", f"/exports/{export_id}").status == 204

    # THEN its upload is aborted and what its checkpoint kept is gone; its next message claims nothing
    assert checkpoint_objects(s3, service_env) == []
    assert open_uploads(s3, service_env) == []
    assert runs_until_done(jobs_queue, run_worker) == 1
    assert open_uploads(s3, service_env) == []
