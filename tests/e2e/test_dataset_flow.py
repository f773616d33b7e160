"""A dataset export through the local stack: the catalogue, a run, the CSV.gz download, an archiving run."""

from __future__ import annotations

import csv
import gzip
import io
import time

import psycopg2
import pytest
import requests

from exporter.settings import ADMIN_GROUP

pytestmark = pytest.mark.e2e

EXPORT_TIMEOUT_SECONDS = 120


def _finished(http: requests.Session, url: str) -> dict:
    deadline = time.monotonic() + EXPORT_TIMEOUT_SECONDS
    status: dict = {}
    while time.monotonic() < deadline:
        status = http.get(url, timeout=10).json()
        if status["status"] in ("completed", "failed"):
            return status
        time.sleep(0.5)
    raise TimeoutError(f"dataset export not finished after {EXPORT_TIMEOUT_SECONDS}s: {status}")


def _observed_days(database_url: str) -> tuple[str, str, int]:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT min(observed_at)::date, max(observed_at)::date, count(*) FROM observations")
            first, last, count = cur.fetchone()
    finally:
        conn.close()
    return first.isoformat(), last.isoformat(), int(count)


def test_any_user_exports_the_observations_dataset_and_downloads_its_csv_gz(stack, as_user) -> None:
    # GIVEN a signed-in user who sees the observations dataset in the catalogue
    bob = as_user("bob")
    catalogue = bob.get(stack.url("/datasets"), timeout=10).json()["items"]
    assert "observations" in [d["name"] for d in catalogue]
    first, last, count = _observed_days(stack.info["database_url"])

    # WHEN he exports every day of the demo data
    body = {"parameters": {"start_date": first, "end_date": last}}
    created = bob.post(stack.url("/datasets/observations/exports"), json=body, timeout=10)
    assert created.status_code == 202, created.text
    status = _finished(bob, stack.url(f"/exports/{created.json()['export_id']}"))

    # THEN the link downloads a CSV.gz with a header and one row per observation
    assert status["status"] == "completed", status
    download = requests.get(status["url"], timeout=60)
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(download.content).decode("utf-8"))))
    assert len(rows) == count and {"observation_id", "platform", "observed_at"} <= set(rows[0])


def test_an_admin_archives_a_ckb_task_and_its_rows_are_gone_from_the_database(stack, as_user) -> None:
    admin = as_user("operator", [ADMIN_GROUP])
    conn = psycopg2.connect(stack.info["database_url"])
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO ckb.source_run_page (source_id, run_id, page_url, http_status) "
                "VALUES (1, gen_random_uuid(), 'https://e2e.example/p', 200)"
            )
            cur.execute("SELECT count(*) FROM ckb.source_run_page")
            (before,) = cur.fetchone()
        created = admin.post(stack.url("/datasets/source_run_page/exports"), json={}, timeout=10)
        assert created.status_code == 202, created.text
        status = _finished(admin, stack.url(f"/exports/{created.json()['export_id']}"))
        assert status["status"] == "completed", status
        rows = list(
            csv.DictReader(io.StringIO(gzip.decompress(requests.get(status["url"], timeout=60).content).decode()))
        )
        assert len(rows) >= before
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM ckb.source_run_page")
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
