"""Sunbird's data-exhaust API (seed 002) as its clients call it: the seed's three sample requests replayed.

Every key of each answer is compared with the seed's sample answer; values that are times or ids are
checked by their shape, the others by value.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import shutil
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pyzipper

from exporter.adapters.postgres import Database, connect_url
from local.demo_telemetry import seed_telemetry

USER = {"user": "user_id"}
ADMIN = {"user": "root", "groups": ["admin"]}
REQUEST_ID = re.compile(r"[0-9A-F]{32}\Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00\Z")
DAY_MS = 24 * 3600 * 1000

# The seed's sample submit body, with its field values.
SEED_SUBMIT = {
    "id": "ekstep.analytics.job.request.submit",
    "ver": "1.0",
    "ts": "2022-02-15T10:07:00+05:30",
    "params": {"msgid": "06fb2660-88ba-11ec-bea0-578c52d1ac65"},
    "request": {
        "dataset": "uci-response-exhaust",
        "tag": "7ed871f7-0d5b-4bb0-86a0-a00151352706",
        "requestedBy": "user_id",
        "requestedChannel": "01309282781705830427",
        "datasetConfig": {
            "type": "uci-response-exhaust",
            "conversationId": "c63b6faa-11a9-4259-b941-11cd2f8446c6",
            "startDate": "2022-03-01",
            "endDate": "2022-04-01",
        },
        "output_format": "csv",
    },
}
SEED_SUBMIT_RESULT_KEYS = [
    "attempts", "lastUpdated", "tag", "expiresAt", "datasetConfig", "downloadUrls", "requestedBy", "jobStats",
    "status", "dataset", "requestId", "requestedChannel",
]  # fmt: skip
SEED_INFO_RESULT_KEYS = [*SEED_SUBMIT_RESULT_KEYS, "statusMessage"]
SEED_LIST_JOB_KEYS = [
    "requestId", "tag", "dataset", "requestedBy", "requestedChannel", "status", "lastUpdated", "datasetConfig",
    "attempts", "jobStats", "downloadUrls", "expiresAt", "statusMessage",
]  # fmt: skip
KEY = "correct horse battery staple 42"


@pytest.fixture
def telemetry(db, service_env):
    from api.routes import sunbird

    sunbird.exhaust.cache_clear()
    with db.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS uci CASCADE")
    seed_telemetry(db)
    yield db
    with db.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS uci CASCADE")


def _submit_body(**request) -> dict:
    body = copy.deepcopy(SEED_SUBMIT)
    body["request"].update(request)
    return body


def _assert_envelope(body: dict, api_id: str) -> None:
    assert list(body) == ["id", "ver", "ts", "params", "responseCode", "result"]
    assert (body["id"], body["ver"], body["responseCode"]) == (api_id, "1.0", "OK")
    assert TS.match(body["ts"])
    assert set(body["params"]) == {"resmsgid", "status", "client_key"}
    assert UUID.match(body["params"]["resmsgid"])
    assert (body["params"]["status"], body["params"]["client_key"]) == ("successful", None)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        return response.read()


def test_the_seed_submit_request_is_answered_as_the_seed_shows(api, telemetry, jobs_queue) -> None:
    # WHEN a Sunbird client submits the seed's sample request
    reply = api("POST", "/dataset/v1/request/submit", body=SEED_SUBMIT, **USER)

    # THEN the answer has the seed's envelope and every key of the seed's result, in its order
    assert reply.status == 200
    body = reply.body
    _assert_envelope(body, "ekstep.analytics.dataset.request.submit")
    result = body["result"]
    assert list(result) == SEED_SUBMIT_RESULT_KEYS
    request = SEED_SUBMIT["request"]
    assert result["attempts"] == 0 and result["status"] == "SUBMITTED" and result["downloadUrls"] == []
    # the seed's sample answer shows another channel than its request: the request's is echoed
    assert result["tag"] == f"{request['tag']}:{request['requestedChannel']}"
    assert result["requestedChannel"] == request["requestedChannel"]
    assert (result["dataset"], result["requestedBy"]) == ("uci-response-exhaust", "user_id")
    assert result["datasetConfig"] == request["datasetConfig"]
    assert REQUEST_ID.match(result["requestId"])
    stats = result["jobStats"]
    assert list(stats) == ["dtJobSubmitted", "dtJobCompleted", "executionTime"]
    assert (
        isinstance(stats["dtJobSubmitted"], int) and stats["dtJobCompleted"] is None and stats["executionTime"] is None
    )
    # the download URLs minted with an answer work for one day
    assert abs(result["expiresAt"] - result["lastUpdated"] - DAY_MS) < 60_000
    (message,) = [json.loads(b) for b in jobs_queue.take()]
    assert message["kind"] == "dataset" and message["dataset"] == "uci-response-exhaust"

    # AND the same request again is the same request and job, not a second one
    again = api("POST", "/dataset/v1/request/submit", body=SEED_SUBMIT, **USER).body["result"]
    assert again["requestId"] == result["requestId"] and again["attempts"] == 0
    assert jobs_queue.take() == []
    # AND it is a dataset export like any other
    (export,) = api("GET", "/exports", **USER).body["items"]
    assert export["kind"] == "dataset" and export["export_parameters"]["dataset"] == "uci-response-exhaust"


def test_the_seed_read_request_gives_the_file_once_it_succeeded(api, telemetry, drain) -> None:
    # GIVEN the seed's request, submitted and run
    submitted = api("POST", "/dataset/v1/request/submit", body=SEED_SUBMIT, **USER).body["result"]
    tag, request_id = SEED_SUBMIT["request"]["tag"], submitted["requestId"]
    before = api("GET", f"/dataset/v1/request/read/{tag}", query={"requestId": request_id}, **USER).body
    assert before["result"]["status"] == "SUBMITTED" and before["result"]["statusMessage"] == ""
    drain()

    # WHEN the client reads it as the seed does
    reply = api("GET", f"/dataset/v1/request/read/{tag}", query={"requestId": request_id}, **USER)

    # THEN the answer holds every key of the seed's sample, with a download URL and the run's times
    assert reply.status == 200
    _assert_envelope(reply.body, "ekstep.analytics.dataset.request.info")
    result = reply.body["result"]
    assert list(result) == SEED_INFO_RESULT_KEYS
    assert (result["status"], result["statusMessage"], result["attempts"]) == ("SUCCESS", "", 0)
    assert result["requestId"] == request_id and result["tag"].endswith(":01309282781705830427")
    stats = result["jobStats"]
    assert stats["dtJobCompleted"] >= stats["dtJobSubmitted"] and 0 <= stats["executionTime"] < 60_000
    assert abs(result["expiresAt"] - json_ts_ms(reply.body["ts"]) - DAY_MS) < 2_000
    (url,) = result["downloadUrls"]
    rows = list(csv.DictReader(io.StringIO(_fetch(url).decode())))
    # AND the file holds that bot's March 2022 events, endDate excluded
    assert rows and {r["Conversation Id"] for r in rows} == {"c63b6faa-11a9-4259-b941-11cd2f8446c6"}
    assert {r["Reply Received At"][:7] for r in rows} == {"2022-03"}
    assert len(rows) == 93  # three events a day, 31 days
    assert list(rows[0]) == [
        "Message Id", "Conversation Id", "Channel", "Device Id", "Question", "Question Options", "User Reply",
        "Question Sent At", "Reply Received At",
    ]  # fmt: skip
    # AND each read mints a fresh URL
    again = api("GET", f"/dataset/v1/request/read/{tag}", query={"requestId": request_id}, **USER).body
    assert again["result"]["downloadUrls"][0].split("?")[0] == url.split("?")[0]


def json_ts_ms(ts: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(ts).timestamp() * 1000)


def test_the_seed_list_request_shows_the_callers_requests_of_the_tag_newest_first(api, telemetry, drain) -> None:
    # GIVEN the seed's list sample's request (its tag, channel and bot), and another user's in the same tag
    tag = "7ed871f7-0d5b-4bb0-86a0-a00151352703"
    config = {**SEED_SUBMIT["request"]["datasetConfig"], "conversationId": "d655cf03-1f6f-4510-acf6-d3f51b488a5e"}
    mine = _submit_body(tag=tag, requestedChannel="ORG_001", datasetConfig=config)
    first = api("POST", "/dataset/v1/request/submit", body=mine, **USER).body["result"]
    drain()
    theirs = _submit_body(tag=tag, requestedChannel="ORG_001", datasetConfig=config, requestedBy="someone")
    assert api("POST", "/dataset/v1/request/submit", body=theirs, user="someone").status == 200
    newer = _submit_body(tag=tag, requestedChannel="ORG_001", datasetConfig={**config, "startDate": "2022-02-01"})
    second = api("POST", "/dataset/v1/request/submit", body=newer, **USER).body["result"]

    # WHEN the client lists the tag as the seed does
    reply = api("GET", f"/dataset/v1/request/list/{tag}", query={"limit": "5"}, **USER)

    # THEN it gets its own two requests, newest first, each with every key of the seed's sample job
    assert reply.status == 200
    _assert_envelope(reply.body, "ekstep.analytics.dataset.request.list")
    result = reply.body["result"]
    assert list(result) == ["count", "jobs"] and result["count"] == 2
    assert [j["requestId"] for j in result["jobs"]] == [second["requestId"], first["requestId"]]
    for job in result["jobs"]:
        assert sorted(job) == sorted(SEED_LIST_JOB_KEYS)
        assert job["tag"] == f"{tag}:ORG_001" and job["requestedChannel"] == "ORG_001"
    done = result["jobs"][1]
    assert done["status"] == "SUCCESS" and len(done["downloadUrls"]) == 1 and done["statusMessage"] == ""
    assert done["datasetConfig"] == config and done["jobStats"]["executionTime"] >= 0
    # AND an admin sees all three, limit respected
    assert api("GET", f"/dataset/v1/request/list/{tag}", query={"limit": "5"}, **ADMIN).body["result"]["count"] == 3
    assert api("GET", f"/dataset/v1/request/list/{tag}", query={"limit": "1"}, **ADMIN).body["result"]["count"] == 1


def _config(**changes) -> dict:
    return {**SEED_SUBMIT["request"]["datasetConfig"], **changes}


@pytest.mark.parametrize(
    ("request_changes", "errmsg"),
    [
        ({"dataset": "uci-nothing"}, "datasetConfig.type must be the request's dataset"),
        ({"dataset": "uci-nothing", "datasetConfig": _config(type="uci-nothing")}, "unknown dataset 'uci-nothing'"),
        ({"datasetConfig": _config(type="uci-private-exhaust")}, "datasetConfig.type must be the request's dataset"),
        ({"datasetConfig": _config(startDate="2022-02-30")}, "parameter 'startDate' must be a date, YYYY-MM-DD"),
        (
            {"datasetConfig": _config(endDate="2022-02-01")},
            "datasetConfig.endDate must be after startDate (the range excludes endDate)",
        ),
        ({"tag": None}, "request.tag: Input should be a valid string"),
        ({"requestedBy": "someone-else"}, "requestedBy must be the caller (only an admin requests for someone else)"),
        ({"output_format": "json"}, "output_format must be csv"),
    ],
)
def test_a_bad_submit_is_a_client_error_in_the_envelope(api, telemetry, jobs_queue, request_changes, errmsg) -> None:
    body = _submit_body(**request_changes)
    if body["request"]["tag"] is None:
        del body["request"]["tag"]
        errmsg = "request.tag: Field required"
    reply = api("POST", "/dataset/v1/request/submit", body=body, **USER)
    assert reply.status == 400
    assert reply.body["responseCode"] == "CLIENT_ERROR" and reply.body["result"] == {}
    assert reply.body["params"]["status"] == "failed" and reply.body["params"]["err"] == "INVALID_REQUEST"
    assert reply.body["params"]["errmsg"] == errmsg
    assert jobs_queue.take() == []


def test_a_body_without_a_request_and_an_unknown_request_id_are_answered_in_the_envelope(api, telemetry) -> None:
    missing = api("POST", "/dataset/v1/request/submit", body={"id": "x"}, **USER)
    assert missing.status == 400 and missing.body["params"]["errmsg"] == "request: Field required"
    unknown = api("GET", "/dataset/v1/request/read/t", query={"requestId": "0" * 32}, **USER)
    assert unknown.status == 404 and unknown.body["responseCode"] == "RESOURCE_NOT_FOUND"
    assert unknown.body["id"] == "ekstep.analytics.dataset.request.info"
    no_id = api("GET", "/dataset/v1/request/read/t", **USER)
    assert no_id.status == 400 and no_id.body["params"]["errmsg"] == "requestId is required"
    bad_limit = api("GET", "/dataset/v1/request/list/t", query={"limit": "0"}, **USER)
    assert bad_limit.status == 400 and bad_limit.body["responseCode"] == "CLIENT_ERROR"


def test_another_users_request_is_not_found_and_an_admin_may_read_it(api, telemetry) -> None:
    submitted = api("POST", "/dataset/v1/request/submit", body=SEED_SUBMIT, **USER).body["result"]
    tag, query = SEED_SUBMIT["request"]["tag"], {"requestId": submitted["requestId"]}
    assert api("GET", f"/dataset/v1/request/read/{tag}", query=query, user="someone").status == 404
    assert api("GET", "/dataset/v1/request/read/other-tag", query=query, **USER).status == 404
    assert api("GET", f"/dataset/v1/request/read/{tag}", query=query, **ADMIN).status == 200


def test_a_failed_request_submitted_again_runs_again_and_counts_the_attempt(api, telemetry, db, jobs_queue) -> None:
    # GIVEN the seed's request, whose export failed
    first = api("POST", "/dataset/v1/request/submit", body=SEED_SUBMIT, **USER).body["result"]
    jobs_queue.take()
    with db.cursor() as cur:
        cur.execute("UPDATE exports SET status = 'failed', message = 'the source was unreachable'")
    tag, query = SEED_SUBMIT["request"]["tag"], {"requestId": first["requestId"]}
    failed = api("GET", f"/dataset/v1/request/read/{tag}", query=query, **USER).body["result"]
    assert (failed["status"], failed["statusMessage"]) == ("FAILED", "the source was unreachable")

    # WHEN it is submitted again
    again = api("POST", "/dataset/v1/request/submit", body=SEED_SUBMIT, **USER).body["result"]

    # THEN it is the same request, submitted afresh, one attempt more, with a new export queued
    assert (again["requestId"], again["status"], again["attempts"]) == (first["requestId"], "SUBMITTED", 1)
    assert len(jobs_queue.take()) == 1
    assert len(api("GET", "/exports", **USER).body["items"]) == 2


def _private_body(**request) -> dict:
    config = _config(type="uci-private-exhaust")
    return _submit_body(**{"dataset": "uci-private-exhaust", "datasetConfig": config, "requestedBy": "root", **request})


def _every_text_in_the_database(db) -> str:
    """Every text, jsonb and json column of every table of the service's schema, as text."""
    with db.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb', 'json', 'character varying')"
        )
        columns = cur.fetchall()
        texts = []
        for table, column in columns:
            cur.execute(f'SELECT string_agg("{column}"::text, \' \') FROM "{table}"')
            texts.append((cur.fetchone() or ("",))[0] or "")
    return "\n".join(texts)


