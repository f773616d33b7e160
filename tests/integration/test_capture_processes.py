"""Captures on more than one core (``CAPTURE_PROCESSES`` > 1): the same CSV, and no silent holes.

Real Redis, PostgreSQL and S3 (moto) as for every capture test; the fixed capture, key, stream
and clock are the golden capture's (tests/integration/test_golden_outputs.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

import boto3
import pytest
import redis

from bench.nef_events import messages, subscribers
from exporter.adapters.s3 import S3Store
from exporter.captures.kind import CAPTURE
from exporter.captures.masking import Masker
from exporter.captures.model import CaptureMessage, CaptureParameters
from exporter.captures.rows import capture_row
from exporter.captures.run import CaptureRun
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts, Outcome, run_job
from exporter.jobs.repository import JobsRepository
from tests.integration.test_capture_run import download_csv, publish, start_capture, wait_for_subscriber
from tests.integration.test_golden_outputs import (  # noqa: F401  (fixed_clocks, utc_database: fixtures)
    CAPTURE_EPOCH,
    CAPTURE_ID,
    CAPTURE_RUN_CSV_SHA256,
    CREATOR_ID,
    MASKING_KEY,
    MESSAGES,
    OWNER,
    _csv_bytes,
    _fix_creation_times,
    fixed_clocks,
    utc_database,
)


def _row_workers() -> list[BaseProcess]:
    return [child for child in multiprocessing.active_children() if child.name.startswith("capture-rows-")]


@pytest.fixture
def three_processes(run_capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The capture Lambda configured with CAPTURE_PROCESSES=3: the run reads, two children mask."""
    monkeypatch.setenv("CAPTURE_PROCESSES", "3")
    from capture import dependencies as capture_deps

    capture_deps.settings.cache_clear()
    capture_deps.capture.cache_clear()


def test_a_real_capture_on_two_processes_has_the_golden_bytes(
    service_env,
    redis_server,
    utc_database,  # noqa: F811
    fixed_clocks,  # noqa: F811
) -> None:
    """With CAPTURE_PROCESSES=2 the uploaded CSV of the golden stream, key, id and clock is the golden CSV."""
    # GIVEN the golden capture (id, creator, 2 s window on broadcast:*), run with two processes
    jobs = JobsRepository(utc_database())
    jobs.create(
        export_id=CAPTURE_ID,
        creator_id=CREATOR_ID,
        parameters=CaptureParameters(duration_seconds=2),
        max_retries=0,
        kind=CAPTURE.kind,
        dataset=CAPTURE.dataset,
    )
    _fix_creation_times(utc_database(), CAPTURE_ID)
    s3 = boto3.client("s3")
    ports = LifecyclePorts(jobs=jobs, store=S3Store(s3, service_env.exports_bucket), queue=None)
    body = CaptureRun(
        redis=lambda: redis.Redis.from_url(redis_server.url), masker=Masker(MASKING_KEY), max_seconds=840, processes=2
    )
    config = LifecycleConfig(
        lease_seconds=60, progress_interval_seconds=0.2, part_size_bytes=5 * 1024 * 1024, expiration_days=7
    )
    outcome: dict[str, Any] = {}
    message = CaptureMessage(export_id=CAPTURE_ID, creator_id=CREATOR_ID)
    thread = threading.Thread(
        target=lambda: outcome.update(result=run_job(message, CAPTURE, body, ports, config, owner=OWNER)),
        daemon=True,
    )
    publisher = redis.Redis.from_url(redis_server.url)
    subscribers_before = publisher.pubsub_numpat()

    # WHEN the golden messages are published inside the window
    thread.start()
    deadline = time.monotonic() + 5
    while publisher.pubsub_numpat() <= subscribers_before:
        assert time.monotonic() < deadline, "the capture never subscribed"
        time.sleep(0.01)
    assert len(_row_workers()) == 1  # the run reads; one child masks
    for channel, payload in MESSAGES:
        publisher.publish(channel, payload)
    thread.join(timeout=15)

    # THEN the capture completed with every message once, and its child ended with the window
    assert outcome["result"].outcome is Outcome.COMPLETED and outcome["result"].rows == len(MESSAGES)
    assert _row_workers() == []
    key = f"outputs/{CREATOR_ID}_{CAPTURE_ID}_20260314092653.csv"
    content = s3.get_object(Bucket=service_env.exports_bucket, Key=key)["Body"].read()
    masker = Masker(MASKING_KEY).for_capture(str(CAPTURE_ID), link_across_captures=False)
    assert content == _csv_bytes([capture_row(masker, c, p, CAPTURE_EPOCH) for c, p in MESSAGES])
    # AND the bytes are the golden bytes of the one-process run
    assert hashlib.sha256(content).hexdigest() == CAPTURE_RUN_CSV_SHA256


def test_a_capture_whose_worker_process_dies_fails_and_says_so(
    api, capture_queue, run_capture, redis_server, three_processes
) -> None:
    # GIVEN the capture Lambda configured with three processes, and a 3 s capture that has subscribed
    publisher = redis.Redis.from_url(redis_server.url)
    capture_id, thread = start_capture(api, capture_queue, run_capture, "3s")
    wait_for_subscriber(publisher)
    workers = _row_workers()
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
    while _row_workers():
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
