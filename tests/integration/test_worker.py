"""The worker: the archive's content, duplicate and stale messages, retries, poison, crashes."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile

import pytest
import requests

from exporter.exports.archive import csv_cell
from exporter.exports.fields import project
from local.observations import insert_observations
from tests.support import observation

ALL_FIELDS_QUERY = {"method": "OR", "args": [{"method": "PLATFORM_EQUALS", "args": ["facebook", "INSTAGRAM"]}]}


def download(api, export_id: str, user: str = "alice") -> zipfile.ZipFile:
    status = api("GET", f"/exports/{export_id}", user=user).body
    assert status["status"] == "completed", status
    response = requests.get(status["url"], timeout=30)
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.content))


def rows_in_db(db, sql_where: str = "true") -> dict[str, dict]:
    with db.cursor() as cur:
        cur.execute(
            f"SELECT observation_id, rdo FROM observations WHERE {sql_where} ORDER BY observed_at, observation_id"
        )
        return dict(cur.fetchall())


def status_row(db, export_id: str) -> tuple:
    with db.cursor() as cur:
        cur.execute("SELECT status, attempt, message FROM exports WHERE export_id = %s", (export_id,))
        return cur.fetchone()


@pytest.fixture
def catalogue_paths(api) -> list[str]:
    return [f["path"] for f in api("GET", "/exports/fields").body]


def test_archive_matches_the_database_row_for_row(api, db, drain, s3, service_env, catalogue_paths) -> None:
    # GIVEN observations on three platforms, one with a formula in its OCR text, and their images
    documents = [
        observation(
            i,
            platform=("FACEBOOK", "INSTAGRAM", "TIKTOK")[i % 3],
            media=2,
            observer="=HYPERLINK(1)" if i == 4 else None,
        )
        for i in range(12)
    ]
    insert_observations(db, documents)
    missing_key = documents[0]["media"][1]
    for doc in documents:
        for key in doc["media"]:
            if key != missing_key:
                s3.put_object(Bucket=service_env.source_bucket, Key=key, Body=f"jpeg of {key}".encode())
    fields = list(reversed(catalogue_paths))  # every field, in an order of the caller's choosing
    # WHEN alice exports FACEBOOK and INSTAGRAM ads with images and the worker runs
    export_id = api(
        "POST", "/exports", body={"query": ALL_FIELDS_QUERY, "fields": fields, "include_images": True}
    ).body["export_id"]
    assert drain() == 1
    archive = download(api, export_id)
    expected = rows_in_db(db, "platform IN ('FACEBOOK', 'INSTAGRAM')")
    assert len(expected) == 8

    # THEN all_data.csv holds exactly those rows, the fields as header in the order asked for
    table = list(csv.reader(io.StringIO(archive.read("all_data.csv").decode("utf-8"))))
    assert table[0] == fields
    assert table[1:] == [[csv_cell(v) for v in project(doc, fields).values()] for doc in expected.values()]
    observer_column = [row[fields.index("observer.uuid")] for row in table[1:]]
    assert "'=HYPERLINK(1)" in observer_column  # neutralised, not a formula
    # AND every ad has its data.json with the chosen fields and its images
    for observation_id, doc in expected.items():
        assert json.loads(archive.read(f"ads/{observation_id}/data.json")) == project(doc, fields)
        for n, key in enumerate(doc["media"], start=1):
            name = f"ads/{observation_id}/image_{n}.jpg"
            if key == missing_key:
                assert name not in archive.namelist()
            else:
                assert archive.read(name) == f"jpeg of {key}".encode()
    # AND export_details.json describes the export and names the missing image
    details = json.loads(archive.read("export_details.json"))
    assert details["export_id"] == export_id
    assert details["export_parameters"]["fields"] == fields
    assert "url" not in details and "status" not in details
    assert details["missing_images"] == [{"observation_id": documents[0]["observation"]["uuid"], "key": missing_key}]
    assert details["progress"] == {"rows_written": 8, "rows_total": 8}
    # AND the status shows the finished progress, size and expiry
    status = api("GET", f"/exports/{export_id}").body
    assert status["progress"] == {"rows_written": 8, "rows_total": 8}
    assert status["size_bytes"] > 0 and status["expires_at"] > status["completed_at"]


def test_key_follows_the_seed_layout(api, db, drain, s3, service_env) -> None:
    insert_observations(db, [observation(1)])
    reply = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY})
    drain()
    stamp = reply.body["created_at"][:19].replace("-", "").replace("T", "").replace(":", "")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=service_env.exports_bucket)["Contents"]]
    assert keys == [f"outputs/alice_{reply.body['export_id']}_{stamp}.zip"]


def test_a_query_that_selects_nothing_still_completes_with_a_header(api, db, drain) -> None:
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": {"method": "PLATFORM_EQUALS", "args": ["MYSPACE"]}}).body[
        "export_id"
    ]
    drain()
    archive = download(api, export_id)
    assert archive.read("all_data.csv").decode().count("\r\n") == 1
    assert [n for n in archive.namelist() if n.startswith("ads/")] == []


def test_duplicate_delivery_exports_once(api, db, jobs_queue, run_worker, s3, service_env) -> None:
    insert_observations(db, [observation(i) for i in range(3)])
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    (body,) = jobs_queue.take()
    # WHEN the same message arrives twice in one batch and once more later
    first = run_worker(body, body)
    later = run_worker(body)
    # THEN every record is acknowledged, one export is written, and a late copy changes nothing
    assert first["batchItemFailures"] == [] and later["batchItemFailures"] == []
    assert s3.list_objects_v2(Bucket=service_env.exports_bucket)["KeyCount"] == 1
    assert status_row(db, export_id) == ("completed", 1, None)
    assert jobs_queue.take() == []


def test_stale_attempt_is_ignored(api, db, jobs_queue, run_worker) -> None:
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    (body,) = jobs_queue.take()
    with db.cursor() as cur:  # attempt 2 is already under way
        cur.execute("UPDATE exports SET attempt = 2 WHERE export_id = %s", (export_id,))
    assert run_worker(body)["batchItemFailures"] == []
    assert status_row(db, export_id) == ("pending", 2, None)


def test_failure_retries_with_the_next_attempt_then_fails_with_a_message(
    api,
    db,
    jobs_queue,
    run_worker,
    monkeypatch,
    s3,
    service_env,
) -> None:
    # GIVEN an exports bucket that has gone away, so every attempt fails
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    monkeypatch.setenv("S3_BUCKET", "no-such-bucket-anywhere")
    from worker import dependencies

    dependencies.settings.cache_clear()

    dependencies.worker.cache_clear()
    attempts = []
    for _ in range(5):
        bodies = jobs_queue.take()
        if not bodies:
            break
        attempts += [json.loads(b)["attempt"] for b in bodies]
        assert run_worker(*bodies)["batchItemFailures"] == []  # handled: retried or failed, not redelivered
        state = status_row(db, export_id)
        if state[0] != "failed":
            assert state[0] == "pending" and "failed (" in state[2] and "retrying" in state[2]
    # THEN attempts 1..max_retries+1 ran (MAX_RETRIES=2) and the export failed with a short message
    assert attempts == [1, 2, 3]
    status, attempt, message = status_row(db, export_id)
    assert (status, attempt) == ("failed", 3)
    assert message.startswith("failed after 3 attempts: NoSuchBucket") and len(message) < 400
    reply = api("GET", f"/exports/{export_id}").body
    assert (reply["status"], reply["url"], reply["message"]) == ("failed", None, message)


def test_a_failure_midway_aborts_the_upload(
    api,
    db,
    jobs_queue,
    run_worker,
    monkeypatch,
    s3,
    service_env,
) -> None:
    insert_observations(db, [observation(i) for i in range(3)])
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]

    def broken_csv(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr("exporter.exports.run.write_csv", broken_csv)
    assert run_worker(*jobs_queue.take())["batchItemFailures"] == []
    uploads = s3.list_multipart_uploads(Bucket=service_env.exports_bucket).get("Uploads", [])
    assert uploads == []
    assert s3.list_objects_v2(Bucket=service_env.exports_bucket)["KeyCount"] == 0
    assert status_row(db, export_id)[:2] == ("pending", 2)
    (retry,) = jobs_queue.take()
    assert json.loads(retry)["attempt"] == 2


def test_poison_messages_are_reported_as_batch_failures(api, db, jobs_queue, run_worker) -> None:
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    (good,) = jobs_queue.take()
    response = run_worker("not json", good, json.dumps({"export_id": "x"}))
    ids = response["_ids"]
    assert response["batchItemFailures"] == [{"itemIdentifier": ids[0]}, {"itemIdentifier": ids[2]}]
    assert status_row(db, export_id)[0] == "completed"


def test_a_message_for_a_deleted_export_is_acknowledged(api, jobs_queue, run_worker) -> None:
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    assert api("DELETE", f"/exports/{export_id}").status == 204
    assert run_worker(*jobs_queue.take())["batchItemFailures"] == []


def test_pending_progress_is_visible_while_the_worker_runs(api, db, jobs_queue, monkeypatch, service_env) -> None:
    # GIVEN a worker that reports progress on every row
    insert_observations(db, [observation(i) for i in range(4)])
    monkeypatch.setenv("PROGRESS_INTERVAL_SECONDS", "0.000001")
    from worker import dependencies
    from worker.handler import lambda_handler

    dependencies.settings.cache_clear()

    dependencies.worker.cache_clear()
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    seen: list[dict] = []
    original = __import__("exporter.jobs.lifecycle", fromlist=["LeaseHeartbeat"]).LeaseHeartbeat.__call__

    def spy(self, rows_written, *, force=False):
        original(self, rows_written, force=force)
        seen.append(api("GET", f"/exports/{export_id}").body["progress"])

    monkeypatch.setattr("exporter.jobs.lifecycle.LeaseHeartbeat.__call__", spy)
    from local.event_source import sqs_event_of
    from tests.support import context

    lambda_handler(sqs_event_of(*jobs_queue.take()), context())
    # THEN a poll during the run saw rows written climb toward the known total
    assert {"rows_written": 2, "rows_total": 4} in seen
    assert seen[0] == {"rows_written": 0, "rows_total": 4}


def test_killed_worker_is_retried_by_the_sweeper_then_failed(api, db, jobs_queue, run_worker) -> None:
    from tests.support import context
    from worker.sweeper import lambda_handler as sweeper

    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    for attempt in (1, 2, 3):
        jobs_queue.take()
        # GIVEN a worker that claimed attempt N and died (its lease lapsed)
        with db.cursor() as cur:
            cur.execute(
                "UPDATE exports SET status = 'processing', lease_owner = 'dead', "
                "lease_expires_at = now() - interval '1 second' WHERE export_id = %s",
                (export_id,),
            )
        # WHEN the sweeper runs
        report = sweeper({}, context())
        if attempt <= 2:
            # THEN the job goes back to pending with the next attempt, and its message is sent
            assert report["requeued"] == 1
            assert status_row(db, export_id)[:2] == ("pending", attempt + 1)
        else:
            # THEN on the last attempt it fails instead of running forever
            assert report["failed"] == 1
            status, _, message = status_row(db, export_id)
            assert status == "failed" and "stopped responding on its last attempt" in message
    assert jobs_queue.take() == []


def test_requeued_job_completes_when_the_message_arrives(api, db, jobs_queue, run_worker) -> None:
    from tests.support import context
    from worker.sweeper import lambda_handler as sweeper

    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    (first,) = jobs_queue.take()
    with db.cursor() as cur:
        cur.execute(
            "UPDATE exports SET status = 'processing', lease_owner = 'dead', "
            "lease_expires_at = now() - interval '1 second' WHERE export_id = %s",
            (export_id,),
        )
    sweeper({}, context())
    assert run_worker(first, *jobs_queue.take())["batchItemFailures"] == []  # the old message is stale
    assert status_row(db, export_id)[:2] == ("completed", 2)


def test_dead_letters_become_failed_exports(api, db, jobs_queue, sqs, service_env) -> None:
    from tests.support import context
    from worker.sweeper import lambda_handler as sweeper

    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    (body,) = jobs_queue.take()
    sqs.send_message(QueueUrl=service_env.dlq_url, MessageBody=body)
    sqs.send_message(QueueUrl=service_env.dlq_url, MessageBody="garbage")
    assert sweeper({}, context())["dead_letters"] == 2
    status, _, message = status_row(db, export_id)
    assert status == "failed" and "dead-lettered" in message
    assert sqs.receive_message(QueueUrl=service_env.dlq_url).get("Messages", []) == []


def test_a_lost_message_is_sent_again_by_the_sweeper(api, db, jobs_queue) -> None:
    from tests.support import context
    from worker.sweeper import lambda_handler as sweeper

    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]
    jobs_queue.take()  # the message is lost
    with db.cursor() as cur:
        cur.execute("UPDATE exports SET updated_at = now() - interval '1 hour' WHERE export_id = %s", (export_id,))
    assert sweeper({}, context())["resent"] == 1
    (again,) = jobs_queue.take()
    assert json.loads(again)["export_id"] == export_id and json.loads(again)["attempt"] == 1


def test_unknown_export_message_is_skipped(run_worker) -> None:
    body = json.dumps(
        {
            "export_id": str(uuid.uuid4()),
            "creator_id": "x",
            "attempt": 1,
            "max_retries": 3,
            "export_parameters": {"query": ALL_FIELDS_QUERY, "fields": ["tags"]},
        }
    )
    assert run_worker(body)["batchItemFailures"] == []


def test_completed_export_publishes_its_metrics(api, db, jobs_queue, run_worker, capsys) -> None:
    insert_observations(db, [observation(i) for i in range(3)])
    api("POST", "/exports", body={"query": ALL_FIELDS_QUERY})
    capsys.readouterr()
    run_worker(*jobs_queue.take())
    emitted: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            for name, value in json.loads(line).items():
                if isinstance(value, list | int | float) and name != "_aws":
                    emitted[name] = float(value[0] if isinstance(value, list) else value)
    assert emitted["ExportsCompleted"] == 1
    assert emitted["RowsExported"] == 3
    assert emitted["BytesExported"] > 0


def test_ids_that_clean_to_the_same_folder_get_one_folder_each_listed_in_the_details(
    api, db, jobs_queue, run_worker
) -> None:
    # GIVEN two observations whose ids differ only by characters a ZIP folder cannot hold
    docs = [observation(1), observation(2)]
    docs[0]["observation"]["uuid"], docs[1]["observation"]["uuid"] = "coll/a", "coll_a"
    insert_observations(db, docs)
    export_id = api("POST", "/exports", body={"query": ALL_FIELDS_QUERY}).body["export_id"]

    # WHEN the worker builds the archive
    run_worker(*jobs_queue.take())

    # THEN each ad has its own folder, none twice, and the renamed one is listed with its id
    archive = download(api, export_id)
    names = archive.namelist()
    assert len(names) == len(set(names))
    data = sorted(n for n in names if n.endswith("/data.json"))
    assert len(data) == 2 and "ads/coll_a/data.json" in data
    details = json.loads(archive.read("export_details.json"))
    (renamed,) = details["renamed_folders"]
    assert renamed["observation_id"] == "coll/a" and f"{renamed['folder']}/data.json" in data
    assert renamed["folder"].startswith("ads/coll_a~") and details["renamed_folders_count"] == 1
