"""The captures API: seed 000's shapes and paths, bad durations, visibility, the capture queue."""

from __future__ import annotations

import json
import uuid

import pytest

from exporter.settings import ADMIN_GROUP

PATHS = ("/captures", "/dataset-exporter/v1/captures")


@pytest.mark.parametrize("base", PATHS)
def test_starting_a_capture_answers_the_seeds_shape_and_queues_it(api, capture_queue, base: str) -> None:
    # WHEN alice starts a 60 s capture at either path
    reply = api("POST", base, body={"duration": "60s"})
    # THEN 202 with the seed's fields, the full window still to come, a download path under the same prefix
    assert reply.status == 202, reply.body
    body = reply.body
    assert body["status"] == "IN_PROGRESS" and body["remainingTime"] == 60
    assert body["downloadPath"] == f"{base}/download?id={body['id']}"
    assert body["channel"] == "broadcast:*" and body["duration"] == 60
    # AND one message on the capture queue: this capture, attempt 1, never retried
    (message,) = [json.loads(b) for b in capture_queue.take()]
    assert message == {"export_id": body["id"], "creator_id": "alice", "attempt": 1, "max_retries": 0}
    # AND the status at the other path is the same capture
    for other in PATHS:
        status = api("GET", f"{other}/status", query={"id": body["id"]})
        assert status.status == 200 and status.body["status"] == "IN_PROGRESS"
        assert status.body["downloadPath"] == f"{other}/download?id={body['id']}"


def test_a_capture_is_an_export_of_kind_capture(api, capture_queue) -> None:
    capture_id = api("POST", "/captures", body={"duration": "1m30s", "channel": "broadcast:location*"}).body["id"]
    listed = api("GET", "/exports").body["items"]
    assert [(e["export_id"], e["kind"]) for e in listed] == [(capture_id, "capture")]
    export = api("GET", f"/exports/{capture_id}").body
    assert export["export_parameters"] == {"duration_seconds": 90, "channel": "broadcast:location*"}
    assert export["status"] == "pending" and export["max_retries"] == 0 and export["url"] is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (None, "duration is required"),
        ({}, "duration is required"),
        ({"duration": ""}, "duration is required"),
        ({"duration": 60}, "duration is required"),
        ({"duration": "0s"}, "must be positive"),
        ({"duration": "-5m"}, "must be positive"),
        ({"duration": "sixty"}, "is not a Go duration"),
        ({"duration": "24h0m1s"}, "longer than the maximum of 24h"),
        ({"duration": "25h"}, "longer than the maximum of 24h"),
    ],
)
def test_bad_durations_are_400_naming_the_limit(api, capture_queue, body, fragment: str) -> None:
    reply = api("POST", "/dataset-exporter/v1/captures", body=body)
    assert reply.status == 400, reply.body
    assert fragment in reply.body["message"] and "24h" in reply.body["message"]
    assert capture_queue.take() == []
    assert api("GET", "/exports").body["items"] == []


def test_other_bad_requests_are_400(api, capture_queue) -> None:
    assert api("POST", "/captures", body={"duration": "60s", "colour": "red"}).status == 400
    assert api("POST", "/captures", raw_body="{not json").status == 400
    reply = api("POST", "/captures", body={"duration": "60s", "channel": " "})
    assert reply.status == 400 and "channel" in reply.body["message"]
    assert api("GET", "/captures/status").status == 400  # no id
    assert capture_queue.take() == []


def test_the_configured_maximum_is_the_limit(api, capture_env, monkeypatch) -> None:
    from api import dependencies

    monkeypatch.setenv("CAPTURE_MAX_SECONDS", "120")
    dependencies.settings.cache_clear()
    dependencies.dependencies.cache_clear()
    reply = api("POST", "/captures", body={"duration": "3m"})
    assert reply.status == 400 and "maximum of 2m" in reply.body["message"]
    assert api("POST", "/captures", body={"duration": "2m"}).status == 202


def test_without_a_capture_queue_captures_are_unavailable(api, service_env, monkeypatch) -> None:
    from api import dependencies

    monkeypatch.delenv("CAPTURE_QUEUE_URL")
    dependencies.settings.cache_clear()
    dependencies.dependencies.cache_clear()
    reply = api("POST", "/captures", body={"duration": "60s"})
    assert reply.status == 503 and "not configured" in reply.body["message"]
    assert api("GET", "/exports").body["items"] == []


def test_only_the_creator_shared_users_and_admins_see_a_capture(api, capture_queue) -> None:
    capture_id = api("POST", "/captures", body={"duration": "60s"}).body["id"]
    for path in ("/captures/status", "/captures/download", "/dataset-exporter/v1/captures/download"):
        assert api("GET", path, user="bob", query={"id": capture_id}).status == 404
    assert api("GET", "/captures/status", user="admin-1", groups=[ADMIN_GROUP], query={"id": capture_id}).status == 200
    assert api("POST", f"/exports/{capture_id}/share", body={"user_ids": ["bob"]}).status == 200
    assert api("GET", "/captures/status", user="bob", query={"id": capture_id}).status == 200
    assert api("GET", "/captures/status", user=None, query={"id": capture_id}).status == 401


def test_unknown_ids_and_exports_of_other_kinds_are_404(api, capture_queue, jobs_queue) -> None:
    query_export = api("POST", "/exports", body={"query": {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}})
    for capture_id in (str(uuid.uuid4()), "not-a-uuid", query_export.body["export_id"]):
        assert api("GET", "/captures/status", query={"id": capture_id}).status == 404
        assert api("GET", "/captures/download", query={"id": capture_id}).status == 404


def test_downloading_before_the_capture_completes_is_409_with_the_remaining_time(api, capture_queue) -> None:
    capture_id = api("POST", "/captures", body={"duration": "5m"}).body["id"]
    reply = api("GET", "/captures/download", query={"id": capture_id})
    assert reply.status == 409
    assert reply.body["remainingTime"] == 300 and "in progress" in reply.body["message"]


def test_an_expired_capture_says_so_and_its_download_is_gone(api, capture_queue, db) -> None:
    capture_id = api("POST", "/captures", body={"duration": "60s"}).body["id"]
    with db.cursor() as cur:
        cur.execute(
            "UPDATE exports SET status = 'completed', started_at = now() - interval '9 days', "
            "completed_at = now() - interval '8 days', expires_at = now() - interval '1 day', "
            "s3_key = 'outputs/gone.csv' WHERE export_id = %s",
            (capture_id,),
        )
    assert api("GET", "/captures/status", query={"id": capture_id}).body["status"] == "EXPIRED"
    assert api("GET", "/captures/download", query={"id": capture_id}).status == 410
