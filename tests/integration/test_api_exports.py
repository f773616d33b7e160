"""Exports as a user sees them: listing, pagination, deletion, sharing, expiry, a lost enqueue."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from local.observations import insert_observations
from tests.support import observation

QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}


def test_request_is_accepted_queued_and_described(api, jobs_queue) -> None:
    body = {"query": QUERY, "fields": ["tags", "observer.uuid"], "include_images": True}
    reply = api("POST", "/exports", body=body)
    assert reply.status == 202
    status = reply.body
    assert status["status"] == "pending"
    assert status["export_parameters"] == body
    assert status["url"] is None and status["progress"] == {"rows_written": 0, "rows_total": None}
    (message,) = [json.loads(b) for b in jobs_queue.take()]
    assert message == {
        "export_id": status["export_id"],
        "creator_id": "alice",
        "export_parameters": body,
        "attempt": 1,
        "max_retries": 2,
    }


def test_omitted_fields_become_the_defaults(api) -> None:
    defaults = [f["path"] for f in api("GET", "/exports/fields").body if f["is_default"]]
    reply = api("POST", "/exports", body={"query": QUERY})
    assert reply.body["export_parameters"]["fields"] == defaults
    assert "observer.uuid" in defaults and "observation.platform" in defaults


def test_list_is_newest_first_and_pages_with_a_cursor(api) -> None:
    created = [api("POST", "/exports", body={"query": QUERY}).body["export_id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api("GET", "/exports", query=query).body
        seen += [item["export_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))
    assert cursor is None


def test_delete_removes_the_file_and_the_row(api, db, drain, s3, service_env) -> None:
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": QUERY}).body["export_id"]
    drain()
    key = urlparse(api("GET", f"/exports/{export_id}").body["url"]).path.split("/", 2)[2]
    assert s3.head_object(Bucket=service_env.exports_bucket, Key=key)["ContentLength"] > 0

    assert api("DELETE", f"/exports/{export_id}").status == 204
    assert api("GET", f"/exports/{export_id}").status == 404
    assert api("DELETE", f"/exports/{export_id}").status == 404
    assert s3.list_objects_v2(Bucket=service_env.exports_bucket).get("KeyCount", 0) == 0
    with db.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM exports), (SELECT count(*) FROM export_fields)")
        assert cur.fetchone() == (0, 0)


def test_share_and_unshare_are_idempotent(api) -> None:
    export_id = api("POST", "/exports", body={"query": QUERY}).body["export_id"]
    for _ in range(2):
        reply = api("POST", f"/exports/{export_id}/share", body={"user_ids": ["carol", "bob", "bob", "alice"]})
        assert reply.status == 200
        assert reply.body["shared_with"] == ["bob", "carol"]  # the creator is never in her own share list
    assert api("GET", "/exports", user="carol").body["items"][0]["export_id"] == export_id
    for _ in range(2):
        reply = api("POST", f"/exports/{export_id}/unshare", body={"user_ids": ["carol", "dave"]})
        assert reply.body["shared_with"] == ["bob"]
    assert api("GET", f"/exports/{export_id}", user="carol").status == 404


def test_download_url_is_fresh_short_lived_and_names_the_file(api, db, drain) -> None:
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": QUERY}).body["export_id"]
    drain()
    first = api("GET", f"/exports/{export_id}").body["url"]
    params = parse_qs(urlparse(first).query)
    assert params["X-Amz-Expires"] == ["900"]
    assert params["response-content-disposition"] == [f'attachment; filename="export_{export_id}.zip"']
    response = requests.get(first, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="export_{export_id}.zip"'
    assert response.content[:2] == b"PK"


def test_past_expiry_the_export_reads_expired_without_a_url(api, db, drain) -> None:
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": QUERY}).body["export_id"]
    drain()
    assert api("GET", f"/exports/{export_id}").body["status"] == "completed"
    with db.cursor() as cur:
        cur.execute("UPDATE exports SET expires_at = now() - interval '1 second' WHERE export_id = %s", (export_id,))
    status = api("GET", f"/exports/{export_id}").body
    assert (status["status"], status["url"]) == ("expired", None)


def test_a_failed_enqueue_leaves_a_failed_row_not_a_silent_pending_one(api, db, monkeypatch) -> None:
    # GIVEN a queue that no longer exists
    monkeypatch.setenv("SQS_QUEUE_URL", "http://127.0.0.1:1/000000000000/gone")
    from api import dependencies

    dependencies.settings.cache_clear()
    dependencies.dependencies.cache_clear()
    # WHEN an export is requested
    reply = api("POST", "/exports", body={"query": QUERY})
    # THEN the caller is told, and the row says what happened
    assert reply.status == 503
    assert "could not be queued" in reply.body["message"]
    with db.cursor() as cur:
        cur.execute("SELECT status, message FROM exports")
        assert cur.fetchall() == [("failed", "the export could not be queued; please request it again")]


@pytest.mark.parametrize("path", ["/openapi.json", "/docs?format=json"])
def test_openapi_document_lists_the_routes(api, path) -> None:
    route, _, query = path.partition("?")
    reply = api("GET", route, user=None, query=dict([query.split("=")]) if query else None)
    assert reply.status == 200
    document = reply.body if isinstance(reply.body, dict) else json.loads(reply.body)
    assert {"/exports", "/exports/{export_id}", "/exports/{export_id}/share", "/exports/fields"} <= set(
        document["paths"]
    )
