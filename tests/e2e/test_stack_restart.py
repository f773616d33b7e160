"""A job left pending when the stack stopped runs when it starts again (moto's queues start empty)."""

from __future__ import annotations

import shutil

import psycopg2
import pytest
import requests

from tests.e2e.conftest import new_state_dir, running_stack
from tests.e2e.faults import finished_status

pytestmark = pytest.mark.e2e

COPY_AS_PENDING = """
INSERT INTO exports (export_id, creator_id, kind, dataset, parameters, include_images, query_string,
                     status, attempt, max_retries, created_at, updated_at)
SELECT gen_random_uuid(), creator_id, kind, dataset, parameters, include_images, query_string,
       'pending', 1, max_retries, now(), now()
FROM exports WHERE export_id = %s
RETURNING export_id::text
"""
COPY_FIELDS = """
INSERT INTO export_fields (export_id, field_id, position)
SELECT %s, field_id, position FROM export_fields WHERE export_id = %s
"""


def _session(stack, user_id: str) -> requests.Session:
    token = requests.post(stack.info["token_url"], json={"user_id": user_id}, timeout=30).json()["access_token"]
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def _pending_copy(database_url: str, export_id: str) -> str:
    """A pending job of the same request whose queue message never existed (as if the queue lost it)."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(COPY_AS_PENDING, (export_id,))
            row = cur.fetchone()
            assert row is not None
            cur.execute(COPY_FIELDS, (row[0], export_id))
            return str(row[0])
    finally:
        conn.close()


def test_a_job_pending_when_the_stack_stopped_completes_after_the_next_start():
    state_dir = new_state_dir()
    try:
        # GIVEN a stack where alice has a finished export and a pending one whose message is gone
        with running_stack(state_dir, "first.log") as first:
            alice = _session(first, "alice")
            request = {"query": {"method": "PLATFORM_EQUALS", "args": ["TIKTOK"]}}
            created = alice.post(first.url("/exports"), json=request, timeout=30)
            assert created.status_code == 202, created.text
            done_id = created.json()["export_id"]
            assert finished_status(alice, first.url(f"/exports/{done_id}"), 120)["status"] == "completed"
            pending_id = _pending_copy(first.info["database_url"], done_id)

        # WHEN the stack is started again on the same state (PostgreSQL kept, moto's queues new and empty)
        with running_stack(state_dir, "second.log") as second:
            alice = _session(second, "alice")

            # THEN the pending export runs within a minute, not after the 20-minute stale-pending sweep
            status = finished_status(alice, second.url(f"/exports/{pending_id}"), 90)
            assert status["status"] == "completed", f"{status}\n{second.log_tail()}"
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
