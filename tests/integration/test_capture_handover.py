"""A capture window longer than one run: the runs hand over, the CSV stays one file, and every message
not in it was published inside a hand-over the capture records as a gap."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from datetime import datetime

import pytest
import redis

from exporter.captures.rows import CSV_HEADER
from tests.integration.test_capture_run import download_csv, wait_for_subscriber

WINDOW_SECONDS = 4
RUN_SECONDS = 1.5  # so three runs: two hand-overs
# A message published this close before a hand-over may still be on its way to the run that stops.
IN_FLIGHT_SECONDS = 0.05


class Publisher(threading.Thread):
    """Numbered messages on broadcast:* every few milliseconds, each with the time it was published."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__(daemon=True)
        self._client = client
        self.published: list[tuple[int, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            at = time.time()
            self._client.publish(
                "broadcast:ue", json.dumps({"event": "UE_SEEN", "sequence": n, "supi": f"imsi-00101{n:010d}"})
            )
            self.published.append((n, at))
            n += 1
            time.sleep(0.003)


def runs_of_the_capture(capture_queue, run_capture, first: str, *, deadline: float) -> int:
    """Run the capture's message, then every next run's message it queues, until none comes; the runs."""
    runs, body = 0, first
    while True:
        assert run_capture(body) == {"batchItemFailures": []}
        runs += 1
        queued = capture_queue.take()
        if not queued:
            return runs
        assert len(queued) == 1 and time.monotonic() < deadline, queued
        (body,) = queued


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def short_runs(capture_env, monkeypatch: pytest.MonkeyPatch) -> None:
    from capture import dependencies

    monkeypatch.setenv("RUN_SECONDS", str(RUN_SECONDS))
    monkeypatch.setenv("CHECKPOINT_RESERVE_SECONDS", "0")
    dependencies.settings.cache_clear()
    dependencies.capture.cache_clear()


def test_a_window_longer_than_a_run_is_one_csv_with_every_hand_over_recorded_as_a_gap(
    api, capture_queue, run_capture, redis_server, short_runs, db
) -> None:
    # GIVEN a 4 s capture, runs of 1.5 s, and a publisher sending numbered messages throughout
    capture_id = api("POST", "/captures", body={"duration": f"{WINDOW_SECONDS}s"}).body["id"]
    (first,) = capture_queue.take()
    client = redis.Redis.from_url(redis_server.url)
    publisher = Publisher(client)
    runner = threading.Thread(
        daemon=True,
        target=lambda: result.append(
            runs_of_the_capture(capture_queue, run_capture, first, deadline=time.monotonic() + 60)
        ),
    )
    result: list[int] = []

    # WHEN the capture runs, one run after another, while messages are published
    runner.start()
    wait_for_subscriber(client, timeout=30)
    publisher.start()
    runner.join(timeout=120)
    publisher.stop.set()
    publisher.join(timeout=10)

    # THEN it took three runs and completed
    assert result == [3]
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert status["status"] == "COMPLETED", status
    # AND the two hand-overs are its gaps, said in its message
    gaps = [(at(g["start"]), at(g["end"])) for g in status["gaps"]]
    assert len(gaps) == 2 and all(start <= end for start, end in gaps), status["gaps"]
    assert "the capture went on in 2 next run(s)" in status["message"]
    assert "Redis disconnected" not in status["message"]
    # AND the CSV is one file: the header once, the messages in the order they were published
    table = list(csv.reader(io.StringIO(download_csv(api, capture_id).decode("utf-8"))))
    assert tuple(table[0]) == CSV_HEADER
    assert [row for row in table[1:] if tuple(row) == CSV_HEADER] == []
    captured = [json.loads(row[4])["sequence"] for row in table[1:]]
    assert captured == sorted(set(captured)) and len(captured) == status["rows"]
    assert all("imsi-" not in row[4] for row in table[1:])  # still masked after the hand-overs
    # AND every message published inside the window but not captured was published inside a gap
    window_start, window_end = at(table[1][0]), at(table[-1][0])
    seen = set(captured)
    missing = [(n, when) for n, when in publisher.published if n not in seen and window_start < when < window_end]
    outside = [
        (n, when) for n, when in missing if not any(start - IN_FLIGHT_SECONDS <= when <= end for start, end in gaps)
    ]
    assert outside == [], (outside[:5], gaps)
    # AND each of the three runs recorded messages in its stretch of the window
    received = [at(row[0]) for row in table[1:]]
    stretches = [(window_start, gaps[0][0]), (gaps[0][1], gaps[1][0]), (gaps[1][1], window_end)]
    assert all(any(start <= t <= end for t in received) for start, end in stretches), stretches


def test_without_a_queue_for_a_next_run_a_capture_keeps_its_whole_window_in_one_run(
    api, capture_queue, run_capture, redis_server, short_runs, monkeypatch: pytest.MonkeyPatch, db
) -> None:
    # GIVEN a 2 s capture, and a capture function that has runs of 1.5 s but no queue to start a next run on
    capture_id = api("POST", "/captures", body={"duration": "2s"}).body["id"]
    (first,) = capture_queue.take()
    from capture import dependencies

    monkeypatch.delenv("CAPTURE_QUEUE_URL")
    dependencies.settings.cache_clear()
    dependencies.capture.cache_clear()

    # WHEN it runs
    started = time.monotonic()
    assert run_capture(first) == {"batchItemFailures": []}

    # THEN it recorded the whole window in that run: completed, no gap, nothing queued
    assert time.monotonic() - started >= 2.0
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert (status["status"], status["gaps"], status["message"]) == ("COMPLETED", [], None)
    assert capture_queue.take() == []


def test_a_run_lost_after_a_hand_over_is_gone_on_from_not_failed(
    api, capture_queue, run_capture, redis_server, short_runs, db, capture_env
) -> None:
    from tests.support import context
    from worker.sweeper import lambda_handler as sweeper

    # GIVEN a 3 s capture whose first run handed over, and whose next run then died without a trace
    capture_id = api("POST", "/captures", body={"duration": "3s"}).body["id"]
    (first,) = capture_queue.take()
    assert run_capture(first) == {"batchItemFailures": []}
    (next_run,) = capture_queue.take()
    with db.cursor() as cur:
        cur.execute(
            "UPDATE exports SET status = 'processing', lease_owner = 'lost', "
            "lease_expires_at = now() - interval '1 second', updated_at = now() - interval '1 hour' "
            "WHERE export_id = %s",
            (capture_id,),
        )

    # WHEN the sweeper runs (its stale-pending resend included)
    sweeper({}, context())

    # THEN the capture waits, pending with the same attempt, for its message to come back
    row = api("GET", f"/exports/{capture_id}").body
    assert (row["status"], row["attempt"]) == ("pending", 1), row
    assert row["message"] == "a run stopped responding; going on from its last checkpoint"
    with db.cursor() as cur:
        cur.execute("UPDATE exports SET updated_at = now() - interval '1 hour' WHERE export_id = %s", (capture_id,))
    sweeper({}, context())
    assert api("GET", f"/exports/{capture_id}").body["status"] == "pending"
    assert capture_queue.take() == []

    # AND when the message comes back, the capture goes on from its checkpoint to the window's end
    assert runs_of_the_capture(capture_queue, run_capture, next_run, deadline=time.monotonic() + 60) >= 1
    status = api("GET", "/captures/status", query={"id": capture_id}).body
    assert status["status"] == "COMPLETED", status
    assert "the capture went on in" in status["message"] and "Redis disconnected" not in status["message"]
