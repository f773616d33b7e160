"""Per-user limits: Idempotency-Key replays, active jobs and requests per minute answered 429 with Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import keyed

QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}
OTHER_QUERY = {"method": "PLATFORM_EQUALS", "args": ["INSTAGRAM"]}


def export_rows(db) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM exports")
        return cur.fetchone()[0]


@pytest.fixture
def limits(service_env, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set the API's limits for this test (the API's settings are read once per container)."""
    from api import dependencies as api_deps

    def set_limits(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        api_deps.settings.cache_clear()
        api_deps.dependencies.cache_clear()

    return set_limits


@pytest.fixture(autouse=True)
def no_request_counts(db) -> None:
    with db.cursor() as cur:
        cur.execute("TRUNCATE idempotency_keys, request_counts")


@pytest.mark.parametrize("path", ["/exports", "/captures"])
def test_given_the_same_key_and_body_twice_then_one_job_is_made_and_both_get_it(
    api, db, jobs_queue, capture_queue, path
) -> None:
    body = {"query": QUERY} if path == "/exports" else {"duration": "5s"}
    # WHEN the same request is sent twice with one Idempotency-Key
    first = keyed(api, path, "order-7f3a", body)
    second = keyed(api, path, "order-7f3a", body)
    # THEN both are 202 with the same body, one job exists and one message was sent
    assert (first.status, second.status) == (202, 202), (first.body, second.body)
    assert second.body == first.body
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert export_rows(db) == 1
    queue = jobs_queue if path == "/exports" else capture_queue
    assert len(queue.take()) == 1


def test_given_a_key_used_on_captures_then_the_seed_path_replays_it(api, db, capture_queue) -> None:
    first = keyed(api, "/captures", "k-1", {"duration": "5s"})
    second = keyed(api, "/dataset-exporter/v1/captures", "k-1", {"duration": "5s"})
    assert second.body["id"] == first.body["id"]
    assert export_rows(db) == 1


def test_given_the_same_key_with_another_body_then_it_is_422_naming_the_key(api, db, jobs_queue) -> None:
    keyed(api, "/exports", "order-7f3a", {"query": QUERY})
    reply = keyed(api, "/exports", "order-7f3a", {"query": OTHER_QUERY})
    assert reply.status == 422
    assert reply.body["status"] == 422
    assert "'order-7f3a'" in reply.body["message"]
    assert "another request body" in reply.body["message"]
    assert export_rows(db) == 1
    assert len(jobs_queue.take()) == 1


def test_given_keys_are_per_user_then_bob_reusing_alices_key_gets_his_own_job(api, db) -> None:
    alice = keyed(api, "/exports", "shared-key", {"query": QUERY}, user="alice")
    bob = keyed(api, "/exports", "shared-key", {"query": OTHER_QUERY}, user="bob")
    assert (alice.status, bob.status) == (202, 202)
    assert alice.body["export_id"] != bob.body["export_id"]


def test_given_a_refused_request_then_its_key_can_be_used_again(api, db) -> None:
    refused = keyed(api, "/exports", "retry-me", {"query": {"method": "NOPE", "args": []}})
    assert refused.status == 400
    # The key is free again: the same key with the corrected body makes the job
    fixed = keyed(api, "/exports", "retry-me", {"query": QUERY})
    assert fixed.status == 202


def test_given_a_key_older_than_its_lifetime_then_it_makes_a_new_job(api, db) -> None:
    first = keyed(api, "/exports", "old-key", {"query": QUERY})
    with db.cursor() as cur:
        cur.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
    second = keyed(api, "/exports", "old-key", {"query": OTHER_QUERY})
    assert second.status == 202
    assert second.body["export_id"] != first.body["export_id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "a b"])
def test_given_an_unusable_key_then_it_is_400_naming_the_header(api, db, key) -> None:
    reply = keyed(api, "/exports", key, {"query": QUERY})
    assert reply.status == 400
    assert "Idempotency-Key" in reply.body["message"]
    assert export_rows(db) == 0


def test_given_the_same_key_at_once_from_many_threads_then_one_job_is_made(service_env, db, jobs_queue) -> None:
    from api.app import build_app
    from api.dependencies import dependencies

    # GIVEN eight clients (each its own API container: its own database connection) sending one request at once
    build_app()
    deps = dependencies()
    from exporter.adapters import postgres
    from exporter.exports.request import request_export
    from exporter.jobs.model import Caller
    from exporter.jobs.repository import JobsRepository
    from exporter.quotas.repository import QuotaRepository
    from exporter.quotas.service import create_job

    caller = Caller(user_id="alice", is_admin=False)
    start = threading.Barrier(8)
    results: list[Any] = []

    def client() -> None:
        db_ = postgres.database(deps.settings)
        jobs = JobsRepository(db_)
        start.wait(timeout=30)
        created = create_job(
            lambda: request_export(
                query=QUERY,
                fields=None,
                include_images=False,
                caller=caller,
                jobs=jobs,
                catalogue=deps.catalogue.__class__(db_),
                queue=deps.queue,
                max_retries=2,
            ),
            caller=caller,
            key="same-moment",
            operation="exports",
            body={"query": QUERY},
            limits=deps.limits,
            quotas=QuotaRepository(db_),
            jobs=jobs,
        )
        results.append(created)
        db_.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # THEN all eight got the one job, one made it, and one message was sent
    assert len(results) == 8
    assert len({c.export.export_id for c in results}) == 1
    assert sorted(c.replayed for c in results) == [False] + [True] * 7
    assert export_rows(db) == 1
    assert len(jobs_queue.take()) == 1


def test_given_the_active_jobs_limit_then_the_next_job_is_429_with_retry_after(api, db, limits, drain) -> None:
    limits(MAX_ACTIVE_JOBS_PER_USER=2)
    assert api("POST", "/exports", body={"query": QUERY}).status == 202
    assert api("POST", "/exports", body={"query": QUERY}).status == 202
    # WHEN a third is asked for while two are pending
    reply = api("POST", "/exports", body={"query": QUERY})
    # THEN it is refused with the limit named and when to try again; nothing is written
    assert reply.status == 429
    assert reply.headers["Retry-After"] == "30"
    assert "the most one user may have is 2" in reply.body["message"]
    assert export_rows(db) == 2
    # and another user is not held back by alice's jobs
    assert api("POST", "/exports", body={"query": QUERY}, user="bob").status == 202
    # once alice's jobs have run, she may ask again
    drain()
    assert api("POST", "/exports", body={"query": QUERY}).status == 202


def test_given_the_active_jobs_limit_then_a_replay_is_still_answered(api, limits) -> None:
    limits(MAX_ACTIVE_JOBS_PER_USER=1)
    first = keyed(api, "/exports", "only-one", {"query": QUERY})
    again = keyed(api, "/exports", "only-one", {"query": QUERY})
    assert (first.status, again.status) == (202, 202)


def wait_for_fresh_minute(seconds_needed: int = 15) -> None:
    """Wait (at most a minute) until the current minute has ``seconds_needed`` left, so the test fits in one."""
    deadline = time.monotonic() + 70
    while datetime.now(UTC).second > 60 - seconds_needed:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_given_the_requests_per_minute_limit_then_the_next_request_is_429_until_the_minute_ends(api, limits) -> None:
    limits(MAX_REQUESTS_PER_MINUTE=5)
    wait_for_fresh_minute()
    for _ in range(5):
        assert api("GET", "/exports").status == 200
    # WHEN alice makes a sixth request this minute
    reply = api("GET", "/exports")
    # THEN it is 429 and says how many seconds are left in the minute
    assert reply.status == 429
    assert list(reply.body) == ["message", "status"]
    assert "more than 5 requests this minute" in reply.body["message"]
    assert 1 <= int(reply.headers["Retry-After"]) <= 60
    # any route counts, posts too, and nothing is created
    assert api("POST", "/exports", body={"query": QUERY}).status == 429
    # other users have their own count; unauthenticated documentation is not counted
    assert api("GET", "/exports", user="bob").status == 200
    assert api("GET", "/openapi.json", user=None).status == 200


DAY = {"parameters": {"start_date": "2026-01-01", "end_date": "2026-01-02"}}


def test_given_a_dataset_export_sent_twice_with_one_key_then_one_job_is_made(api, db, jobs_queue) -> None:
    # WHEN the same dataset request is sent twice with one Idempotency-Key
    first = keyed(api, "/datasets/observations/exports", "ds-1", DAY)
    second = keyed(api, "/datasets/observations/exports", "ds-1", DAY)
    # THEN one dataset job, given back to both, and one message
    assert (first.status, second.status) == (202, 202), (first.body, second.body)
    assert second.body["export_id"] == first.body["export_id"] and first.body["kind"] == "dataset"
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert export_rows(db) == 1
    assert len(jobs_queue.take()) == 1
    # AND the key with other parameters is refused, naming the key
    other = keyed(
        api, "/datasets/observations/exports", "ds-1", {"parameters": {**DAY["parameters"], "end_date": "2026-01-03"}}
    )
    assert other.status == 422 and "ds-1" in other.body["message"]
    assert export_rows(db) == 1


def test_given_export_everything_twice_with_one_key_then_each_dataset_is_exported_once(api, db, jobs_queue) -> None:
    admin = {"user": "root", "groups": ["admin"]}
    # WHEN an admin asks to export every dataset twice with one key
    first = keyed(api, "/datasets/exports", "all-1", None, **admin)
    second = keyed(api, "/datasets/exports", "all-1", None, **admin)
    # THEN the second gets the same exports back, and each dataset has one job and one message
    assert (first.status, second.status) == (202, 202), (first.body, second.body)
    made = [item["export_id"] for item in first.body["items"]]
    assert len(made) >= 5 and [item["export_id"] for item in second.body["items"]] == made
    assert second.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert export_rows(db) == len(made)
    assert len(jobs_queue.take()) == len(made)


def test_given_the_active_jobs_limit_then_dataset_requests_are_429_and_make_nothing(api, db, limits) -> None:
    limits(MAX_ACTIVE_JOBS_PER_USER=2)
    admin = {"user": "root", "groups": ["admin"]}
    # A user's dataset exports count like any export: the third while two are pending is refused
    assert api("POST", "/datasets/observations/exports", body=DAY).status == 202
    assert api("POST", "/datasets/observations/exports", body=DAY).status == 202
    refused = api("POST", "/datasets/observations/exports", body=DAY)
    assert refused.status == 429 and refused.headers["Retry-After"] == "30"
    assert export_rows(db) == 2
    # AND exporting every dataset (more jobs than the limit) is refused whole: not one job is made
    everything = api("POST", "/datasets/exports", **admin)
    assert everything.status == 429 and "the most one user may have is 2" in everything.body["message"]
    assert export_rows(db) == 2
