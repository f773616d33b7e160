"""The assembler's side of AWS, emulated: its SQS event source mapping and its sweep's schedule.

A process of its own (``python -m local.assembler_source``), supervised like the worker: the
mapping long-polls the assembly queue and invokes ``assembler.handler`` with real SQS events;
the sources sweep (``assembler.sweep``) runs on the local sweeper's timer.
"""

from __future__ import annotations

import logging
import os
import threading

import boto3

from local.event_source import SWEEPER_INTERVAL_SECONDS, EventSourceMapping, Schedule, run_process, serve

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
    log.info("assembler polling %s, sources sweep every %.0fs", mapping.queue_url, interval)
    serve(stop, mapping, schedule, names=("assembly-event-source", "sources-sweep-schedule"))


def main() -> None:
    run_process(run_assembler_side, logger=log)


if __name__ == "__main__":
    main()
