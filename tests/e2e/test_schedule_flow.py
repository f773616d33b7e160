"""A schedule through the local stack: created over HTTP, fired by the local Scheduler, exported by the worker."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.e2e

FIRE_AND_EXPORT_SECONDS = 150


def test_a_rate_schedule_produces_a_completed_export(stack, as_user) -> None:
    # GIVEN a user with a schedule that runs every minute
    user = f"sched-{uuid.uuid4().hex[:8]}"
    http = as_user(user)
    body = {
        "name": "every minute",
        "target": {"query": {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}, "fields": ["observation.uuid"]},
        "expression": "rate(1 minute)",
    }
    created = http.post(stack.url("/schedules"), json=body, timeout=10)
    assert created.status_code == 201, created.text
    schedule = created.json()
    first = datetime.fromisoformat(schedule["next_runs"][0])
    assert 0 < (first - datetime.now(UTC)).total_seconds() <= 61
    # WHEN the first fire time passes THEN the schedule shows a run with an export, and the export completes
    deadline = time.monotonic() + FIRE_AND_EXPORT_SECONDS
    export = None
    while time.monotonic() < deadline:
        runs = http.get(stack.url(f"/schedules/{schedule['schedule_id']}"), timeout=10).json()["last_runs"]
        if runs and runs[-1]["export_id"]:
            export = http.get(stack.url(f"/exports/{runs[-1]['export_id']}"), timeout=10).json()
            if export["status"] in ("completed", "failed"):
                break
        time.sleep(1)
    assert export is not None, "no run recorded before the deadline"
    assert export["status"] == "completed", export
    assert export["creator_id"] == user and export["url"]
    (run, *_) = reversed(runs)
    assert datetime.fromisoformat(run["fire_time"]) >= first.replace(microsecond=0)
    # AND pausing it stops it: Scheduler shows no next runs
    paused = http.patch(stack.url(f"/schedules/{schedule['schedule_id']}"), json={"enabled": False}, timeout=10)
    assert paused.status_code == 200 and paused.json()["next_runs"] == []