def test_the_private_exhaust_opens_only_with_the_requesters_key_which_is_kept_nowhere(
    api, telemetry, db, drain, capfd, caplog
) -> None:
    # GIVEN a user outside the admin group: for them the private exhaust does not exist
    outsider = api("POST", "/dataset/v1/request/submit", body=_private_body(requestedBy="user_id"), **USER)
    assert outsider.status == 400 and outsider.body["params"]["errmsg"] == "unknown dataset 'uci-private-exhaust'"
    # AND an admin must give a key
    keyless = api("POST", "/dataset/v1/request/submit", body=_private_body(), **ADMIN)
    assert keyless.body["params"]["errmsg"] == "request.encryptionKey is required for dataset 'uci-private-exhaust'"

    # WHEN an admin requests it with a key, and it runs
    submitted = api("POST", "/dataset/v1/request/submit", body=_private_body(encryptionKey=KEY), **ADMIN)
    assert submitted.status == 200
    drain()
    tag, query = SEED_SUBMIT["request"]["tag"], {"requestId": submitted.body["result"]["requestId"]}
    read = api("GET", f"/dataset/v1/request/read/{tag}", query=query, **ADMIN)
    listed = api("GET", f"/dataset/v1/request/list/{tag}", **ADMIN)
    exports = api("GET", "/exports", **ADMIN)

    # THEN the file is an AES-256 ZIP that opens with the key and with no other
    assert read.body["result"]["status"] == "SUCCESS"
    archive = pyzipper.AESZipFile(io.BytesIO(_fetch(read.body["result"]["downloadUrls"][0])))
    (info,) = archive.infolist()
    assert info.filename == "uci-private-exhaust.csv"
    with pytest.raises(RuntimeError, match="Bad password"):
        archive.read(info, pwd=b"not the key at all")
    rows = list(csv.DictReader(io.StringIO(archive.read(info, pwd=KEY.encode()).decode())))
    assert rows and all(r["Device Id"].startswith("device-") and r["User Name"] for r in rows)
    consented = [r for r in rows if r["Phone Number"]]
    assert 0 < len(consented) < len(rows)  # a phone number only where the user consented
    # AND the key is in no answer, no log line and no database row
    answers = json.dumps([submitted.body, read.body, listed.body, exports.body])
    logs = capfd.readouterr()
    assert KEY not in answers
    assert KEY not in logs.out + logs.err + caplog.text
    assert "dataset export completed" in logs.out + caplog.text  # the capture sees the worker's log lines
    assert KEY not in _every_text_in_the_database(db)
    assert "uci-private-exhaust" in _every_text_in_the_database(db)  # the scan sees the request's rows


