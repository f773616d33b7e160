"""A capture outlives a Redis outage longer than its lease: the lease is kept, the open gap shows, the file lands."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import boto3
import redis

from exporter.adapters.postgres import Database, connect_url
from exporter.adapters.s3 import S3Store
from exporter.captures.kind import CAPTURE
from exporter.captures.masking import Masker
from exporter.captures.model import CaptureMessage, CaptureParameters
from exporter.captures.run import CaptureRun
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts, Outcome, run_job
from exporter.jobs.repository import JobsRepository
from exporter.jobs.sweeper import sweep
from local.services import start_redis

LEASE_SECONDS = 2
OUTAGE_SECONDS = 3 * LEASE_SECONDS


def _wait(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_redis_away_longer_than_the_lease_ends_completed_with_the_gap(postgres, service_env) -> None:
    # GIVEN a Redis of this test's own and a 12 s capture whose lease is 2 s
    server = start_redis()
    jobs = JobsRepository(Database(lambda: connect_url(postgres.url)))
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id="alice",
        kind=CAPTURE.kind,
        dataset=CAPTURE.dataset,
        parameters=CaptureParameters(duration_seconds=12),
        max_retries=0,
    )
    body = CaptureRun(
        redis=lambda: redis.Redis.from_url(server.url, socket_timeout=1, socket_connect_timeout=1),
        masker=Masker(b"k" * 32),
        max_seconds=840,
    )
    ports = LifecyclePorts(jobs=jobs, store=S3Store(boto3.client("s3"), service_env.exports_bucket), queue=None)
    config = LifecycleConfig(
        lease_seconds=LEASE_SECONDS, progress_interval_seconds=0.5, part_size_bytes=5 * 1024 * 1024, expiration_days=7
    )
    message = CaptureMessage(export_id=export.export_id, creator_id="alice")
    outcome: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: outcome.update(result=run_job(message, CAPTURE, body, ports, config, owner="run")), daemon=True
    )
    runner.start()
    _wait(lambda: redis.Redis.from_url(server.url).pubsub_numpat() >= 1, "the capture to subscribe")

    # WHEN Redis is gone for three times the lease, while the sweeper keeps running
    server.stop()
    swept_failed: list[uuid.UUID] = []
    seen_open_gap = False
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < outage_ends:
        swept_failed += sweep(jobs, ports.queue or _NoQueue()).failed  # type: ignore[arg-type]
        row = jobs.get(export.export_id)
        assert row is not None
        gaps = row.details.get("gaps") or []
        seen_open_gap = seen_open_gap or any(g["end"] is None for g in gaps)
        time.sleep(0.25)
    server = start_redis(port=server.port)
    publisher = redis.Redis.from_url(server.url)
    try:
        _wait(lambda: publisher.pubsub_numpat() >= 1, "the capture to resubscribe")
        for n in range(5):
            publisher.publish("broadcast:events", f'{{"n": {n}}}')
        runner.join(timeout=30)
    finally:
        server.stop()

    # THEN the sweeper never failed it, the open gap was visible meanwhile, and it completed with the gap
    assert swept_failed == []
    assert seen_open_gap, "an open gap should show while Redis is away"
    assert outcome["result"].outcome is Outcome.COMPLETED
    done = jobs.get(export.export_id)
    assert done is not None and done.status.value == "completed" and done.progress.rows_written == 5
    (gap,) = done.details["gaps"]
    assert gap["end"] is not None and done.message is not None and "1 time(s)" in done.message


class _NoQueue:
    def send(self, message: Any, *, delay_seconds: int = 0) -> None:
        raise AssertionError("a capture is never resent")
