"""Application sources, public side: request (events per source), validation, list, status, download, delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.applications_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.applications_fixtures import Sources, two_sources
from tests.integration.conftest import keyed


def test_a_request_answers_202_with_the_upstream_shape_and_asks_each_application(api, sources: Sources) -> None:
    # WHEN alice asks inventory for hosts named "web" and advisor for recommendations
    reply = api("POST", "/api/export/v1/exports", body=two_sources())
    # THEN 202 with the upstream export object: pending, both sources pending, not completed
    assert reply.status == 202, reply.body
    body = reply.body
    assert set(body) >= {"id", "name", "created", "completed", "expires", "format", "status", "sources"}
    assert (body["name"], body["format"], body["status"], body["completed"]) == ("my export", "csv", "pending", None)
    assert [(s["application"], s["resource"], s["filters"], s["status"]) for s in body["sources"]] == [
        ("inventory", "hosts", {"name": "web"}, "pending"),
        ("advisor", "recommendations", {}, "pending"),
    ]
    # AND each application's queue (a rule per application on the bus) received one Export Requested event
    for source in body["sources"]:
        (event,) = [json.loads(m) for m in sources.app_queues[source["application"]].take()]
        assert event["detail-type"] == "Export Requested"
        detail = event["detail"]
        base = f"/app/export/v1/{body['id']}/{source['application']}/{source['id']}"
        assert detail == {
            "export_id": body["id"],
            "source_id": source["id"],
            "application": source["application"],
            "resource": source["resource"],
            "format": "csv",
            "filters": source["filters"],
            "name": "my export",
            "creator": "alice",
            "upload_path": f"{base}/upload",
            "error_path": f"{base}/error",
        }


def _past() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"sources": [{"application": "billing", "resource": "invoices"}]}, "unknown application 'billing'"),
        ({"sources": [{"application": "inventory", "resource": "vms"}]}, "inventory has no resource 'vms'"),
        ({"sources": []}, "sources"),
        ({"sources": [{"application": "inventory", "resource": "hosts"}] * 21}, "sources"),
        (
            {"sources": [{"application": "advisor", "resource": "recommendations"}] * 2},
            "duplicate source advisor/recommendations",
        ),
        ({"format": "xml"}, "format"),
        ({"expires_at": "PAST"}, "expires_at is in the past"),
        (
            {"sources": [{"application": "inventory", "resource": "hosts", "filters": {"os": "rhel"}}]},
            "has no filter os",
        ),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_request_is_400_naming_the_problem_and_asks_nobody(api, sources: Sources, change, fragment) -> None:
    body = two_sources(**change)
    if body.get("expires_at") == "PAST":
        body["expires_at"] = _past()
    reply = api("POST", "/api/export/v1/exports", body=body)
    assert reply.status == 400, reply.body
    assert fragment in reply.body["message"]
    assert all(not q.take() for q in sources.app_queues.values())
    assert api("GET", "/api/export/v1/exports").body["data"] == []


def test_without_an_event_bus_requests_answer_503(api, sources: Sources, monkeypatch) -> None:
    from api.routes import applications as routes

    monkeypatch.delenv("EVENT_BUS_NAME")
    from api import dependencies as api_deps

    api_deps.settings.cache_clear()
    api_deps.dependencies.cache_clear()
    routes.applications.cache_clear()
    reply = api("POST", "/api/export/v1/exports", body=two_sources())
    assert reply.status == 503 and "not configured" in reply.body["message"]


def test_an_applications_export_is_an_export_like_every_other(api, sources: Sources, requested) -> None:
    export = requested()
    # THEN it is in alice's GET /exports, of kind applications, with its parameters
    (listed,) = api("GET", "/exports").body["items"]
    assert listed["export_id"] == export["id"] and listed["kind"] == "applications"
    assert listed["export_parameters"]["name"] == "my export"
    # AND bob cannot see it anywhere, until alice shares it
    assert api("GET", f"/api/export/v1/exports/{export['id']}/status", user="bob").status == 404
    assert api("POST", f"/exports/{export['id']}/share", body={"user_ids": ["bob"]}).status == 200
    assert api("GET", f"/api/export/v1/exports/{export['id']}/status", user="bob").body["status"] == "pending"
    assert [e["id"] for e in api("GET", "/api/export/v1/exports", user="bob").body["data"]] == [export["id"]]
    # AND bob may not delete it; alice may, and then it is gone
    assert api("DELETE", f"/api/export/v1/exports/{export['id']}", user="bob").status == 403
    assert api("DELETE", f"/api/export/v1/exports/{export['id']}").status == 204
    assert api("GET", f"/api/export/v1/exports/{export['id']}/status").status == 404
    assert api("GET", "/exports").body["items"] == []


def test_other_kinds_are_not_found_under_the_applications_paths(api, sources: Sources, jobs_queue) -> None:
    query_export = api("POST", "/exports", body={"query": {"method": "PLATFORM_EQUALS", "args": ["X"]}}).body
    assert api("GET", f"/api/export/v1/exports/{query_export['export_id']}/status").status == 404
    assert api("GET", "/api/export/v1/exports").body["data"] == []


def test_download_is_409_until_the_export_is_ready(api, sources: Sources, requested) -> None:
    export = requested()
    reply = api("GET", f"/api/export/v1/exports/{export['id']}")
    assert reply.status == 409 and "pending" in reply.body["message"]
    assert api("GET", "/api/export/v1/exports/not-an-id").status == 404


def test_the_list_filters_sorts_and_pages(api, sources: Sources, requested) -> None:
    # GIVEN three exports: two csv from both applications, one asking advisor only
    first = requested(two_sources(name="alpha"))
    second = requested(two_sources(name="beta"))
    only_advisor = requested(
        {"name": "gamma", "format": "json", "sources": [{"application": "advisor", "resource": "recommendations"}]}
    )
    sources.answer(only_advisor["id"], only_advisor["sources"][0])  # advisor fails it: all sources failed
    sources.answer(second["id"], second["sources"][0], "name\nweb-1\n")  # inventory answered: running

    def ids(**query: str) -> list[str]:
        reply = api("GET", "/api/export/v1/exports", query=query)
        assert reply.status == 200, reply.body
        return [e["id"] for e in reply.body["data"]]

    assert ids() == [only_advisor["id"], second["id"], first["id"]]  # newest first
    assert ids(sort="name", dir="asc") == [first["id"], second["id"], only_advisor["id"]]
    assert ids(status="failed") == [only_advisor["id"]]
    assert ids(status="running") == [second["id"]]
    assert ids(status="pending") == [first["id"]]
    assert ids(application="inventory", sort="created", dir="asc") == [first["id"], second["id"]]
    assert ids(name="beta") == [second["id"]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert ids(created_after=future) == []
    assert ids(created_before=future, sort="name", dir="asc", limit="1", offset="1") == [second["id"]]
    page = api("GET", "/api/export/v1/exports", query={"limit": "2"}).body
    assert page["meta"] == {"count": 3} and page["links"]["next"] and page["links"]["previous"] is None
    assert api("GET", "/api/export/v1/exports", query={"status": "bogus"}).status == 400
    assert api("GET", "/api/export/v1/exports", query={"sort": "id"}).status == 400


def test_the_same_request_twice_with_one_idempotency_key_asks_each_application_once(api, sources: Sources) -> None:
    # WHEN a client retries its request with the same Idempotency-Key
    first = keyed(api, "/api/export/v1/exports", "apps-1", two_sources())
    second = keyed(api, "/api/export/v1/exports", "apps-1", two_sources())
    # THEN both get the one export, the second marked as a replay, and each application was asked once
    assert (first.status, second.status) == (202, 202), (first.body, second.body)
    assert second.body["id"] == first.body["id"]
    assert second.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert [len(q.take()) for q in sources.app_queues.values()] == [1, 1]
    assert [e["id"] for e in api("GET", "/api/export/v1/exports").body["data"]] == [first.body["id"]]
    # AND the key with another body is refused, naming the key, and asks nobody
    other = keyed(api, "/api/export/v1/exports", "apps-1", two_sources(name="another"))
    assert other.status == 422 and "apps-1" in other.body["message"]
    assert all(not q.take() for q in sources.app_queues.values())


def test_applications_exports_count_towards_the_active_jobs_limit(api, sources: Sources, monkeypatch) -> None:
    from api import dependencies as api_deps

    monkeypatch.setenv("MAX_ACTIVE_JOBS_PER_USER", "1")
    api_deps.settings.cache_clear()
    api_deps.dependencies.cache_clear()
    try:
        # GIVEN one applications export still waiting for its sources
        assert api("POST", "/api/export/v1/exports", body=two_sources()).status == 202
        # WHEN a second is asked while it waits
        refused = api("POST", "/api/export/v1/exports", body=two_sources(name="second"))
        # THEN 429 with Retry-After, and only the first export exists
        assert refused.status == 429, refused.body
        assert int(refused.headers["Retry-After"]) >= 1
        assert [e["name"] for e in api("GET", "/api/export/v1/exports").body["data"]] == ["my export"]
    finally:
        monkeypatch.delenv("MAX_ACTIVE_JOBS_PER_USER")
        api_deps.settings.cache_clear()
        api_deps.dependencies.cache_clear()
