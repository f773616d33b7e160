"""Datasets as a user sees them: the catalogue by group, parameters refused by name, a run is an export."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest

from local.demo_datasets import seed_ckb_tables
from local.observations import insert_observations
from tests.support import observation

ADMIN = {"user": "root", "groups": ["admin"]}
CKB_TASKS = {"agency", "source", "source_file", "source_run_page", "source_run_report"}


@pytest.fixture
def ckb(db):
    with db.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS ckb CASCADE")
    seed_ckb_tables(db, rows=40)
    yield db
    with db.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS ckb CASCADE")


def _count(db, table: str) -> int:
    with db.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return int(cur.fetchone()[0])


def test_each_user_sees_the_datasets_their_groups_may_run(api) -> None:
    # A signed-in user sees the datasets open to everyone; an admin sees every one, with what it deletes
    mine = api("GET", "/datasets").body["items"]
    assert [d["name"] for d in mine] == ["observations", "uci-response-exhaust"]
    assert mine[0]["parameters"][0] == {
        "name": "start_date",
        "type": "date",
        "required": True,
        "default": None,
        "description": "First day",
    }
    assert mine[0]["schedule"]["expression"] == "cron(0 2 * * ? *)" and mine[0]["deletes"] is False
    every = {d["name"]: d for d in api("GET", "/datasets", **ADMIN).body["items"]}
    assert CKB_TASKS | {"observations"} <= set(every)
    assert every["agency"]["deletes"] is True and every["source_run_report"]["format"] == "jsonl.gz"


def test_a_dataset_outside_the_callers_groups_is_404_and_only_admins_see_sql(api) -> None:
    hidden = api("GET", "/datasets/agency")
    assert hidden.status == 404 and hidden.body == {"message": "dataset 'agency' not found", "status": 404}
    assert api("POST", "/datasets/agency/exports", body={}).status == 404
    assert api("GET", "/datasets/observations").body["select_sql"] is None
    admin_view = api("GET", "/datasets/agency", **ADMIN).body
    assert admin_view["select_sql"].startswith("COPY (SELECT id, name") and admin_view["delete_sql"].startswith(
        "DELETE FROM ckb.agency"
    )


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"start_date": "2025-10-01"}, "parameter 'end_date' is required"),
        ({"start_date": "2025-13-01", "end_date": "2025-10-31"}, "parameter 'start_date' must be a date, YYYY-MM-DD"),
        (
            {"start_date": "2025-10-01", "end_date": "2025-10-31", "days": 3},
            "unknown parameter 'days' (this dataset takes: end_date, start_date)",
        ),
    ],
)
def test_a_missing_or_ill_typed_parameter_is_400_naming_it(api, jobs_queue, parameters, message) -> None:
    reply = api("POST", "/datasets/observations/exports", body={"parameters": parameters})
    assert (reply.status, reply.body["message"]) == (400, message)
    assert jobs_queue.take() == []


def test_a_dataset_run_is_an_export_listed_polled_and_downloaded(api, db, drain, jobs_queue, s3, service_env) -> None:
    # GIVEN observations on two days
    insert_observations(db, [observation(n, observed_at=1_759_583_019 + (n % 2) * 86_400) for n in range(10)])

    # WHEN a user exports one day
    body = {"parameters": {"start_date": "2025-10-04", "end_date": "2025-10-04"}}
    reply = api("POST", "/datasets/observations/exports", body=body)

    # THEN it is accepted as a dataset export, queued with its kind
    assert reply.status == 202 and reply.body["kind"] == "dataset" and reply.body["status"] == "pending"
    assert reply.body["export_parameters"] == {
        "dataset": "observations",
        "parameters": {"start_date": "2025-10-04", "end_date": "2025-10-04"},
        "format": "csv.gz",
        "source": None,
    }
    export_id = reply.body["export_id"]
    (message,) = [json.loads(b) for b in jobs_queue.take()]
    assert message["kind"] == "dataset" and message["export_id"] == export_id
    jobs_queue.sqs.send_message(QueueUrl=jobs_queue.url, MessageBody=json.dumps(message))
    drain()

    # AND it completes, is listed with the user's exports, and its file holds that day's rows
    status = api("GET", f"/exports/{export_id}").body
    assert status["status"] == "completed" and status["url"]
    assert export_id in [e["export_id"] for e in api("GET", "/exports").body["items"]]
    key = f"outputs/observations-{status['created_at'][:10].replace('-', '_')}"
    (obj,) = s3.list_objects_v2(Bucket=service_env.exports_bucket, Prefix=key)["Contents"]
    text = gzip.decompress(s3.get_object(Bucket=service_env.exports_bucket, Key=obj["Key"])["Body"].read())
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    assert len(rows) == 5 and {r["observed_at"][:10] for r in rows} == {"2025-10-04"}
    assert status["size_bytes"] == obj["Size"]


def test_export_everything_is_for_admins_and_archives_every_ckb_task(api, ckb, drain) -> None:
    assert api("POST", "/datasets/exports").status == 403

    reply = api("POST", "/datasets/exports", **ADMIN)

    assert reply.status == 202
    assert {item["export_parameters"]["dataset"] for item in reply.body["items"]} == CKB_TASKS
    skipped = {s["dataset"]: s["reason"] for s in reply.body["skipped"]}
    assert list(skipped) == ["observations", "uci-private-exhaust", "uci-response-exhaust"]
    assert "start_date" in skipped["observations"] and "encryption key" in skipped["uci-private-exhaust"]
    drain()
    for item in reply.body["items"]:
        status = api("GET", f"/exports/{item['export_id']}", **ADMIN).body
        assert status["status"] == "completed", status
    for table in CKB_TASKS:
        assert _count(ckb, f"ckb.{table}") == 0
