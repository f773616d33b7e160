"""The emulators keep AWS's contracts: the SQS event source mapping and the HTTP API event."""

from __future__ import annotations

import base64
import threading
import time
import uuid

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, SQSEvent

from exporter.settings import ADMIN_GROUP
from local.event_source import EventSourceMapping
from local.gateway import http_api_event, reply_from_result
from local.identity import gateway_claims
from local.services import create_aws_resources

pytestmark = pytest.mark.e2e


@pytest.fixture
def queue(moto_server):
    """A job queue whose messages reappear after 1 s and go to the DLQ after 2 receives."""
    return create_aws_resources(
        moto_server.endpoint_url, prefix=f"es{uuid.uuid4().hex[:10]}", visibility_timeout=1, max_receive_count=2
    )


def _mapping(queue, handler) -> EventSourceMapping:
    return EventSourceMapping(
        sqs=boto3.client("sqs"),
        queue_url=queue.queue_url,
        queue_arn=queue.queue_arn,
        region="us-east-1",
        handler=handler,
        container=threading.Lock(),
        stop=threading.Event(),
        wait_seconds=1,
    )


def _send(queue, *bodies: str) -> None:
    for body in bodies:
        boto3.client("sqs").send_message(QueueUrl=queue.queue_url, MessageBody=body)


def _poll_until(mapping: EventSourceMapping, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        mapping.poll_once()
    assert condition()


def _waiting(queue_url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _bodies_in(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [m["Body"] for m in messages]


def test_the_worker_gets_a_real_sqs_event_and_only_reported_failures_come_back(queue):
    # GIVEN two jobs, and a worker that reports the second as failed the first time it sees it
    seen: list[tuple[str, str]] = []

    def worker(event, context):
        records = list(SQSEvent(event).records)
        assert all(r.event_source == "aws:sqs" and r.event_source_arn == queue.queue_arn for r in records)
        assert context.get_remaining_time_in_millis() > 0
        seen.extend((r.body, r.attributes.approximate_receive_count) for r in records)
        failed = [r.message_id for r in records if r.body == "job-2" and r.attributes.approximate_receive_count == "1"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    _send(queue, "job-1", "job-2")
    mapping = _mapping(queue, worker)

    # WHEN the mapping polls until the failed job came back once
    _poll_until(mapping, lambda: ("job-2", "2") in seen)

    # THEN the successful job was delivered once, the failed one again after the visibility timeout
    assert [body for body, _count in seen].count("job-1") == 1
    assert ("job-2", "1") in seen
    assert _bodies_in(queue.queue_url) == []


def test_a_worker_that_raises_leaves_the_batch_and_it_ends_in_the_dlq(queue):
    # GIVEN a job whose worker always raises
    def worker(event, context):
        raise RuntimeError("boom")

    _send(queue, "poison")
    mapping = _mapping(queue, worker)

    # WHEN the mapping keeps polling past the queue's maxReceiveCount (2)
    _poll_until(mapping, lambda: _waiting(queue.dlq_url) == 1)

    # THEN the message was not deleted but moved to the dead-letter queue
    assert _bodies_in(queue.dlq_url) == ["poison"]
    assert _bodies_in(queue.queue_url) == []


def test_the_http_api_event_is_what_api_gateway_sends():
    # GIVEN a request with repeated query keys, cookies, a binary body and verified claims
    claims = {"sub": "alice", "cognito:groups": [ADMIN_GROUP, "staff"], "exp": 1_900_000_000}
    event = http_api_event(
        method="POST",
        raw_path="/exports",
        raw_query="a=1&a=2&b=x",
        headers={"content-type": "application/octet-stream", "cookie": "s=1; t=2", "user-agent": "curl"},
        body=b"\x00\x01",
        source_ip="127.0.0.1",
        protocol="HTTP/1.1",
        claims=claims,
        host="127.0.0.1:8080",
    )

    # WHEN Powertools reads it THEN it sees what API Gateway would have sent
    parsed = APIGatewayProxyEventV2(event)
    assert parsed.query_string_parameters == {"a": "1,2", "b": "x"}
    assert parsed.cookies == ["s=1", "t=2"]
    assert parsed.is_base64_encoded and base64.b64decode(parsed.body) == b"\x00\x01"
    assert parsed.request_context.http.method == "POST"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] == f"[{ADMIN_GROUP} staff]"
    assert gateway_claims(claims)["exp"] == "1900000000"
    assert "pathParameters" not in event


def test_a_lambda_result_becomes_the_http_response():
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain"},
        "cookies": ["a=b; Path=/"],
        "body": base64.b64encode(b"hello").decode(),
        "isBase64Encoded": True,
    }
    reply = reply_from_result(result)
    assert (reply.status, reply.body) == (201, b"hello")
    assert ("Set-Cookie", "a=b; Path=/") in reply.headers
    assert reply_from_result({"ok": True}).status == 200
