"""EventBridge Scheduler's firing, emulated: moto stores schedules but never fires them.

A process of its own (``python -m local.schedule_source``), like the fire function's containers
in AWS. Every few seconds it reads the enabled schedules of the service's group from the moto
server, works out which fire times fell due since it last looked (with the same expression
evaluator the API shows next runs with), and invokes the real fire handler once per due time
with the schedule's target input, ``<aws.scheduler.scheduled-time>`` filled in as Scheduler
does. A one-off ``at()`` schedule is removed once it has fired (``ActionAfterCompletion``).
Fire times from before the process started are not replayed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import takewhile
from typing import Any

import boto3

from exporter.adapters.scheduler import SCHEDULED_TIME
from exporter.schedules.expressions import fire_times, parse, zone
from local.lambda_context import LocalLambdaContext
from local.services import LOCAL_AWS_ENV, local_client

log = logging.getLogger("local.scheduler")

TICK_SECONDS = 5.0
STOP_SECONDS = 10.0
FIRE_FUNCTION = "export-service-fire"
SCHEDULE_GROUP = "export-service-schedules"
ACCOUNT = "000000000000"

Handler = Callable[[dict[str, Any], Any], Any]


def due(definition: dict[str, Any], *, since: datetime, now: datetime) -> list[datetime]:
    """The fire times of a Scheduler schedule in (since, now]."""
    expression = parse(definition["ScheduleExpression"])
    tz = zone(definition.get("ScheduleExpressionTimezone") or "UTC")
    anchor = definition["LastModificationDate"]
    return list(takewhile(lambda t: t <= now, fire_times(expression, tz, after=since, anchor=anchor)))


def fire_event(definition: dict[str, Any], fire_time: datetime) -> dict[str, Any]:
    """The target input with Scheduler's placeholder replaced, as the fire function receives it."""
    text = definition["Target"]["Input"].replace(SCHEDULED_TIME, fire_time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return dict(json.loads(text))


@dataclass
class LocalScheduler:
    client: Any
    group: str
    handler: Handler
    started: datetime
    # schedule name → (its LastModificationDate, the time it was last looked at)
    seen: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)

    def tick(self, now: datetime) -> int:
        fired = 0
        listed = self.client.list_schedules(GroupName=self.group, State="ENABLED")["Schedules"]
        for summary in listed:
            definition = self.client.get_schedule(GroupName=self.group, Name=summary["Name"])
            fired += self._fire_due(definition, now)
        return fired

    def _fire_due(self, definition: dict[str, Any], now: datetime) -> int:
        name, modified = definition["Name"], definition["LastModificationDate"]
        previous = self.seen.get(name)
        since = previous[1] if previous and previous[0] == modified else max(modified, self.started)
        times = due(definition, since=since, now=now)
        for fire_time in times:
            self._invoke(name, fire_event(definition, fire_time))
        self.seen[name] = (modified, now)
        if times and definition["ScheduleExpression"].startswith("at("):
            self.client.delete_schedule(GroupName=self.group, Name=name)
        return len(times)

    def _invoke(self, name: str, event: dict[str, Any]) -> None:
        try:
            result = self.handler(event, LocalLambdaContext(function_name=FIRE_FUNCTION, timeout_seconds=60))
            log.info("schedule %s fired for %s: %s", name, event.get("fire_time"), result)
        except Exception:
            log.error("schedule %s: the fire function raised:\n%s", name, traceback.format_exc())


def prepare(endpoint_url: str, dead_letter_arn: str) -> dict[str, str]:
    """The schedule group on the moto server, and the API's settings for it (as the CDK app sets them)."""
    client = local_client("scheduler", endpoint_url)
    client.create_schedule_group(Name=SCHEDULE_GROUP)  # moto starts empty on every run of the stack
    region = LOCAL_AWS_ENV["AWS_REGION"]
    return {
        "SCHEDULE_GROUP": SCHEDULE_GROUP,
        "SCHEDULE_TARGET_ARN": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{FIRE_FUNCTION}",
        "SCHEDULE_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/export-service-scheduler",
        "SCHEDULE_DLQ_ARN": dead_letter_arn,
    }


def start_process() -> subprocess.Popen[bytes]:
    """The emulated Scheduler and the fire function, in a process of their own."""
    return subprocess.Popen([sys.executable, "-m", "local.schedule_source"], env=dict(os.environ))


def run(stop: threading.Event) -> None:
    from scheduler.handler import lambda_handler  # after the environment is set, as a cold start

    region = os.environ.get("AWS_REGION", "us-east-1")
    scheduler = LocalScheduler(
        client=boto3.client("scheduler", region_name=region),
        group=os.environ["SCHEDULE_GROUP"],
        handler=lambda_handler,
        started=datetime.now(UTC),
    )
    interval = float(os.environ.get("SCHEDULE_TICK_SECONDS", TICK_SECONDS))
    log.info("firing the schedules of group %s every %.0fs", scheduler.group, interval)
    while not stop.wait(interval):
        try:
            scheduler.tick(datetime.now(UTC))
        except Exception:
            log.error("reading the schedules failed:\n%s", traceback.format_exc())


def main() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from local.stack import configure_logging

    configure_logging()
    run(stop)


if __name__ == "__main__":
    main()
