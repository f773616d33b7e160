"""Captures on more than one core (``CAPTURE_PROCESSES`` > 1): every message in order, and no silent holes.

Real Redis, PostgreSQL and S3 (moto) as for every capture test. That two processes give the
golden capture's exact bytes is tested with the golden capture (tests/integration/test_golden_outputs.py).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import time

import pytest
import redis

from bench.nef_events import messages, subscribers
from tests.integration.test_capture_run import download_csv, publish, start_capture, wait_for_subscriber
from tests.integration.test_golden_outputs import row_workers


@pytest.fixture
def three_processes(run_capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The capture Lambda configured with CAPTURE_PROCESSES=3: the run reads, two children mask."""
    monkeypatch.setenv("CAPTURE_PROCESSES", "3")
    from capture import dependencies as capture_deps

    capture_deps.settings.cache_clear()
    capture_deps.capture.cache_clear()


def test_a_capture_whose_worker_process_dies_fails_and_says_so(
    api, capture_queue, run_capture, redis_server, three_processes
) -> None:
    # GIVEN the capture Lambda configured with three processes, and a 3 s capture that has subscribed
    publisher = redis.Redis.from_url(redis_server.url)
    capture_id, thread = start_capture(api, capture_queue, run_capture, "3s")
    wait_for_subscriber(publisher)
    workers = row_workers()
    assert len(workers) == 2
    publish(publisher, 200)
    # WHEN one of its worker processes is killed inside the window, and messages keep coming
    os.kill(workers[0].pid or 0, signal.SIGKILL)
    publish(publisher, 200, start=200)
    thread.join(timeout=15)

    # THEN the capture is failed, not completed with a hole, and its message names the dead worker
    assert not thread.is_alive()
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert status["status"] == "FAILED", status
    (listed,) = [e for e in api("GET", "/exports").body["items"] if e["export_id"] == capture_id]
    assert listed["status"] == "failed"
    assert "capture worker process" in listed["message"] and "exit code -9" in listed["message"]
    # AND no worker process is left behind
    deadline = time.monotonic() + 5
    while row_workers():
        assert time.monotonic() < deadline, "a worker process outlived its capture"
        time.sleep(0.05)
    # AND nothing was published as a download
    assert api("GET", "/captures/download", query={"id": capture_id}).status != 302


def test_a_capture_on_three_processes_keeps_every_message_in_order(
    api, capture_queue, run_capture, redis_server, three_processes
) -> None:
    # GIVEN the capture Lambda configured with three processes, and a 3 s capture that has subscribed
    publisher = redis.Redis.from_url(redis_server.url)
    capture_id, thread = start_capture(api, capture_queue, run_capture, "3s")
    wait_for_subscriber(publisher)
    # WHEN 3,000 NEF messages are published at once inside the window
    sent = _publish_at_once(publisher, 3000)
    thread.join(timeout=15)
    # THEN it completed with every message once, in the order published, masked
    assert thread.response == {"batchItemFailures": []}
    content = download_csv(api, capture_id)
    table = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert [json.loads(r["data"])["sequence"] for r in table] == [m["sequence"] for m in sent]
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert status["status"] == "COMPLETED" and status["rows"] == 3000
    assert all(r["user"].startswith("anon-") for r in table)
    assert sent[0]["supi"].encode() not in content


def _publish_at_once(client: redis.Redis, count: int) -> list[dict]:
    """``count`` numbered NEF messages in one pipeline, so they all land well inside the window."""
    stream = messages(subscribers(25), seed=3)
    sent = []
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        channel, text = next(stream)
        document = {**json.loads(text), "sequence": n}
        pipe.publish(channel, json.dumps(document))
        sent.append(document)
    pipe.execute()
    return sent
