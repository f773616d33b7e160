"""EventBridge Scheduler behind the :class:`~exporter.adapters.ports.ScheduleService` port.

Each service schedule is one Scheduler schedule in the service's schedule group, named by the
schedule id, firing the fire function with ``{"schedule_id", "fire_time"}`` (Scheduler fills in
``<aws.scheduler.scheduled-time>``). Flexible time window off, a retry policy, a dead-letter
queue; a one-off ``at()`` schedule is removed by Scheduler once it has run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import SchedulesUnavailable
from .ports import TimedSchedule

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
NOT_FOUND = "ResourceNotFoundException"


def fire_input(schedule_id: str) -> str:
    """The target input: which schedule, and the fire time Scheduler substitutes on every run."""
    return json.dumps({"schedule_id": schedule_id, "fire_time": SCHEDULED_TIME})


@dataclass(frozen=True)
class SchedulerTarget:
    """Where schedules fire and how Scheduler retries: settings of the deployment."""

    group: str
    target_arn: str
    role_arn: str
    dead_letter_arn: str
    max_attempts: int = 3
    max_event_age_seconds: int = 3600


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class EventBridgeScheduler:
    def __init__(self, client: Any, target: SchedulerTarget) -> None:
        self._client, self._target = client, target

    def _definition(self, schedule: TimedSchedule) -> dict[str, Any]:
        target = self._target
        return {
            "Name": schedule.name,
            "GroupName": target.group,
            "ScheduleExpression": schedule.expression,
            "ScheduleExpressionTimezone": schedule.timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED" if schedule.enabled else "DISABLED",
            "ActionAfterCompletion": "DELETE" if schedule.expression.startswith("at(") else "NONE",
            "Target": {
                "Arn": target.target_arn,
                "RoleArn": target.role_arn,
                "Input": fire_input(schedule.name),
                "DeadLetterConfig": {"Arn": target.dead_letter_arn},
                "RetryPolicy": {
                    "MaximumEventAgeInSeconds": target.max_event_age_seconds,
                    "MaximumRetryAttempts": target.max_attempts,
                },
            },
        }

    def create(self, schedule: TimedSchedule) -> None:
        try:
            self._client.create_schedule(**self._definition(schedule))
        except (ClientError, BotoCoreError) as error:
            raise SchedulesUnavailable(f"EventBridge Scheduler refused the schedule: {error}") from error

    def update(self, schedule: TimedSchedule) -> None:
        """Replace the definition; a one-off schedule Scheduler already removed is made again."""
        try:
            self._client.update_schedule(**self._definition(schedule))
        except ClientError as error:
            if _code(error) != NOT_FOUND:
                raise SchedulesUnavailable(f"EventBridge Scheduler refused the change: {error}") from error
            self.create(schedule)
        except BotoCoreError as error:
            raise SchedulesUnavailable(f"EventBridge Scheduler is unreachable: {error}") from error

    def delete(self, name: str) -> None:
        """Remove the schedule; one that is already gone is fine."""
        try:
            self._client.delete_schedule(Name=name, GroupName=self._target.group)
        except ClientError as error:
            if _code(error) != NOT_FOUND:
                raise SchedulesUnavailable(f"EventBridge Scheduler refused the delete: {error}") from error
        except BotoCoreError as error:
            raise SchedulesUnavailable(f"EventBridge Scheduler is unreachable: {error}") from error
