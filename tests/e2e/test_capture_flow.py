"""A capture from request to CSV over HTTP: the API, the capture queue, the capture Lambda, Redis, S3."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator

import pytest
import redis
import requests

from bench.nef_events import messages, subscribers

pytestmark = pytest.mark.e2e

# Identities of the test's own (not the demo publisher's seed), so their absence means something.
UES = subscribers(12, seed=4242)
RATE_PER_SECOND = 100
CAPTURE_TIMEOUT_SECONDS = 30
CSV_COLUMNS = ["timestamp", "channel", "event", "user", "data"]


class Publisher(threading.Thread):
    """NEF event-exposure messages on broadcast:* at a steady rate until stopped."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(daemon=True, name="nef-publisher")
        self._client = redis.Redis.from_url(redis_url)
        self._halt = threading.Event()
        self.sent = 0

    def run(self) -> None:
        stream = messages(UES, seed=99)
        while not self._halt.wait(1 / RATE_PER_SECOND):
            self._client.publish(*next(stream))
            self.sent += 1

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        self._client.close()


def _wait_completed(http: requests.Session, url: str) -> dict:
    deadline = time.monotonic() + CAPTURE_TIMEOUT_SECONDS
    seen = []
    while time.monotonic() < deadline:
        status = http.get(url, timeout=10).json()
        seen.append((status["status"], status["remainingTime"]))
        if status["status"] in ("COMPLETED", "FAILED", "EXPIRED"):
            status["seen"] = seen
            return dict(status)
        time.sleep(0.3)
    raise TimeoutError(f"capture not finished after {CAPTURE_TIMEOUT_SECONDS}s: {seen[-5:]}")


@pytest.fixture(scope="module")
def capture(stack, as_user) -> Iterator[dict]:
    """Alice's 3-second capture while NEF events are being published, completed and downloaded."""
    publisher = Publisher(stack.info["redis_url"])
    publisher.start()
    try:
        alice = as_user("alice")
        started = alice.post(stack.url("/captures"), json={"duration": "3s"}, timeout=10)
        assert started.status_code == 202, started.text
        capture_id = started.json()["id"]
        status = _wait_completed(alice, stack.url(f"/captures/status?id={capture_id}"))
    finally:
        publisher.stop()
    download = alice.get(stack.url(f"/captures/download?id={capture_id}"), allow_redirects=False, timeout=10)
    csv_bytes = requests.get(download.headers["Location"], timeout=30).content if download.status_code == 302 else b""
    yield {
        "id": capture_id,
        "started": started.json(),
        "status": status,
        "download": download,
        "csv": csv_bytes,
        "sent": publisher.sent,
    }


def test_the_stack_offers_captures_on_its_own_queue(stack):
    # THEN stack.json names the capture queue the API sends to
    assert stack.info["capture_queue_url"].endswith("/export-service-captures")


def test_a_capture_is_accepted_runs_its_window_and_completes(capture):
    # GIVEN alice asked for a 3-second capture while events were being published
    started, status = capture["started"], capture["status"]

    # THEN it was accepted as running for 3 s, and completed with the messages it saw, without gaps
    assert started["status"] == "IN_PROGRESS" and started["duration"] == 3 and started["channel"] == "broadcast:*"
    assert status["status"] == "COMPLETED", status
    assert status["remainingTime"] == 0 and status["gaps"] == [] and status["message"] is None
    assert 0 < status["rows"] <= capture["sent"]


def test_the_download_redirects_to_a_csv_of_masked_messages(capture):
    # WHEN alice downloads her capture
    download, body = capture["download"], capture["csv"]

    # THEN the API redirects to a presigned URL of a CSV with one row per captured message
    assert download.status_code == 302, download.text
    assert "X-Amz-Signature=" in download.headers["Location"]
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows[0] == CSV_COLUMNS
    assert len(rows) - 1 == capture["status"]["rows"]
    assert {row[1].split(":")[0] for row in rows[1:]} == {"broadcast"}
    assert all(row[2] and row[3] and row[4].startswith("{") for row in rows[1:])

    # AND no identity the test published appears anywhere in the bytes, in any of its forms
    leaked = [raw for ue in UES for raw in ue.raw() if raw.encode() in body]
    assert leaked == []


def test_another_user_cannot_see_or_download_the_capture(capture, stack, as_user):
    # WHEN bob asks for alice's capture
    bob = as_user("bob")
    status = bob.get(stack.url(f"/captures/status?id={capture['id']}"), timeout=10)
    download = bob.get(stack.url(f"/captures/download?id={capture['id']}"), allow_redirects=False, timeout=10)

    # THEN it does not exist for him
    assert (status.status_code, download.status_code) == (404, 404)


def test_the_seeds_paths_answer_the_same_capture(capture, stack, as_user):
    # WHEN alice uses the seed's own paths
    alice = as_user("alice")
    base = stack.url("/dataset-exporter/v1/captures")
    status = alice.get(f"{base}/status?id={capture['id']}", timeout=10)
    download = alice.get(f"{base}/download?id={capture['id']}", allow_redirects=False, timeout=10)

    # THEN they answer the same capture, with download paths of their own
    assert status.status_code == 200 and status.json()["status"] == "COMPLETED"
    assert status.json()["downloadPath"] == f"/dataset-exporter/v1/captures/download?id={capture['id']}"
    assert download.status_code == 302
    assert requests.get(download.headers["Location"], timeout=30).content == capture["csv"]


def test_the_stack_log_follows_the_capture(capture, stack):
    # THEN the capture emulator said when the window started and how it ended
    log = stack.log_file.read_text(errors="replace")
    assert f"capture {capture['id']} started: 3 s on broadcast:* for alice" in log
    assert f"capture {capture['id']} completed: window " in log
