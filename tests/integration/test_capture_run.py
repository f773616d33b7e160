"""Real captures: the capture Lambda against a real Redis, S3 through moto, the API around it."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime

import pytest
import redis
import requests

from bench.nef_events import EVENTS, messages, subscribers
from exporter.captures.rows import CSV_HEADER
from local.services import start_redis

UES = subscribers(25)


class CaptureThread(threading.Thread):
    """Runs the capture handler (it blocks for the window) and times it."""

    def __init__(self, run_capture: Callable[..., dict], body: str) -> None:
        super().__init__(daemon=True)
        self._run, self._body = run_capture, body
        self.response: dict | None = None
        self.elapsed = 0.0

    def run(self) -> None:
        started = time.monotonic()
        self.response = self._run(self._body)
        self.elapsed = time.monotonic() - started


def wait_for_subscriber(client: redis.Redis, *, at_least: int = 1, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while client.pubsub_numpat() < at_least:
        assert time.monotonic() < deadline, "the capture never subscribed"
        time.sleep(0.01)


def publish(client: redis.Redis, count: int, *, start: int = 0) -> list[dict]:
    """``count`` NEF messages, numbered from ``start``; every one carries identities."""
    stream = messages(UES, seed=start + 1)
    sent = []
    for n in range(start, start + count):
        channel, text = next(stream)
        document = json.loads(text)
        document["sequence"] = n
        client.publish(channel, json.dumps(document))
        sent.append(document)
    return sent


def start_capture(api, capture_queue, run_capture, duration: str) -> tuple[str, CaptureThread]:
    capture_id = api("POST", "/captures", body={"duration": duration}).body["id"]
    (body,) = capture_queue.take()
    thread = CaptureThread(run_capture, body)
    thread.start()
    return capture_id, thread


def download_csv(api, capture_id: str) -> bytes:
    reply = api("GET", "/captures/download", query={"id": capture_id})
    assert reply.status == 302, reply.body
    response = requests.get(reply.headers["Location"], timeout=30)
    assert response.status_code == 200
    return response.content


def raw_identities() -> list[str]:
    return [raw for ue in UES for raw in ue.raw()]


@pytest.fixture
def publisher(redis_server) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url)


def test_a_capture_records_every_message_of_its_window_once_masked(
    api, capture_queue, run_capture, publisher, db
) -> None:
    # GIVEN a 2 s capture of broadcast:* that has subscribed
    capture_id, thread = start_capture(api, capture_queue, run_capture, "2s")
    wait_for_subscriber(publisher)
    assert api("GET", "/captures/status", query={"id": capture_id}).body["remainingTime"] in (1, 2)
    # WHEN 300 NEF messages carrying identities are published inside the window, and one that is not JSON
    sent = publish(publisher, 300)
    publisher.publish("broadcast:raw", "UE imsi-001010999999999 lost at 10.99.0.1")
    publisher.publish("other:channel", json.dumps({"event": "NOT_SUBSCRIBED", "sequence": -1}))
    thread.join(timeout=10)
    # THEN the capture took its window, no more
    assert thread.response == {"batchItemFailures": []}
    assert 2.0 <= thread.elapsed < 3.5, thread.elapsed
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert status["status"] == "COMPLETED" and status["remainingTime"] == 0 and status["rows"] == 301
    window = datetime.fromisoformat(status["completed_at"]) - datetime.fromisoformat(status["started_at"])
    assert 2.0 <= window.total_seconds() < 3.5
    # AND the CSV has the seed's columns and every published message exactly once, in order
    content = download_csv(api, capture_id)
    table = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert list(table[0].keys()) == list(CSV_HEADER)
    json_rows = [r for r in table if r["channel"] != "broadcast:raw"]
    assert [json.loads(r["data"])["sequence"] for r in json_rows] == [m["sequence"] for m in sent]
    assert [r["event"] for r in json_rows] == [m["event"] for m in sent]
    assert {r["event"] for r in json_rows} == set(EVENTS)
    assert all(r["channel"] == "broadcast:" + r["event"].lower() for r in json_rows)
    assert all(r["timestamp"].endswith("Z") and len(r["timestamp"]) == 24 for r in table)
    assert all(r["user"].startswith("anon-") for r in table)
    (raw_row,) = [r for r in table if r["channel"] == "broadcast:raw"]
    assert raw_row["event"] == "" and raw_row["data"].startswith("UE anon-")
    # AND one subscriber has one pseudonym throughout the capture
    users_by_sequence = {json.loads(r["data"])["sequence"]: r["user"] for r in json_rows}
    by_supi: dict[str, set[str]] = {}
    for message in sent:
        by_supi.setdefault(message["supi"], set()).add(users_by_sequence[message["sequence"]])
    assert all(len(pseudonyms) == 1 for pseudonyms in by_supi.values())
    assert len(by_supi) > 1 and len({next(iter(p)) for p in by_supi.values()}) == len(by_supi)
    # AND no identity that was published is anywhere in the object's bytes
    for raw in [*raw_identities(), "001010999999999", "10.99.0.1"]:
        assert raw.encode() not in content, raw
    # AND GET /exports shows it as a completed capture with its row count
    (listed,) = api("GET", "/exports").body["items"]
    assert listed["kind"] == "capture" and listed["status"] == "completed" and listed["progress"]["rows_written"] == 301


def test_a_redelivered_capture_message_does_nothing(api, capture_queue, run_capture, publisher) -> None:
    capture_id = api("POST", "/captures", body={"duration": "1s"}).body["id"]
    (body,) = capture_queue.take()
    assert run_capture(body) == {"batchItemFailures": []}
    before = api("GET", f"/exports/{capture_id}").body
    started = time.monotonic()
    assert run_capture(body) == {"batchItemFailures": []}
    assert time.monotonic() - started < 0.5  # skipped: no second window
    assert api("GET", f"/exports/{capture_id}").body == before


def test_a_pubsub_disconnect_mid_window_reconnects_and_records_the_gap(
    api, capture_queue, run_capture, publisher
) -> None:
    # GIVEN a 3 s capture that has subscribed and received a first batch
    capture_id, thread = start_capture(api, capture_queue, run_capture, "3s")
    wait_for_subscriber(publisher)
    first = publish(publisher, 50)
    time.sleep(0.3)
    # WHEN the server drops every pub/sub client
    killed_at = time.time()
    assert publisher.client_kill_filter(_type="pubsub") >= 1
    # THEN the capture subscribes again and records what comes after
    wait_for_subscriber(publisher)
    second = publish(publisher, 50, start=1000)
    thread.join(timeout=10)
    assert thread.response == {"batchItemFailures": []}
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert status["status"] == "COMPLETED"
    table = list(csv.DictReader(io.StringIO(download_csv(api, capture_id).decode("utf-8"))))
    sequences = [json.loads(r["data"])["sequence"] for r in table]
    assert sequences == [m["sequence"] for m in first + second]
    # AND the gap is in the status (details) and in its message
    (gap,) = status["gaps"]
    start, end = datetime.fromisoformat(gap["start"]), datetime.fromisoformat(gap["end"])
    assert killed_at - 1 <= start.timestamp() <= end.timestamp() <= killed_at + 2
    assert "disconnected 1 time" in status["message"] and gap["start"] in status["message"]


def test_a_redis_restart_mid_window_is_a_gap_as_long_as_the_outage(
    api, capture_queue, run_capture, capture_env, monkeypatch
) -> None:
    # GIVEN a Redis of this test's own, and a 3 s capture subscribed to it
    server = start_redis()
    monkeypatch.setenv("REDIS_SVC", server.url)
    from capture import dependencies

    dependencies.settings.cache_clear()

    dependencies.capture.cache_clear()
    try:
        capture_id, thread = start_capture(api, capture_queue, run_capture, "3s")
        wait_for_subscriber(redis.Redis.from_url(server.url))
        # WHEN the server is down for about a second
        server.stop()
        time.sleep(1.0)
        server = start_redis(port=server.port)
        client = redis.Redis.from_url(server.url)
        wait_for_subscriber(client)
        after = publish(client, 20)
        thread.join(timeout=10)
    finally:
        server.stop()
    # THEN the capture completed with what came after, and a gap of about the outage
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert status["status"] == "COMPLETED" and status["rows"] == len(after)
    (gap,) = status["gaps"]
    outage = datetime.fromisoformat(gap["end"]) - datetime.fromisoformat(gap["start"])
    assert 0.9 <= outage.total_seconds() < 2.5


def test_a_capture_whose_lambda_died_is_failed_by_the_sweeper(api, capture_queue, db, sqs, capture_env) -> None:
    from tests.support import context
    from worker.sweeper import lambda_handler as sweeper

    # GIVEN a capture claimed by a run that stopped renewing its lease
    capture_id = api("POST", "/captures", body={"duration": "60s"}).body["id"]
    capture_queue.take()
    with db.cursor() as cur:
        cur.execute(
            "UPDATE exports SET status = 'processing', started_at = now() - interval '5 minutes', "
            "lease_owner = 'dead', lease_expires_at = now() - interval '1 minute' WHERE export_id = %s",
            (capture_id,),
        )
    # WHEN the sweeper runs
    result = sweeper({}, context())
    # THEN the capture is failed, not retried: nothing is queued anywhere
    assert result["failed"] == 1 and result["requeued"] == 0
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert status["status"] == "FAILED" and "stopped responding" in status["message"]
    assert capture_queue.take() == []
    assert sqs.receive_message(QueueUrl=capture_env.queue_url).get("Messages", []) == []
    reply = api("GET", "/captures/download", query={"id": capture_id})
    assert reply.status == 409 and "failed" in reply.body["message"]


def test_a_capture_whose_message_was_lost_is_failed_not_started_late(api, capture_queue, db) -> None:
    from tests.support import context
    from worker.sweeper import lambda_handler as sweeper

    capture_id = api("POST", "/captures", body={"duration": "60s"}).body["id"]
    capture_queue.take()  # the message is lost
    with db.cursor() as cur:
        cur.execute("UPDATE exports SET updated_at = now() - interval '1 hour' WHERE export_id = %s", (capture_id,))
    result = sweeper({}, context())
    assert result["failed"] == 1 and result["resent"] == 0
    assert api("GET", "/captures/status", query={"id": capture_id}).body["status"] == "FAILED"


def test_a_deleted_capture_loses_its_file(api, capture_queue, run_capture, s3, capture_env) -> None:
    capture_id = api("POST", "/captures", body={"duration": "1s"}).body["id"]
    run_capture(*capture_queue.take())
    key = api("GET", "/exports").body["items"][0]
    assert key["status"] == "completed"
    objects = s3.list_objects_v2(Bucket=capture_env.exports_bucket).get("Contents", [])
    assert [o["Key"].endswith(f"{capture_id}_" + o["Key"].rsplit("_", 1)[1]) for o in objects] == [True]
    assert objects[0]["Key"].endswith(".csv")
    assert api("DELETE", f"/exports/{capture_id}").status == 204
    assert s3.list_objects_v2(Bucket=capture_env.exports_bucket).get("KeyCount") == 0
    assert api("GET", "/captures/status", query={"id": capture_id}).status == 404
