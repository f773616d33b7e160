"""Every job's state changes on the service's bus: Export Completed, Export Failed, Export Expired.

A rule on the moto server routes the service's events to a queue of the test's own, as an
operator's subscription would; the tests read what arrived there.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.observations import insert_observations
from tests.integration.conftest import Queue
from tests.support import context, observation

QUERY = {"method": "PLATFORM_EQUALS", "args": ["facebook"]}
STATE_CHANGES = ["Export Completed", "Export Failed", "Export Expired"]


@pytest.fixture
def subscribed(service_env, sqs, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """The service's bus with a rule sending every state change to a queue; returns a reader of that queue."""
    events = boto3.client("events")
    bus = f"bus-{uuid.uuid4().hex[:10]}"
    events.create_event_bus(Name=bus)
    url = sqs.create_queue(QueueName=f"{bus}-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["export-service"], "detail-type": STATE_CHANGES}
    events.put_rule(Name=f"{bus}-state", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"{bus}-state", EventBusName=bus, Targets=[{"Id": "subscriber", "Arn": arn}])
    monkeypatch.setenv("EVENT_BUS_NAME", bus)
    from worker import dependencies as worker_deps

    for cached in (worker_deps.settings, worker_deps.worker, worker_deps.sweeper_settings, worker_deps.sweeper):
        cached.cache_clear()
    queue = Queue(url, sqs)
    return lambda: [json.loads(body) for body in queue.take()]


def sweep() -> dict:
    from worker.sweeper import lambda_handler

    return dict(lambda_handler({}, context()))


def test_a_completed_export_is_announced_once_with_its_kind_creator_and_status(api, db, drain, subscribed) -> None:
    # GIVEN a subscriber to the service's state changes and an export of one observation
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": QUERY}, user="erin").body["export_id"]

    # WHEN the worker completes it and the sweeper runs afterwards
    drain()
    sweep()

    # THEN exactly one Export Completed arrived, naming the export, its kind, creator and status
    received = subscribed()
    assert [e["detail-type"] for e in received] == ["Export Completed"]
    assert received[0]["source"] == "export-service"
    detail = received[0]["detail"]
    assert (detail["export_id"], detail["kind"], detail["creator"], detail["status"]) == (
        export_id,
        "query",
        "erin",
        "completed",
    )


def test_an_export_failed_by_the_sweeper_is_announced_as_failed(api, db, sqs, service_env, subscribed) -> None:
    # GIVEN an export whose message ended in the dead-letter queue
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": QUERY}, user="frank").body["export_id"]
    Queue(service_env.queue_url, sqs).take()
    sqs.send_message(
        QueueUrl=service_env.dlq_url, MessageBody=json.dumps({"export_id": export_id, "creator_id": "frank"})
    )

    # WHEN the sweeper drains the dead letters, then runs again
    first, second = sweep(), sweep()

    # THEN one Export Failed arrived for it, with the failure's message
    received = subscribed()
    assert [(e["detail-type"], e["detail"]["export_id"]) for e in received] == [("Export Failed", export_id)]
    assert received[0]["detail"]["status"] == "failed" and received[0]["detail"]["message"]
    assert first["events"] + second["events"] == 1


def test_an_export_past_its_expiry_is_announced_as_expired_once(api, db, drain, subscribed) -> None:
    # GIVEN a completed export, already announced
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": QUERY}).body["export_id"]
    drain()
    assert [e["detail-type"] for e in subscribed()] == ["Export Completed"]

    # WHEN its expiry passes and the sweeper runs three times
    with db.cursor() as cur:
        cur.execute("UPDATE exports SET expires_at = now() - interval '1 minute' WHERE export_id = %s", (export_id,))
    for _ in range(3):
        sweep()

    # THEN exactly one Export Expired arrived, and the API shows it expired
    received = subscribed()
    assert [(e["detail-type"], e["detail"]["status"]) for e in received] == [("Export Expired", "expired")]
    assert api("GET", f"/exports/{export_id}").body["status"] == "expired"


def _use_bus(monkeypatch: pytest.MonkeyPatch, bus: str) -> None:
    from worker import dependencies as worker_deps

    monkeypatch.setenv("EVENT_BUS_NAME", bus)
    for cached in (worker_deps.settings, worker_deps.worker, worker_deps.sweeper_settings, worker_deps.sweeper):
        cached.cache_clear()


def test_an_event_that_could_not_be_published_goes_out_at_the_next_sweep(
    api, db, drain, subscribed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the worker pointed at a bus that does not exist
    subscribed_bus = os.environ["EVENT_BUS_NAME"]
    _use_bus(monkeypatch, "not-created-yet")
    insert_observations(db, [observation(1)])
    export_id = api("POST", "/exports", body={"query": QUERY}).body["export_id"]

    # WHEN the export completes anyway, and the sweeper later runs with the right bus
    drain()
    assert api("GET", f"/exports/{export_id}").body["status"] == "completed"
    _use_bus(monkeypatch, subscribed_bus)
    sweep()

    # THEN the Export Completed arrives then, once
    received = subscribed()
    assert [(e["detail-type"], e["detail"]["export_id"]) for e in received] == [("Export Completed", export_id)]
