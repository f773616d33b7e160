"""A user's export from request to download, through the API, the queue, the worker and S3."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile

import psycopg2
import pytest
import requests

from exporter.settings import ADMIN_GROUP
from local.demo_data import is_missing

pytestmark = pytest.mark.e2e

EXPORT_TIMEOUT_SECONDS = 120
OBSERVERS_SELECTED = 3


def _wait_until_finished(http: requests.Session, url: str) -> dict:
    deadline = time.monotonic() + EXPORT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        status = http.get(url, timeout=10).json()
        if status["status"] in ("completed", "failed"):
            return status
        time.sleep(0.5)
    raise TimeoutError(f"export not finished after {EXPORT_TIMEOUT_SECONDS}s: {status}")


def _selected_observations(database, observers: list[str]) -> dict[str, list[str]]:
    """Observation id → its media keys, for the observations of ``observers``."""
    with database.cursor() as cur:
        cur.execute("SELECT observation_id, rdo->'media' FROM observations WHERE observer_id = ANY(%s)", (observers,))
        return {observation_id: media for observation_id, media in cur.fetchall()}


def _observers_with_a_missing_image_first(database_url: str) -> list[str]:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT observer_id, rdo->'media' FROM observations ORDER BY observer_id, observation_id")
            rows = cur.fetchall()
    finally:
        conn.close()
    lacking = {observer for observer, media in rows if any(is_missing(key) for key in media)}
    return sorted({observer for observer, _media in rows}, key=lambda observer: (observer not in lacking, observer))


@pytest.fixture(scope="module")
def completed_export(stack, as_user):
    """Alice's export of three observers' ads with images, finished and downloaded."""
    observers = _observers_with_a_missing_image_first(stack.info["database_url"])[:OBSERVERS_SELECTED]
    alice = as_user("alice")
    request = {"query": {"method": "OBSERVER_ID_CONTAINS", "args": observers}, "include_images": True}
    created = alice.post(stack.url("/exports"), json=request, timeout=10)
    assert created.status_code == 202, created.text
    export_id = created.json()["export_id"]
    status = _wait_until_finished(alice, stack.url(f"/exports/{export_id}"))
    download = requests.get(status["url"], timeout=60) if status.get("url") else None
    return {"observers": observers, "created": created.json(), "status": status, "download": download}


def test_a_requested_export_is_accepted_as_pending_for_its_creator(completed_export):
    # GIVEN alice asked for the ads of three observers (the fixture's request)
    created = completed_export["created"]

    # THEN the API accepted it as hers, not yet finished, without a download link
    assert created["creator_id"] == "alice"
    assert created["status"] in ("pending", "processing")
    assert created["url"] is None


def test_the_worker_completes_the_export_and_the_link_downloads_a_zip(completed_export, stack):
    # WHEN alice polls her export until it is finished
    status, download = completed_export["status"], completed_export["download"]

    # THEN it completed, with a link that downloads a ZIP
    assert status["status"] == "completed", f"{status}\n{stack.log_tail()}"
    assert status["progress"]["rows_written"] == status["progress"]["rows_total"]
    assert download is not None and download.status_code == 200
    assert zipfile.is_zipfile(io.BytesIO(download.content))


def test_the_zip_holds_every_selected_ad_once(completed_export, database):
    # GIVEN the observations the query selects, read from the database
    expected = _selected_observations(database, completed_export["observers"])
    assert expected, "the demo data has ads for the selected observers"

    # WHEN the downloaded ZIP is opened
    archive = zipfile.ZipFile(io.BytesIO(completed_export["download"].content))
    names = set(archive.namelist())
    rows = list(csv.DictReader(io.StringIO(archive.read("all_data.csv").decode("utf-8-sig"))))

    # THEN the CSV has one row per selected observation and each has its data.json
    assert len(rows) == len(expected)
    assert "export_details.json" in names
    for observation_id in expected:
        assert f"ads/{observation_id}/data.json" in names
        data = json.loads(archive.read(f"ads/{observation_id}/data.json"))
        assert observation_id in json.dumps(data)


def test_images_are_in_the_zip_and_the_missing_ones_are_reported(completed_export, database):
    # GIVEN the media of the selected ads, some deliberately absent from the source bucket
    expected = _selected_observations(database, completed_export["observers"])
    present = sum(1 for keys in expected.values() for key in keys if not is_missing(key))
    missing = sum(1 for keys in expected.values() for key in keys if is_missing(key))

    # WHEN the ZIP is opened
    archive = zipfile.ZipFile(io.BytesIO(completed_export["download"].content))
    images = [name for name in archive.namelist() if name.endswith(".jpg")]
    details = json.loads(archive.read("export_details.json"))

    # THEN every uploaded image is there as a real JPEG, and the export counts the missing ones
    assert len(images) == present
    assert all(archive.read(name)[:3] == b"\xff\xd8\xff" for name in images)
    assert missing > 0, "the selection includes a deliberately missing image"
    assert details["missing_images_count"] == missing
    reported = {(item["observation_id"], item["key"]) for item in details["missing_images"]}
    assert all(key in expected[observation_id] and is_missing(key) for observation_id, key in reported)


def test_another_user_cannot_see_the_export_but_an_admin_can(completed_export, stack, as_user):
    # GIVEN alice's export
    url = stack.url(f"/exports/{completed_export['created']['export_id']}")

    # WHEN bob and an admin ask for it
    as_bob = as_user("bob").get(url, timeout=10)
    as_admin = as_user("dana", [ADMIN_GROUP]).get(url, timeout=10)

    # THEN it does not exist for bob, and the admin (a group claim passed on by the gateway) sees it
    assert as_bob.status_code == 404
    assert as_admin.status_code == 200
    assert as_admin.json()["creator_id"] == "alice"
