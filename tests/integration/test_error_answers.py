"""Every error answer has the body {message, status}, and an oversize body is refused before it is parsed."""

from __future__ import annotations

import json

import pytest

from tests.support import context, http_event

QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}


def export_rows(db) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM exports")
        return cur.fetchone()[0]


def test_given_a_300_kib_body_that_is_also_invalid_then_it_is_413_not_400(api, db, jobs_queue) -> None:
    # GIVEN a body over the limit that also breaks the schema (an unknown key, a non-boolean flag)
    body = {"query": QUERY, "colour": "x" * (300 * 1024), "include_images": "yes"}
    # WHEN it is posted
    reply = api("POST", "/exports", body=body)
    # THEN the size is what is refused, before validation, and nothing is written or queued
    assert reply.status == 413
    assert reply.body == {"message": "request body is larger than 262144 bytes", "status": 413}
    assert export_rows(db) == 0
    assert jobs_queue.take() == []


@pytest.mark.parametrize("path", ["/captures", "/exports/00000000-0000-0000-0000-000000000000/share"])
def test_given_an_oversize_body_on_any_post_then_it_is_413(api, path) -> None:
    reply = api("POST", path, raw_body="{" + " " * (300 * 1024) + "}")
    assert (reply.status, reply.body["status"]) == (413, 413)


def test_given_a_body_that_is_not_json_then_it_is_415_with_the_error_body(service_env, db) -> None:
    from api.handler import lambda_handler

    # GIVEN a request whose body is plain text
    event = http_event("POST", "/exports", raw_body="query please")
    event["headers"]["content-type"] = "text/plain"
    # WHEN it is handled
    response = lambda_handler(event, context())
    # THEN it is refused as 415 with the one error body
    assert response["statusCode"] == 415
    assert json.loads(response["body"]) == {"message": "the request body must be application/json", "status": 415}
    assert export_rows(db) == 0


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/exports", {"user": None}, 401),
        ("GET", "/exports/fields", {"user": None}, 401),
        ("GET", "/nowhere", {}, 404),
        ("GET", "/exports/00000000-0000-0000-0000-000000000000", {}, 404),
        ("GET", "/exports/" + "x" * 65, {}, 400),
        ("GET", "/exports", {"query": {"limit": "0"}}, 400),
        ("GET", "/exports", {"query": {"user_id": "bob"}}, 403),
    ],
)
def test_given_any_error_then_the_body_is_message_and_status(api, method, path, kwargs, status) -> None:
    reply = api(method, path, **kwargs)
    assert reply.status == status
    assert list(reply.body) == ["message", "status"]
    assert reply.body["status"] == status
