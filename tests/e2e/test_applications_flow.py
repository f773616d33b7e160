"""Application sources through the local stack: the demo applications answer, the parts are zipped."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile

import pytest
import requests

pytestmark = pytest.mark.e2e

API = "/api/export/v1"
EXPORT_TIMEOUT_SECONDS = 120


def _settled(http: requests.Session, url: str) -> dict:
    deadline = time.monotonic() + EXPORT_TIMEOUT_SECONDS
    export: dict = {}
    while time.monotonic() < deadline:
        export = http.get(url, timeout=10).json()
        if export["status"] in ("complete", "partial", "failed"):
            return export
        time.sleep(0.5)
    raise TimeoutError(f"applications export not settled after {EXPORT_TIMEOUT_SECONDS}s: {export}")


def _download(http: requests.Session, url: str) -> zipfile.ZipFile:
    redirect = http.get(url, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302, redirect.text
    archive = requests.get(redirect.headers["Location"], timeout=60)
    assert archive.status_code == 200
    return zipfile.ZipFile(io.BytesIO(archive.content))


def test_both_demo_applications_make_a_partial_export_with_the_inventory_csv_and_the_advisor_error(
    stack, as_user
) -> None:
    # GIVEN a user asking both demo applications for their resources, hosts filtered by name
    carol = as_user("carol")
    body = {
        "name": "fleet review",
        "format": "csv",
        "sources": [
            {"application": "inventory", "resource": "hosts", "filters": {"name": "web"}},
            {"application": "advisor", "resource": "recommendations"},
        ],
    }

    # WHEN the export is requested and both applications have answered
    created = carol.post(stack.url(f"{API}/exports"), json=body, timeout=10)
    assert created.status_code == 202, created.text
    export_id = created.json()["id"]
    export = _settled(carol, stack.url(f"{API}/exports/{export_id}/status"))

    # THEN it is partial: the inventory uploaded, the advisor's error is recorded
    assert export["status"] == "partial", export
    by_app = {s["application"]: s for s in export["sources"]}
    assert by_app["inventory"]["status"] == "uploaded"
    assert by_app["advisor"]["status"] == "failed"
    assert "demo advisor" in by_app["advisor"]["message"]

    # AND the ZIP holds the inventory CSV (web hosts only) and a manifest with the advisor's error
    archive = _download(carol, stack.url(f"{API}/exports/{export_id}"))
    hosts = list(csv.DictReader(io.StringIO(archive.read("inventory/hosts.csv").decode())))
    assert hosts and all("web" in host["name"] for host in hosts)
    manifest = json.loads(archive.read("manifest.json"))
    sources = manifest["sources"] if isinstance(manifest, dict) else manifest
    advisor = next(s for s in sources if s["application"] == "advisor")
    assert advisor["status"] == "failed" and "demo advisor" in json.dumps(advisor)
    assert "advisor/recommendations.csv" not in archive.namelist()


def test_an_export_of_the_inventory_alone_is_complete_and_downloads_as_json(stack, as_user) -> None:
    # GIVEN a user asking the inventory alone, in JSON
    dave = as_user("dave")
    body = {"name": "hosts", "format": "json", "sources": [{"application": "inventory", "resource": "hosts"}]}

    # WHEN it is requested and the inventory has answered
    created = dave.post(stack.url(f"{API}/exports"), json=body, timeout=10)
    assert created.status_code == 202, created.text
    export_id = created.json()["id"]
    export = _settled(dave, stack.url(f"{API}/exports/{export_id}/status"))

    # THEN it is complete and the ZIP holds every demo host
    assert export["status"] == "complete", export
    archive = _download(dave, stack.url(f"{API}/exports/{export_id}"))
    assert len(json.loads(archive.read("inventory/hosts.json"))) == 20


def test_the_internal_api_refuses_a_wrong_key_without_any_user_token(stack) -> None:
    # GIVEN no bearer token and a key that is not the inventory's
    url = stack.url("/app/export/v1/00000000-0000-0000-0000-000000000000/inventory/hosts/upload")

    # WHEN an upload is attempted through the gateway
    answer = requests.post(url, data=b"id\n", headers={"x-rh-exports-psk": "wrong", "Content-Type": "text/csv"})

    # THEN the internal API itself answers 401 (the gateway's JWT check does not apply there)
    assert answer.status_code == 401, answer.text
