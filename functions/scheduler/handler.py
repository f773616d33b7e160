"""Schedule fire Lambda: ``{"schedule_id", "fire_time"}`` from EventBridge Scheduler → one export.

An operator schedule (a dataset's ``[schedule]``, made by the CDK app) sends ``{"dataset",
"fire_time"}`` instead: it has no row and runs as the system.

An exception (database down) fails the invocation, so Scheduler retries it and, after its
retry policy, sends the fire to the schedules' dead-letter queue.
"""

from __future__ import annotations

from uuid import UUID

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, model_validator

from exporter.schedules.fire import fire, fire_operator, parse_fire_time
from scheduler.dependencies import catalogue, operator_runs, ports, settings, start_waiting

logger = Logger()
tracer = Tracer()
metrics = Metrics()
settings()  # validated at cold start


class FireEvent(BaseModel):
    schedule_id: UUID | None = None  # a user's schedule
    dataset: str | None = Field(default=None, min_length=1, max_length=128)  # an operator schedule
    fire_time: str

    @model_validator(mode="after")
    def _one_schedule(self) -> FireEvent:
        if (self.schedule_id is None) == (self.dataset is None):
            raise ValueError("a fire names a schedule_id or a dataset (an operator schedule), not both")
        return self


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = FireEvent.model_validate(event)
    schedules, targets = ports()
    fire_time = parse_fire_time(request.fire_time)
    if request.schedule_id is not None:
        result = fire(request.schedule_id, fire_time, schedules=schedules, targets=targets)
    else:
        result = fire_operator(
            str(request.dataset),
            fire_time,
            catalogue=catalogue(),
            runs=operator_runs(),
            targets=targets,
            batch=start_waiting,
        )
    metrics.add_metric(name=f"ScheduleFires{result.outcome.value.title()}", unit=MetricUnit.Count, value=1)
    return {
        "outcome": result.outcome.value,
        "export_id": str(result.export_id) if result.export_id else None,
        "message": result.message,
    }
