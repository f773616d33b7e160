"""Schedule fire Lambda: ``{"schedule_id", "fire_time"}`` from EventBridge Scheduler → one export.

An exception (database down) fails the invocation, so Scheduler retries it and, after its
retry policy, sends the fire to the schedules' dead-letter queue.
"""

from __future__ import annotations

from uuid import UUID

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from exporter.schedules.fire import fire, parse_fire_time
from scheduler.dependencies import ports, settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
settings()  # validated at cold start


class FireEvent(BaseModel):
    schedule_id: UUID
    fire_time: str


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = FireEvent.model_validate(event)
    schedules, targets = ports()
    result = fire(request.schedule_id, parse_fire_time(request.fire_time), schedules=schedules, targets=targets)
    metrics.add_metric(name=f"ScheduleFires{result.outcome.value.title()}", unit=MetricUnit.Count, value=1)
    return {
        "outcome": result.outcome.value,
        "export_id": str(result.export_id) if result.export_id else None,
        "message": result.message,
    }
