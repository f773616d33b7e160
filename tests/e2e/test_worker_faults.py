"""A worker process killed at any point of an export: the export still ends completed, once, with one file.

The stack runs with fault injection on (``LOCAL_FAULT_FILE``): the worker process SIGKILLs
itself at the point the file names, as a Lambda container can be lost at any instruction.
The supervisor starts a new worker process, returns the messages the dead one held to the
queue and aborts its open upload; the lease and the sweeper do the rest.
"""

from __future__ import annotations

import io
import time
import zipfile

import psycopg2
import pytest
import requests

from local.faults import POINTS
from tests.e2e.faults import (
    completions_logged,
    finished_status,
    lambda_processes,
    objects_of,
    open_uploads_of,
    wait_for,
)

pytestmark = pytest.mark.e2e

# A lost job comes back after the worker's local lease (30 s) and a sweep (every 5 s in the tests);
# the deadline leaves room for a busy machine.
RECOVERY_TIMEOUT_SECONDS = 200


@pytest.fixture
def fault(stack):
    """Write a fault point for the worker; cleared afterwards whether it fired or not."""
    fired = stack.fault_file.with_name(stack.fault_file.name + ".fired")
    fired.unlink(missing_ok=True)

    def inject(point: str) -> None:
        stack.fault_file.write_text(point)

    yield inject
    stack.fault_file.unlink(missing_ok=True)
    fired.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def one_observer(stack) -> str:
    """An observer whose ads have images, so the export reads images from S3 while it streams."""
    conn = psycopg2.connect(stack.info["database_url"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT observer_id FROM observations ORDER BY observer_id LIMIT 1")
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize("point", POINTS)
def test_a_worker_killed_mid_export_still_completes_it_exactly_once(point, stack, as_user, fault, one_observer):
    # GIVEN the worker process will be killed at `point` of the next export
    fault(point)
    restarts_before = stack.log_text().count("worker process restarted")
    alice = as_user("alice")
    started = time.monotonic()

    # WHEN alice requests an export with images
    request = {"query": {"method": "OBSERVER_ID_CONTAINS", "args": [one_observer]}, "include_images": True}
    created = alice.post(stack.url("/exports"), json=request, timeout=30)
    assert created.status_code == 202, created.text
    export_id = created.json()["export_id"]

    # THEN the worker process died there and was started again
    wait_for(stack.fault_file.with_name("fault.fired").exists, 60, f"the worker dying at {point}")
    wait_for(lambda: stack.log_text().count("worker process restarted") > restarts_before, 60, "the worker restarted")
    # ... and the export completed anyway: once, one file in S3, no upload left open, a ZIP that opens
    status = finished_status(alice, stack.url(f"/exports/{export_id}"), RECOVERY_TIMEOUT_SECONDS)
    assert status["status"] == "completed", f"{status}\n{stack.log_tail()}"
    assert len(objects_of(stack, export_id)) == 1
    assert open_uploads_of(stack, export_id) == []
    assert completions_logged(stack, export_id) == 1
    archive = zipfile.ZipFile(io.BytesIO(requests.get(status["url"], timeout=60).content))
    assert "all_data.csv" in archive.namelist()
    print(
        f"\nkill point {point}: {status['status']} on attempt {status['attempt']} "
        f"after {time.monotonic() - started:.0f}s, {len(objects_of(stack, export_id))} object, "
        f"{len(open_uploads_of(stack, export_id))} open upload(s), {completions_logged(stack, export_id)} completion"
    )


def test_a_capture_process_killed_by_sigkill_is_started_again(stack):
    # GIVEN the stack's capture containers
    before = lambda_processes(stack, "local.capture_source")
    assert before, "the stack runs capture processes"
    victim = before[0]

    # WHEN one is killed as the OOM killer would
    victim.kill()

    # THEN the supervisor logs it and starts another; the stack keeps running and answering
    wait_for(
        lambda: f"process {victim.pid} killed by SIGKILL" in stack.log_text(), 30, "the supervisor noticing the death"
    )
    wait_for(lambda: len(lambda_processes(stack, "local.capture_source")) == len(before), 30, "a new capture process")
    assert victim.pid not in {p.pid for p in lambda_processes(stack, "local.capture_source")}
    assert requests.get(stack.url("/health"), timeout=10).status_code == 200
