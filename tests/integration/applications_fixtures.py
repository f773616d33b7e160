"""Fixtures of the application-sources tests: two source applications with keys in Secrets Manager, the
service's event bus routed (per application) to a queue on the moto server, the internal API, the assembler."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from local.event_source import sqs_event_of
from local.services import put_secret
from tests.integration.conftest import Queue, Reply
from tests.support import context, http_event

KEYS = {"inventory": "inventory-key-" + "i" * 20, "advisor": "advisor-key-" + "a" * 20}


@dataclass
class Sources:
    """What a test drives: the application queues, the internal API, the assembler and its sweep."""

    app_queues: dict[str, Queue]
    assembly_queue: Queue
    sqs: Any
    s3: Any
    bucket: str

    def internal(
        self,
        path: str,
        *,
        body: bytes | str | None = None,
        key: str | None = None,
        content_type: str | None = "text/csv",
        query: dict[str, str] | None = None,
        binary: bool = False,
    ) -> Reply:
        from internal.handler import lambda_handler

        event = http_event("POST", path, user=None, query=query)
        event["requestContext"].pop("authorizer")
        headers = {"host": "internal.test"}
        if content_type:
            headers["content-type"] = content_type
        if key is not None:
            headers["x-rh-exports-psk"] = key
        event["headers"] = headers
        data = body.encode() if isinstance(body, str) else body
        if binary and data is not None:
            event["body"], event["isBase64Encoded"] = base64.b64encode(data).decode(), True
        else:
            event["body"] = data.decode() if data is not None else None
        response = lambda_handler(event, context())
        text = response.get("body") or ""
        return Reply(response["statusCode"], json.loads(text) if text else None, response.get("headers") or {})

    def answer(self, export_id: str, source: dict[str, Any], body: str | None = None, **kwargs: Any) -> Reply:
        """The source's application uploads ``body`` (or reports an error when it is None) with its own key."""
        base = f"/app/export/v1/{export_id}/{source['application']}/{source['id']}"
        key = KEYS[source["application"]]
        if body is None:
            return self.internal(
                f"{base}/error", body=json.dumps({"message": "cannot do", "error": 500}), key=key, content_type=None
            )
        return self.internal(f"{base}/upload", body=body, key=key, **kwargs)

    def assemble(self, *extra: str) -> list[dict]:
        """Run the assembler on every queued assembly message (and ``extra`` bodies); the handler's answers."""
        from assembler.handler import lambda_handler

        answers = []
        for _ in range(5):
            bodies = [*self.assembly_queue.take(), *extra]
            extra = ()
            if not bodies:
                break
            answers.append(dict(lambda_handler(sqs_event_of(*bodies, queue_arn="arn:aws:sqs:x:0:assembly"), context())))
        return answers

    def sweep(self) -> dict:
        from assembler.sweep import lambda_handler

        return dict(lambda_handler({}, context()))

    def zip_of(self, export_id: str) -> zipfile.ZipFile:
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket, Prefix="outputs/").get("Contents", [])]
        (key,) = [k for k in keys if export_id in k]
        data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return zipfile.ZipFile(io.BytesIO(data))


def registry(secrets: dict[str, str]) -> dict[str, Any]:
    return {
        "inventory": {"resources": {"hosts": {"filters": ["name"]}}, "secret_arn": secrets["inventory"]},
        "advisor": {"resources": {"recommendations": {"filters": []}}, "secret_arn": secrets["advisor"]},
    }


@pytest.fixture
def sources(service_env, moto_server, sqs, s3, monkeypatch: pytest.MonkeyPatch) -> Sources:
    prefix = f"a{uuid.uuid4().hex[:10]}"
    secrets = {name: put_secret(moto_server.endpoint_url, f"{prefix}/{name}", key) for name, key in KEYS.items()}
    events = __import__("boto3").client("events")
    bus = events.create_event_bus(Name=f"{prefix}-bus")["EventBusArn"].split("/")[-1]
    queues: dict[str, Queue] = {}
    for name in KEYS:
        url = sqs.create_queue(QueueName=f"{prefix}-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"detail-type": ["Export Requested"], "detail": {"application": [name]}}
        events.put_rule(Name=f"{prefix}-{name}", EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"{prefix}-{name}", EventBusName=bus, Targets=[{"Id": name, "Arn": arn}])
        queues[name] = Queue(url, sqs)
    assembly_url = sqs.create_queue(QueueName=f"{prefix}-assembly")["QueueUrl"]
    for key, value in {
        "APPLICATIONS": json.dumps(registry(secrets)),
        "EVENT_BUS_NAME": bus,
        "ASSEMBLY_QUEUE_URL": assembly_url,
        "MAX_UPLOAD_BYTES": "4096",
        "LEASE_SECONDS": "30",
    }.items():
        monkeypatch.setenv(key, value)
    from api.routes import applications as routes
    from assembler import dependencies as assembler_deps
    from internal import dependencies as internal_deps

    for cached in (
        routes.applications,
        internal_deps.settings,
        internal_deps.dependencies,
        assembler_deps.settings,
        assembler_deps.assembler,
    ):
        cached.cache_clear()
    return Sources(queues, Queue(assembly_url, sqs), sqs, s3, service_env.exports_bucket)


def two_sources(**extra: Any) -> dict[str, Any]:
    return {
        "name": "my export",
        "format": "csv",
        "sources": [
            {"application": "inventory", "resource": "hosts", "filters": {"name": "web"}},
            {"application": "advisor", "resource": "recommendations"},
        ],
        **extra,
    }


Request = Callable[..., dict[str, Any]]


@pytest.fixture
def requested(api, sources) -> Request:
    """POST an applications export (two sources by default); its body, after asserting 202."""

    def post(body: dict[str, Any] | None = None, user: str = "alice") -> dict[str, Any]:
        reply = api("POST", "/api/export/v1/exports", body=body or two_sources(), user=user)
        assert reply.status == 202, reply.body
        return dict(reply.body)

    return post
