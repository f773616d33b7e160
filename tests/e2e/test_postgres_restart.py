"""PostgreSQL restarted (like an RDS reboot) under a running export and under API traffic."""

from __future__ import annotations

import threading
import time

import pytest

from local.services import restart_postgres
from tests.e2e.faults import finished_status, wait_for

pytestmark = pytest.mark.e2e

ANSWERS_AFTER = 50  # requests sent once the restart returned
TRAFFIC_REQUESTS_AT_MOST = 2_000


def _traffic(http, urls: list[str], stop: threading.Event, answers: list[tuple[float, int | str]]) -> None:
    """GETs in a loop until ``stop`` (bounded in count): (when it was sent, status or error name)."""
    for n in range(TRAFFIC_REQUESTS_AT_MOST):
        if stop.is_set():
            return
        sent = time.monotonic()
        try:
            answers.append((sent, http.get(urls[n % len(urls)], timeout=30).status_code))
        except Exception as error:  # a reset is an answer a user would see too
            answers.append((sent, type(error).__name__))


def test_a_postgres_restart_costs_no_5xx_once_it_is_back_and_the_running_export_completes(stack, as_user):
    # GIVEN an export the worker holds mid-stream (claimed, its read transaction and upload open)
    held = stack.fault_file.with_name(stack.fault_file.name + ".held")
    held.unlink(missing_ok=True)
    stack.fault_file.write_text("hold:mid_stream")
    alice = as_user("alice")
    request = {"query": {"method": "PLATFORM_EQUALS", "args": ["YOUTUBE"]}, "include_images": True}
    try:
        created = alice.post(stack.url("/exports"), json=request, timeout=30)
        assert created.status_code == 202, created.text
        export_url = stack.url(f"/exports/{created.json()['export_id']}")
        wait_for(held.exists, 60, "the worker holding the export mid-stream")
        # ... and a client reading its exports all along
        answers: list[tuple[float, int | str]] = []
        stop = threading.Event()
        traffic = threading.Thread(
            target=_traffic, args=(as_user("alice"), [export_url, stack.url("/exports")], stop, answers)
        )
        traffic.start()

        # WHEN PostgreSQL restarts (fast shutdown: every connection is dropped), then the worker goes on
        restart_postgres(stack.state_dir / "pgdata")
        back = time.monotonic()
    finally:
        stack.fault_file.unlink(missing_ok=True)
    wait_for(lambda: sum(1 for sent, _ in answers if sent > back) >= ANSWERS_AFTER, 90, "requests after the restart")
    stop.set()
    traffic.join(timeout=60)

    # THEN no request sent after the server was back got a 5xx or a reset
    after = [status for sent, status in answers if sent > back]
    assert after and all(isinstance(s, int) and s < 500 for s in after), sorted(set(map(str, after)))
    # ... and the export completed
    status = finished_status(alice, export_url, 200)
    assert status["status"] == "completed", f"{status}\n{stack.log_tail()}"
