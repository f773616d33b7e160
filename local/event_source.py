"""The worker's side of AWS, emulated: the SQS event source mapping and the sweeper's schedule.

It runs in a process of its own (``python -m local.event_source``), as the worker runs in
containers of its own in AWS, so its Powertools state (logger keys, metric store) never mixes
with the API's. The mapping long-polls the job queue, invokes the worker with a real SQS
event, deletes the records the handler did not report in ``batchItemFailures`` and leaves the
failed ones to reappear after the visibility timeout. moto itself moves a message to the DLQ
on receive once its receive count reaches the queue's ``maxReceiveCount``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from local import faults, inflight
from local.lambda_context import LocalLambdaContext

log = logging.getLogger("local.worker")

BATCH_SIZE = 5
WAIT_SECONDS = 5  # long-poll, short enough for a prompt shutdown
SWEEPER_INTERVAL_SECONDS = 10.0  # EventBridge runs it every few minutes in AWS; locally a lost job comes back sooner
WORKER_FUNCTION = "export-service-worker"
SWEEPER_FUNCTION = "export-service-sweeper"
LOCAL_REGION = "us-east-1"
LOCAL_QUEUE_ARN = f"arn:aws:sqs:{LOCAL_REGION}:000000000000:jobs"

Handler = Callable[[dict[str, Any], Any], Any]


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS API message attribute in the Lambda event's spelling."""
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": value.get("BinaryListValues", []),
        "dataType": value.get("DataType", "String"),
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping passes to the function for ``messages``."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {
                    name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def sqs_event_of(*bodies: str, queue_arn: str = LOCAL_QUEUE_ARN, region: str = LOCAL_REGION) -> dict[str, Any]:
    """The event of a first delivery of one message per body, sent just now, for invoking a handler directly."""
    now = str(int(time.time() * 1000))
    messages = [
        {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": str(uuid.uuid4()),
            "Body": body,
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": now,
                "SenderId": "local",
                "ApproximateFirstReceiveTimestamp": now,
            },
        }
        for body in bodies
    ]
    return sqs_event(messages, queue_arn, region)


def failed_ids(result: Any, message_ids: list[str]) -> set[str]:
    """The records to keep: those in ``batchItemFailures``; all of them if the response is malformed."""
    if result is None:
        return set()
    if not isinstance(result, dict):
        return set(message_ids)
    failures = result.get("batchItemFailures") or []
    ids = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    if not all(isinstance(i, str) and i in message_ids for i in ids) or len(ids) != len(failures):
        return set(message_ids)  # as Lambda does: an unknown or empty identifier fails the whole batch
    return {str(i) for i in ids}


def job_id(body: str) -> str:
    try:
        return str(json.loads(body).get("export_id", "?"))
    except (ValueError, AttributeError):
        return "?"


@dataclass
class EventSourceMapping:
    sqs: Any
    queue_url: str
    queue_arn: str
    region: str
    handler: Handler
    container: threading.Lock
    stop: threading.Event
    batch_size: int = BATCH_SIZE
    wait_seconds: int = WAIT_SECONDS
    function_name: str = WORKER_FUNCTION
    timeout_seconds: float = 900.0
    label: str = "worker"  # "worker" or "capture": how its log lines name a record and a batch
    logger: logging.Logger = field(default=log, repr=False)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a broken poll must not end the mapping; it retries after a pause
                self.logger.error("event source mapping poll failed:\n%s", traceback.format_exc())
                self.stop.wait(2)

    def poll_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            self.deliver(messages)
        return len(messages)

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        ids = [m["MessageId"] for m in messages]
        held = [m["ReceiptHandle"] for m in messages]
        journal = inflight.journal()
        if journal is not None:
            journal.received(self.queue_url, held)
        context = LocalLambdaContext(function_name=self.function_name, timeout_seconds=self.timeout_seconds)
        with self.container:
            try:
                failed = failed_ids(self.handler(sqs_event(messages, self.queue_arn, self.region), context), ids)
            except Exception:
                self.logger.error(
                    "%s raised; the whole batch returns to the queue:\n%s", self.label, traceback.format_exc()
                )
                failed = set(ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        self.delete(done)
        if journal is not None:
            journal.settled(held)
        noun = "job" if self.label == "worker" else self.label
        for message in messages:
            outcome = "failed, will reappear" if message["MessageId"] in failed else "done"
            receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
            job, message_id = job_id(message["Body"]), message["MessageId"]
            self.logger.info("%s %s message %s receive #%s: %s", noun, job, message_id, receives, outcome)
        self.logger.info("%s batch: %d record(s), %d failure(s)", self.label, len(messages), len(failed))

    def delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)]
            response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                self.logger.warning("could not delete a processed message: %s", failure)


@dataclass
class Schedule:
    """EventBridge's ``rate(...)`` schedule: the handler every ``interval`` seconds, first after one interval."""

    handler: Handler
    interval: float
    container: threading.Lock
    stop: threading.Event
    function_name: str = SWEEPER_FUNCTION
    runs: int = field(default=0, init=False)

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            with self.container:
                try:
                    result = self.handler({}, LocalLambdaContext(function_name=self.function_name, timeout_seconds=300))
                    if not isinstance(result, dict) or any(result.values()):
                        log.info("sweeper: %s", result)
                except Exception:
                    log.error("sweeper raised:\n%s", traceback.format_exc())
            self.runs += 1


def run_worker_side(stop: threading.Event) -> None:
    """Poll the job queue and run the sweeper until ``stop`` is set; the environment is the stack's."""
    from worker.handler import lambda_handler as worker_handler  # after the environment is set
    from worker.sweeper import lambda_handler as sweeper_handler

    region = os.environ.get("AWS_REGION", "us-east-1")
    container = threading.Lock()  # one warm container: one invocation at a time
    mapping = EventSourceMapping(
        sqs=boto3.client("sqs", region_name=region),
        queue_url=os.environ["SQS_QUEUE_URL"],
        queue_arn=os.environ["LOCAL_QUEUE_ARN"],
        region=region,
        handler=faults.wrap(worker_handler),
        container=container,
        stop=stop,
    )
    interval = float(os.environ.get("SWEEPER_INTERVAL_SECONDS", SWEEPER_INTERVAL_SECONDS))
    schedule = Schedule(handler=sweeper_handler, interval=interval, container=container, stop=stop)
    log.info("worker polling %s (batch %d), sweeper every %.0fs", mapping.queue_url, mapping.batch_size, interval)
    serve(stop, mapping, schedule, names=("sqs-event-source", "sweeper-schedule"))


def serve(stop: threading.Event, mapping: EventSourceMapping, schedule: Schedule, *, names: tuple[str, str]) -> None:
    """The mapping and the schedule, each on a thread of its own, until ``stop`` is set."""
    threads = [
        threading.Thread(target=mapping.run, name=names[0], daemon=True),
        threading.Thread(target=schedule.run, name=names[1], daemon=True),
    ]
    for thread in threads:
        thread.start()
    while not stop.wait(0.5):
        pass
    for thread in threads:
        thread.join(timeout=60)


def run_process(side: Callable[[threading.Event], None], *, logger: logging.Logger, with_faults: bool = False) -> None:
    """A side of the stack as a process: stops cleanly on SIGINT/SIGTERM (set first, so start-up is covered too)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from local.stack import configure_logging

    configure_logging()
    inflight.install()  # before the handlers make their boto3 clients
    if with_faults:
        faults.install()
    side(stop)
    logger.info("stopped")


def main() -> None:
    run_process(run_worker_side, logger=log, with_faults=True)


if __name__ == "__main__":
    main()
