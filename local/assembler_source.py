"""The assembler's side of AWS, emulated: its SQS event source mapping and its sweep's schedule.

A process of its own (``python -m local.assembler_source``), supervised like the worker: the
mapping long-polls the assembly queue and invokes ``assembler.handler`` with real SQS events;
the sources sweep (``assembler.sweep``) runs on the local sweeper's timer.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

import boto3

from local import inflight
from local.event_source import SWEEPER_INTERVAL_SECONDS, EventSourceMapping, Schedule

log = logging.getLogger("local.assembler")

ASSEMBLER_FUNCTION = "export-service-assembler"
SWEEP_FUNCTION = "export-service-sources-sweep"


def run_assembler_side(stop: threading.Event) -> None:
    from assembler.handler import lambda_handler as assembler_handler  # after the environment is set
    from assembler.sweep import lambda_handler as sweep_handler

    region = os.environ.get("AWS_REGION", "us-east-1")
    container = threading.Lock()  # one warm container: one invocation at a time
    mapping = EventSourceMapping(
        sqs=boto3.client("sqs", region_name=region),
        queue_url=os.environ["ASSEMBLY_QUEUE_URL"],
        queue_arn=os.environ["LOCAL_ASSEMBLY_QUEUE_ARN"],
        region=region,
        handler=assembler_handler,
        container=container,
        stop=stop,
        function_name=ASSEMBLER_FUNCTION,
        label="assembly",
        logger=log,
    )
    interval = float(os.environ.get("SWEEPER_INTERVAL_SECONDS", SWEEPER_INTERVAL_SECONDS))
    schedule = Schedule(
        handler=sweep_handler, interval=interval, container=container, stop=stop, function_name=SWEEP_FUNCTION
    )
    threads = [
        threading.Thread(target=mapping.run, name="assembly-event-source", daemon=True),
        threading.Thread(target=schedule.run, name="sources-sweep-schedule", daemon=True),
    ]
    for thread in threads:
        thread.start()
    log.info("assembler polling %s, sources sweep every %.0fs", mapping.queue_url, interval)
    while not stop.wait(0.5):
        pass
    for thread in threads:
        thread.join(timeout=60)


def main() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from local.stack import configure_logging

    configure_logging()
    inflight.install()  # before the handlers make their boto3 clients
    run_assembler_side(stop)
    log.info("assembler stopped")


if __name__ == "__main__":
    main()
