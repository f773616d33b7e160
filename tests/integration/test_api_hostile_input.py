"""Whatever a client sends, the answer is a 4xx with the error body, never a 5xx, and nothing is written or queued."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from api.app import route_table
from tests.support import context, http_event

SOME_ID = "00000000-0000-0000-0000-000000000000"
# Every POST the API answers (so routes added later are covered too), ids filled in.
POST_PATHS = sorted(path.replace("{export_id}", SOME_ID) for method, path in route_table() if method == "POST")
QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}


def send(event: dict[str, Any]) -> tuple[int, Any]:
    from api.handler import lambda_handler

    response = lambda_handler(event, context())
    return response["statusCode"], json.loads(response["body"])


def raw_event(path: str, body: bytes, content_type: str, **kwargs: Any) -> dict[str, Any]:
    """A POST whose body the gateway passed on base64-encoded, as it does for bytes that are not UTF-8 text."""
    event = http_event("POST", path, **kwargs)
    event["headers"]["content-type"] = content_type
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    return event


def nothing_written(db) -> bool:
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM exports")
        return cur.fetchone()[0] == 0


def test_the_post_routes_under_test_are_all_of_them() -> None:
    assert {"/exports", "/captures", "/dataset-exporter/v1/captures", f"/exports/{SOME_ID}/share"} <= set(POST_PATHS)


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/json; charset=utf-8"])
def test_given_a_body_that_is_not_utf8_then_it_is_a_4xx_naming_the_problem(
    service_env, db, jobs_queue, path, content_type
) -> None:
    # GIVEN a body in Latin-1 ("é" is 0xE9, not UTF-8)
    body = json.dumps({"query": QUERY, "fields": None}).replace("FACEBOOK", "FACEBOOK\u00e9").encode("latin-1")
    # WHEN it is posted with a JSON or text content type
    status, answer = send(raw_event(path, body, content_type))
    # THEN it is refused with the error body: 400 for JSON that is not UTF-8, 415 for text
    assert status == (415 if content_type == "text/plain" else 400)
    assert answer == {"status": status, "message": answer["message"]}
    if status == 400:
        assert "UTF-8" in answer["message"]
    assert nothing_written(db)
    assert jobs_queue.take() == []


@pytest.mark.parametrize("path", POST_PATHS)
def test_given_json_declared_in_another_charset_then_it_is_415_naming_the_charset(service_env, db, path) -> None:
    body = json.dumps({"query": {"method": "PLATFORM_EQUALS", "args": ["caf\u00e9"]}}).encode("latin-1")
    status, answer = send(raw_event(path, body, "application/json; charset=latin-1"))
    assert status == 415
    assert "latin-1" in answer["message"]
    assert answer["status"] == 415
    assert nothing_written(db)


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize("body", [b"", b"--x\r\nContent-Disposition: form-data; name=query\r\n\r\n{}\r\n--x--\r\n"])
def test_given_multipart_without_a_boundary_then_it_is_415(service_env, db, path, body) -> None:
    status, answer = send(raw_event(path, body, "multipart/form-data"))
    assert status == 415
    assert answer == {"message": "the request body must be application/json", "status": 415}
    assert nothing_written(db)


@pytest.mark.parametrize("path", POST_PATHS)
def test_given_50000_nested_arrays_then_it_is_400_naming_the_depth_limit(service_env, db, path) -> None:
    raw = "[" * 50_000 + "]" * 50_000
    status, answer = send(http_event("POST", path, raw_body=raw))
    assert status == 400
    assert answer == {"message": "request body is nested deeper than 64 levels", "status": 400}
    assert nothing_written(db)


def test_given_a_900_deep_and_tree_then_it_is_400_naming_the_depth_limit(service_env, db, jobs_queue) -> None:
    # GIVEN a query tree 900 ANDs deep (written out by hand: json.dumps itself would give up on it)
    tree = '{"method": "AND", "args": [' * 900 + json.dumps(QUERY) + "]}" * 900
    # WHEN it is posted
    status, answer = send(http_event("POST", "/exports", raw_body='{"query": ' + tree + "}"))
    # THEN the depth is refused by name before anything parses it
    assert (status, answer["message"]) == (400, "request body is nested deeper than 64 levels")
    assert nothing_written(db)
    assert jobs_queue.take() == []


def test_given_brackets_inside_strings_then_they_do_not_count_as_nesting(api, db) -> None:
    # GIVEN a query whose argument is a string full of brackets and escaped quotes
    reply = api("POST", "/exports", body={"query": {"method": "OBSERVER_ID_CONTAINS", "args": ['[{"\\' * 60]}})
    # THEN it is an ordinary export
    assert reply.status == 202, reply.body


@pytest.mark.parametrize("subject", ["a\x00b", "\ud800", "x" * 257])
@pytest.mark.parametrize(
    ("method", "path", "body"), [("POST", "/exports", {"query": QUERY}), ("GET", "/exports", None)]
)
def test_given_a_token_whose_subject_cannot_be_a_user_id_then_it_is_401_with_a_clear_message(
    service_env, db, subject, method, path, body
) -> None:
    status, answer = send(http_event(method, path, user=subject, body=body))
    assert status == 401
    assert answer == {"message": "the token's subject (sub) is not a usable user id", "status": 401}
    assert nothing_written(db)


@pytest.mark.parametrize("raw", ['"\\' * 80_000, '"' * 200_000, "[]" * 100_000, '["' + 'a",["' * 40_000])
def test_given_a_body_built_to_slow_the_depth_check_then_it_is_answered_at_once(api, raw) -> None:
    started = time.monotonic()
    reply = api("POST", "/exports", raw_body=raw)
    assert reply.status == 400
    assert time.monotonic() - started < 10
