"""Fixtures that call the real handlers in-process against PostgreSQL and the moto server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from local.event_source import sqs_event_of
from local.services import put_secret
from tests.support import context, http_event


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@pytest.fixture
def api(service_env) -> Callable[..., Reply]:
    """``api("GET", "/exports", user="alice")`` → the handler's reply, body parsed."""
    from api.handler import lambda_handler

    def call(method: str, path: str, **kwargs: Any) -> Reply:
        response = lambda_handler(http_event(method, path, **kwargs), context())
        text = response.get("body") or ""
        try:
            body = json.loads(text) if text else None
        except json.JSONDecodeError:
            body = text
        return Reply(response["statusCode"], body, response.get("headers") or {})

    return call


@dataclass
class Queue:
    url: str
    sqs: Any

    def take(self) -> list[str]:
        """Every message now visible on the queue (deleted from it), bodies only."""
        bodies: list[str] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                return bodies
            for m in messages:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def jobs_queue(service_env, sqs) -> Queue:
    return Queue(service_env.queue_url, sqs)


@pytest.fixture
def run_worker(service_env) -> Callable[..., dict]:
    """Invoke the worker handler with an SQS event of the given bodies; return its response."""
    from worker.handler import lambda_handler

    def run(*bodies: str) -> dict:
        event = sqs_event_of(*bodies, queue_arn=service_env.queue_arn)
        response = dict(lambda_handler(event, context()))
        response["_ids"] = [r["messageId"] for r in event["Records"]]
        return response

    return run


@pytest.fixture
def drain(jobs_queue: Queue, run_worker: Callable[..., dict]) -> Callable[[], int]:
    """Run the worker on whatever is queued until the queue is empty (retries included)."""

    def go(max_rounds: int = 10) -> int:
        handled = 0
        for _ in range(max_rounds):
            bodies = jobs_queue.take()
            if not bodies:
                return handled
            response = run_worker(*bodies)
            assert response["batchItemFailures"] == []
            handled += len(bodies)
        return handled

    return go


@pytest.fixture
def capture_env(service_env, redis_server, moto_server, monkeypatch: pytest.MonkeyPatch):
    """The capture Lambda's environment on top of ``service_env``: the session's Redis, a masking secret."""
    monkeypatch.setenv("REDIS_SVC", redis_server.url)
    arn = put_secret(moto_server.endpoint_url, "test/masking-key", "test-masking-key-0123456789abcdef")
    monkeypatch.setenv("MASKING_SECRET_ARN", arn)
    from capture import dependencies as capture_deps

    capture_deps.settings.cache_clear()
    capture_deps.capture.cache_clear()
    return service_env


@pytest.fixture
def capture_queue(capture_env, sqs) -> Queue:
    return Queue(capture_env.capture_queue_url, sqs)


@pytest.fixture
def run_capture(capture_env) -> Callable[..., dict]:
    """Invoke the capture handler with an SQS event of the given bodies; return its response."""
    from capture.handler import lambda_handler

    def run(*bodies: str) -> dict:
        event = sqs_event_of(*bodies, queue_arn=capture_env.capture_queue_arn)
        return dict(lambda_handler(event, context()))

    return run


@dataclass
class Scheduling:
    """The schedules' side of AWS for one test: its own Scheduler group on the moto server."""

    group: str
    client: Any

    def schedules(self) -> dict[str, dict[str, Any]]:
        """Every Scheduler schedule in the group, full definitions, by name."""
        listed = self.client.list_schedules(GroupName=self.group)["Schedules"]
        return {s["Name"]: self.client.get_schedule(GroupName=self.group, Name=s["Name"]) for s in listed}


FIRE_FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:export-service-fire"
SCHEDULER_ROLE_ARN = "arn:aws:iam::000000000000:role/export-service-scheduler"


@pytest.fixture
def scheduling(service_env, db, monkeypatch: pytest.MonkeyPatch) -> Scheduling:
    """Schedules configured on the API and the fire function: an empty schedules table, a new group."""
    import boto3

    with db.cursor() as cur:
        cur.execute("TRUNCATE schedules, schedule_runs")
    client = boto3.client("scheduler")
    group = f"g{uuid.uuid4().hex[:12]}"
    client.create_schedule_group(Name=group)
    env = {
        "SCHEDULE_GROUP": group,
        "SCHEDULE_TARGET_ARN": FIRE_FUNCTION_ARN,
        "SCHEDULE_ROLE_ARN": SCHEDULER_ROLE_ARN,
        "SCHEDULE_DLQ_ARN": service_env.dlq_arn,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from api import dependencies as api_deps
    from scheduler import dependencies as fire_deps

    fire_ports = (fire_deps.settings, fire_deps.database, fire_deps.catalogue, fire_deps.operator_runs, fire_deps.ports)
    for cached in (api_deps.settings, api_deps.dependencies, *fire_ports):
        cached.cache_clear()
    return Scheduling(group, client)


@pytest.fixture
def fire_schedule(scheduling) -> Callable[[str, str], dict]:
    """Invoke the fire function as EventBridge Scheduler does: ``fire_schedule(schedule_id, fire_time)``."""
    from scheduler.handler import lambda_handler

    def fire(schedule_id: str, fire_time: str) -> dict:
        return dict(lambda_handler({"schedule_id": schedule_id, "fire_time": fire_time}, context()))

    return fire


def keyed(api, path: str, key: str, body: Any, user: str = "alice", groups: list[str] | None = None) -> Reply:
    """POST ``body`` to ``path`` with ``Idempotency-Key: key`` (``api`` is the fixture: the handler's environment)."""
    from api.handler import lambda_handler

    event = http_event("POST", path, body=body, user=user, groups=groups)
    event["headers"]["idempotency-key"] = key
    response = lambda_handler(event, context())
    text = response.get("body") or ""
    return Reply(response["statusCode"], json.loads(text) if text else None, response.get("headers") or {})
