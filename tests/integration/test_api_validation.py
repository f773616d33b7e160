"""Bad input gets a clear 4xx naming the problem, and nothing is written or queued."""

from __future__ import annotations

import json

import pytest

QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}


def nested(depth: int) -> dict:
    query: dict = QUERY
    for _ in range(depth - 1):
        query = {"method": "NOT", "args": [query]}
    return query


def export_rows(db) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM exports")
        return cur.fetchone()[0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": QUERY, "fields": ["observer.uuid", "ocr.text"]}, "unknown field(s): ocr.text; valid fields: "),
        ({"query": {"method": "OBSERVER_ID_LIKE", "args": ["1"]}}, "unknown method 'OBSERVER_ID_LIKE'"),
        ({"query": {"method": "PLATFORM_EQUALS", "args": [1]}}, "takes strings; args[0] is int"),
        ({"query": nested(9)}, "nested deeper than 8 levels"),
        (
            {"query": {"method": "OR", "args": [{"method": "OBSERVER_ID_CONTAINS", "args": ["x"] * 1001}]}},
            "more than 1000 arguments",
        ),
        ({"query": QUERY, "include_images": "yes"}, "include_images"),
        ({"query": QUERY, "fields": "observer.uuid"}, "fields"),
        ({"query": QUERY, "colour": "blue"}, "colour"),
        ({"fields": ["observer.uuid"]}, "query"),
        ({"query": QUERY, "fields": []}, "fields must not be empty"),
    ],
)
def test_bad_export_requests_are_400_with_the_reason(api, db, jobs_queue, body, message) -> None:
    reply = api("POST", "/exports", body=body)
    assert reply.status == 400
    assert message in reply.body["message"]
    assert export_rows(db) == 0
    assert jobs_queue.take() == []


def test_valid_paths_are_listed_when_a_field_is_unknown(api) -> None:
    reply = api("POST", "/exports", body={"query": QUERY, "fields": ["nope"]})
    valid = [f["path"] for f in api("GET", "/exports/fields").body]
    assert all(path in reply.body["message"] for path in valid)


@pytest.mark.parametrize("raw", ["{not json", '{"query": ', "[1, 2", "\x00"])
def test_malformed_json_is_400(api, db, raw) -> None:
    reply = api("POST", "/exports", raw_body=raw)
    assert reply.status == 400
    assert "not valid JSON" in reply.body["message"] or "body" in reply.body["message"]
    assert export_rows(db) == 0


def test_oversize_body_is_413_and_names_the_limit(api, db) -> None:
    body = {"query": {"method": "OBSERVER_ID_CONTAINS", "args": ["x" * 250] * 1100}}
    assert len(json.dumps(body)) > 256 * 1024
    reply = api("POST", "/exports", body=body)
    assert reply.status == 413
    assert "262144 bytes" in reply.body["message"]
    assert export_rows(db) == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "garbage"}, "cursor is not one this API returned"),
    ],
)
def test_bad_list_parameters_are_400(api, query, message) -> None:
    reply = api("GET", "/exports", query=query)
    assert reply.status == 400
    assert message in reply.body["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"user_ids": []}, "at least one user"),
        ({"user_ids": [f"u{i}" for i in range(101)]}, "user_ids"),
        ({"user_ids": "bob"}, "user_ids"),
        ({"user_ids": [""]}, "1 to 256 characters"),
        ({}, "user_ids"),
    ],
)
def test_bad_share_requests_are_400_and_change_nothing(api, body, message) -> None:
    export_id = api("POST", "/exports", body={"query": QUERY}).body["export_id"]
    reply = api("POST", f"/exports/{export_id}/share", body=body)
    assert reply.status == 400
    assert message in reply.body["message"]
    assert api("GET", f"/exports/{export_id}").body["shared_with"] == []


def test_unknown_route_is_404_and_not_an_error(api) -> None:
    assert api("GET", "/exports/x/y/z").status == 404
    assert api("GET", "/exports/not-a-uuid").status == 404


@pytest.mark.parametrize("user_id", ["bob\u0000", "bob\ud800"])
def test_a_share_with_an_unstorable_user_id_is_a_400_and_shares_nothing(api, db, user_id: str) -> None:
    # GIVEN alice's export
    export_id = api("POST", "/exports", body={"query": QUERY}).body["export_id"]
    # WHEN she shares it with a user id holding NUL or a lone surrogate
    reply = api("POST", f"/exports/{export_id}/share", body={"user_ids": [user_id]})
    # THEN a 400 names the problem and the export is shared with nobody
    assert reply.status == 400 and "NUL or lone surrogate" in reply.body["message"]
    assert api("GET", f"/exports/{export_id}").body["shared_with"] == []


def test_an_admin_listing_a_user_id_with_nul_gets_a_400(api) -> None:
    reply = api("GET", "/exports", user="root", groups=["admin"], query={"user_id": "a\u0000b"})
    assert reply.status == 400 and "user_id" in reply.body["message"]