def test_a_batch_dataset_waits_for_its_schedule_which_runs_every_waiting_request(
    api, telemetry, drain, jobs_queue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the response exhaust set to run in a nightly batch
    folder = tmp_path / "uci-response-exhaust"
    shutil.copytree(Path("datasets/uci-response-exhaust"), folder)
    toml = (folder / "dataset.toml").read_text()
    toml = toml.replace('format = "csv"', 'format = "csv"\nrun = "batch"')
    (folder / "dataset.toml").write_text(toml + '\n[schedule]\nexpression = "cron(0 2 * * ? *)"\n')
    monkeypatch.setenv("DATASETS_PATH", str(tmp_path))
    from api import dependencies as api_deps
    from api.routes import sunbird

    for cached in (api_deps.settings, api_deps.dependencies, sunbird.exhaust):
        cached.cache_clear()

    # WHEN two requests are submitted
    one = api("POST", "/dataset/v1/request/submit", body=SEED_SUBMIT, **USER).body["result"]
    other_body = _submit_body(tag="another-tag")
    other = api("POST", "/dataset/v1/request/submit", body=other_body, **USER).body["result"]

    # THEN they wait: nothing is queued and no export exists yet
    assert (one["status"], other["status"]) == ("SUBMITTED", "SUBMITTED")
    assert jobs_queue.take() == [] and api("GET", "/exports", **USER).body["items"] == []
    read = api(
        "GET",
        f"/dataset/v1/request/read/{SEED_SUBMIT['request']['tag']}",
        query={"requestId": one["requestId"]},
        **USER,
    )
    assert read.body["result"]["statusMessage"] == "waiting for the dataset's scheduled batch run"

    # WHEN the dataset's operator schedule fires (twice: Scheduler delivers at least once)
    from exporter.schedules.fire import Outcome, fire_operator
    from exporter.schedules.repository import OperatorRunsRepository
    from exporter.sunbird.service import run_waiting

    def start_waiting(name: str) -> int:
        return len(run_waiting(name, exhaust=sunbird.exhaust()))

    fired = [
        fire_operator(
            "uci-response-exhaust",
            datetime(2022, 4, 2, 2, 0, tzinfo=UTC),
            catalogue=sunbird.exhaust().catalogue,
            runs=OperatorRunsRepository(Database(lambda: connect_url(os.environ["DATABASE_URL"]))),
            targets=None,  # type: ignore[arg-type]  # a batch fire requests no single export
            batch=start_waiting,
        )
        for _ in range(2)
    ]
    drain()

    # THEN both waiting requests ran, once
    assert [f.outcome for f in fired] == [Outcome.CREATED, Outcome.DUPLICATE]
    assert fired[0].message == "batch run: 2 waiting request(s) started"
    assert run_waiting("uci-response-exhaust", exhaust=sunbird.exhaust()) == []
    for tag, result in ((SEED_SUBMIT["request"]["tag"], one), ("another-tag", other)):
        after = api("GET", f"/dataset/v1/request/read/{tag}", query={"requestId": result["requestId"]}, **USER)
        assert after.body["result"]["status"] == "SUCCESS" and len(after.body["result"]["downloadUrls"]) == 1
    assert len(api("GET", "/exports", **USER).body["items"]) == 2
