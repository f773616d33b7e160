"""Application sources, internal side: PSK uploads and errors, every refusal, assembly exactly once, timeouts."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
import uuid
from typing import Any

import boto3

from exporter.adapters.parts import S3PartStore
from exporter.adapters.postgres import Database, connect_url
from exporter.adapters.sqs import JobQueue
from exporter.applications import internal
from exporter.applications.sources import SourcesRepository
from exporter.jobs.repository import JobsRepository
from exporter.settings import SweeperSettings
from tests.integration.applications_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.applications_fixtures import KEYS, Sources, two_sources

HOSTS_CSV = "name,os\nweb-1,rhel\nweb-2,rhel\n"


def status(api, export_id: str, user: str = "alice") -> dict[str, Any]:
    reply = api("GET", f"/api/export/v1/exports/{export_id}/status", user=user)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def test_all_sources_uploaded_is_complete_with_every_part_and_a_manifest(api, sources: Sources, requested) -> None:
    export = requested()
    inventory, _advisor = export["sources"]
    # WHEN inventory uploads its CSV: the export is running, nothing is assembled yet
    reply = sources.answer(export["id"], inventory, HOSTS_CSV)
    assert reply.status == 202 and reply.body["status"] == "uploaded"
    assert status(api, export["id"])["status"] == "running"
    assert sources.assembly_queue.take() == []
    # AND advisor uploads its CSV (by resource name instead of id): the last answer enqueues one assembly
    reply = sources.internal(
        f"/app/export/v1/{export['id']}/advisor/recommendations/upload", body="rule\nr1\n", key=KEYS["advisor"]
    )
    assert reply.status == 202, reply.body
    assert len(sources.assemble()) == 1
    # THEN complete, with each source uploaded and a presigned download
    seen = status(api, export["id"])
    assert seen["status"] == "complete" and seen["completed"] and seen["expires"]
    assert [s["status"] for s in seen["sources"]] == ["uploaded", "uploaded"]
    download = api("GET", f"/api/export/v1/exports/{export['id']}")
    assert download.status == 302 and download.headers["Location"].startswith("http")
    # AND the ZIP holds each part under {application}/{resource}.{format}, a README and the manifest
    archive = sources.zip_of(export["id"])
    assert sorted(archive.namelist()) == [
        "README.md",
        "advisor/recommendations.csv",
        "inventory/hosts.csv",
        "manifest.json",
    ]
    assert archive.read("inventory/hosts.csv").decode() == HOSTS_CSV
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["status"] == "complete" and manifest["name"] == "my export"
    assert [(s["application"], s["status"], s["file"], s["filters"]) for s in manifest["sources"]] == [
        ("inventory", "uploaded", "inventory/hosts.csv", {"name": "web"}),
        ("advisor", "uploaded", "advisor/recommendations.csv", {}),
    ]
    assert "| inventory | hosts | uploaded | inventory/hosts.csv |" in archive.read("README.md").decode()
    # AND the generic view agrees: completed, downloadable
    assert api("GET", f"/exports/{export['id']}").body["status"] == "completed"


def test_some_sources_failed_is_partial_and_the_manifest_says_why(api, sources: Sources, requested) -> None:
    export = requested()
    inventory, advisor = export["sources"]
    assert sources.answer(export["id"], inventory, HOSTS_CSV).status == 202
    reply = sources.answer(export["id"], advisor)  # advisor reports an error
    assert reply.status == 202 and reply.body["status"] == "failed"
    sources.assemble()
    seen = status(api, export["id"])
    assert seen["status"] == "partial"
    assert [(s["status"], s.get("message")) for s in seen["sources"]] == [("uploaded", None), ("failed", "cannot do")]
    archive = sources.zip_of(export["id"])
    assert "advisor/recommendations.csv" not in archive.namelist()
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["status"] == "partial"
    assert manifest["sources"][1] == {
        "id": advisor["id"],
        "application": "advisor",
        "resource": "recommendations",
        "filters": {},
        "status": "failed",
        "file": None,
        "message": "cannot do",
        "error": "500",
    }
    assert api("GET", f"/api/export/v1/exports/{export['id']}").status == 302


def test_all_sources_failed_is_failed_with_nothing_to_download(api, sources: Sources, requested) -> None:
    export = requested()
    for source in export["sources"]:
        assert sources.answer(export["id"], source).status == 202
    assert sources.assembly_queue.take() == []  # nothing to assemble
    seen = status(api, export["id"])
    assert seen["status"] == "failed" and "every source failed" in seen["message"]
    assert api("GET", f"/api/export/v1/exports/{export['id']}").status == 409


def test_the_internal_api_refuses_what_it_must(api, sources: Sources, requested) -> None:
    export = requested()
    inventory, advisor = export["sources"]
    base = f"/app/export/v1/{export['id']}"
    upload = f"{base}/inventory/{inventory['id']}/upload"
    # no key, or a wrong one: 401
    assert sources.internal(upload, body=HOSTS_CSV).status == 401
    assert sources.internal(upload, body=HOSTS_CSV, key="guess").status == 401
    # a user's JWT is not a key: 401
    assert sources.internal(upload, body=HOSTS_CSV, key="").status == 401
    # advisor's key on inventory's path, or inventory's key on advisor's source: 403
    assert sources.internal(upload, body=HOSTS_CSV, key=KEYS["advisor"]).status == 403
    reply = sources.internal(f"{base}/inventory/{advisor['id']}/upload", body=HOSTS_CSV, key=KEYS["inventory"])
    assert reply.status == 403 and "belongs to advisor" in reply.body["message"]
    # unknown export or source: 404
    assert (
        sources.internal(
            f"/app/export/v1/{uuid.uuid4()}/inventory/hosts/upload", body="x", key=KEYS["inventory"]
        ).status
        == 404
    )
    assert sources.internal(f"{base}/inventory/{uuid.uuid4()}/upload", body="x", key=KEYS["inventory"]).status == 404
    assert sources.internal(f"{base}/inventory/vms/upload", body="x", key=KEYS["inventory"]).status == 404
    # the wrong format: 400 (JSON declared for a CSV export)
    reply = sources.internal(upload, body='{"a": 1}', key=KEYS["inventory"], content_type="application/json")
    assert reply.status == 400 and "format is csv" in reply.body["message"]
    # too large for the body: 413 pointing at the presigned upload
    reply = sources.internal(upload, body="x" * 5000, key=KEYS["inventory"])
    assert reply.status == 413 and "mode=url" in reply.body["message"]
    # a malformed error report: 400
    error = f"{base}/advisor/{advisor['id']}/error"
    assert sources.internal(error, body='{"nope": 1}', key=KEYS["advisor"], content_type=None).status == 400
    # none of that answered a source
    assert [s["status"] for s in status(api, export["id"])["sources"]] == ["pending", "pending"]
    # the first upload is taken; a second upload or an error for the same source is 409, saying so
    assert sources.internal(upload, body=HOSTS_CSV, key=KEYS["inventory"]).status == 202
    again = sources.internal(upload, body=HOSTS_CSV, key=KEYS["inventory"])
    assert again.status == 409 and "already answered (uploaded)" in again.body["message"]
    assert sources.answer(export["id"], inventory).status == 409


def test_a_json_export_takes_only_json(api, sources: Sources, requested) -> None:
    export = requested(two_sources(format="json"))
    inventory = export["sources"][0]
    reply = sources.answer(export["id"], inventory, "name\nweb\n", content_type=None)
    assert reply.status == 400 and "not JSON" in reply.body["message"]
    reply = sources.answer(export["id"], inventory, '[{"name": "web"}]', content_type="application/json", binary=True)
    assert reply.status == 202


def test_a_large_part_goes_through_a_presigned_upload(api, sources: Sources, requested) -> None:
    export = requested()
    inventory, advisor = export["sources"]
    upload = f"/app/export/v1/{export['id']}/inventory/{inventory['id']}/upload"
    # confirming before anything was uploaded is refused
    assert sources.internal(upload, key=KEYS["inventory"], query={"mode": "uploaded"}).status == 400
    # WHEN inventory asks for an upload URL, PUTs a part larger than the body limit, and confirms
    presigned = sources.internal(upload, key=KEYS["inventory"], query={"mode": "url"})
    assert presigned.status == 200 and presigned.body["method"] == "PUT"
    big = ("name\n" + "web-host\n" * 1000).encode()
    put = urllib.request.Request(presigned.body["url"], data=big, method="PUT", headers=presigned.body["headers"])
    with urllib.request.urlopen(put, timeout=30) as response:
        assert response.status == 200
    assert sources.internal(upload, key=KEYS["inventory"], query={"mode": "uploaded"}).status == 202
    sources.answer(export["id"], advisor)
    sources.assemble()
    # THEN the part is in the archive whole
    assert status(api, export["id"])["status"] == "partial"
    assert sources.zip_of(export["id"]).read("inventory/hosts.csv") == big


def test_an_early_assembly_message_changes_nothing(api, sources: Sources, requested) -> None:
    export = requested()
    message = json.dumps({"export_id": export["id"], "creator_id": "alice", "attempt": 1, "max_retries": 2})
    (answer,) = sources.assemble(message)
    assert answer["batchItemFailures"] == []
    seen = status(api, export["id"])
    assert seen["status"] == "pending" and [s["status"] for s in seen["sources"]] == ["pending", "pending"]
    # and the export still completes normally afterwards
    for source in export["sources"]:
        sources.answer(export["id"], source, "a\n1\n")
    sources.assemble()
    assert status(api, export["id"])["status"] == "complete"


def test_the_last_answers_arriving_together_assemble_exactly_once(api, sources: Sources, requested, postgres) -> None:
    # GIVEN six exports of two sources each, and every one of their twelve answers released at the same moment
    exports = [requested() for _ in range(6)]
    barrier = threading.Barrier(len(exports) * 2)
    answers: list[tuple[str, str]] = []
    failures: list[BaseException] = []

    def answer(export: dict[str, Any], source: dict[str, Any]) -> None:
        # each thread is its own Lambda container: its own database connection and clients
        db = Database(lambda: connect_url(postgres.url))
        ports = internal.InternalPorts(
            jobs=JobsRepository(db),
            sources=SourcesRepository(db),
            parts=S3PartStore(sources.s3, sources.bucket),
            queue=JobQueue(sources.sqs, sources.assembly_queue.url),
        )
        try:
            found, row = internal.find_source(
                export["id"], source["application"], source["id"], caller=source["application"], ports=ports
            )
            barrier.wait(timeout=60)
            result = internal.upload_part(
                found, row, body=b"a\n1\n", content_type="text/csv", max_bytes=4096, ports=ports
            )
            answers.append((export["id"], result.status))
        except BaseException as error:
            failures.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=answer, args=(e, s)) for e in exports for s in e["sources"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == [] and len(answers) == len(exports) * 2
    # THEN exactly one assembly message per export, however the answers interleaved
    queued = [json.loads(b)["export_id"] for b in sources.assembly_queue.take()]
    assert sorted(queued) == sorted(e["id"] for e in exports)
    # AND delivering every message twice, at once, builds each ZIP once: one completes, the duplicate is skipped
    bodies = [json.dumps({"export_id": i, "creator_id": "alice", "attempt": 1, "max_retries": 2}) for i in queued]
    outcomes = run_concurrently(sources, bodies * 2)
    assert sorted(outcomes) == sorted(["completed"] * len(exports) + ["skipped"] * len(exports))
    for export in exports:
        assert status(api, export["id"])["status"] == "complete"
        keys = sources.s3.list_objects_v2(Bucket=sources.bucket, Prefix="outputs/").get("Contents", [])
        assert len([k for k in keys if export["id"] in k["Key"]]) == 1


def run_concurrently(sources: Sources, bodies: list[str]) -> list[str]:
    """Run the assembler's record handler on each body in its own thread, with its own container's ports."""
    from assembler.handler import AssemblyRecord, assemble_record

    outcomes: list[str] = []
    barrier = threading.Barrier(len(bodies))

    def one(n: int, body: str) -> None:
        record = AssemblyRecord.model_validate(
            {
                "messageId": f"m{n}",
                "receiptHandle": "r",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "x",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:assembly",
                "awsRegion": "us-east-1",
            }
        )
        barrier.wait(timeout=60)
        outcomes.append(assemble_record(record))

    threads = [threading.Thread(target=one, args=(n, b)) for n, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_a_source_that_never_answers_times_out_and_counts_as_failed(api, sources: Sources, requested, db) -> None:
    export = requested()
    inventory, _advisor = export["sources"]
    sources.answer(export["id"], inventory, HOSTS_CSV)
    # GIVEN advisor has not answered for longer than the source timeout (an hour by default)
    assert sources.sweep()["timed_out"] == 0  # not yet
    with db.cursor() as cur:
        cur.execute(
            "UPDATE sources SET created_at = now() - interval '61 minutes' WHERE export_id = %s", (export["id"],)
        )
    # WHEN the sweep runs
    assert sources.sweep() == {"timed_out": 1, "settled": 1, "resent": 0}
    sources.assemble()
    # THEN advisor's source failed with the reason, and the export is partial with inventory's part
    seen = status(api, export["id"])
    assert seen["status"] == "partial"
    assert (
        seen["sources"][1]["status"] == "failed"
        and "did not answer within 3600 seconds" in seen["sources"][1]["message"]
    )
    # AND a late answer is refused
    assert sources.answer(export["id"], export["sources"][1], "rule\n").status == 409


def test_the_job_sweeper_leaves_a_waiting_export_alone(api, sources: Sources, requested, db, jobs_queue) -> None:
    from exporter.adapters.postgres import database
    from exporter.jobs.sweeper import sweep
    from exporter.settings import load

    export = requested()
    with db.cursor() as cur:
        cur.execute(
            "UPDATE exports SET updated_at = now() - interval '30 minutes' WHERE export_id = %s", (export["id"],)
        )
    config = load(SweeperSettings, os.environ)
    report = sweep(JobsRepository(database(config)), jobs_queue_of(config))
    assert export["id"] not in {str(i) for i in report.failed + report.resent}
    assert status(api, export["id"])["status"] == "pending"
    assert jobs_queue.take() == []


def jobs_queue_of(config: SweeperSettings) -> JobQueue:
    return JobQueue(boto3.client("sqs"), config.SQS_QUEUE_URL)


def test_a_lost_assembly_message_is_resent_by_the_sweep(api, sources: Sources, requested, db) -> None:
    export = requested()
    for source in export["sources"]:
        sources.answer(export["id"], source, "a\n1\n")
    assert len(sources.assembly_queue.take()) == 1  # the message is lost
    with db.cursor() as cur:
        cur.execute(
            "UPDATE exports SET updated_at = now() - interval '30 minutes' WHERE export_id = %s", (export["id"],)
        )
    assert sources.sweep()["resent"] == 1
    sources.assemble()
    assert status(api, export["id"])["status"] == "complete"
