"""Sweeper Lambda (every few minutes): lapsed leases, lost messages, the dead-letter queue."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from exporter.jobs.sweeper import drain_dead_letters, sweep
from worker.dependencies import sweeper, sweeper_settings

logger = Logger()
metrics = Metrics()
sweeper_settings()  # validated at cold start


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    deps = sweeper()
    report = sweep(deps.jobs, deps.queue)
    drained = drain_dead_letters(deps.jobs, deps.sqs, deps.settings.DLQ_URL) if deps.settings.DLQ_URL else 0
    events = deps.notifier.publish_due() if deps.notifier is not None else []
    metrics.add_metric(name="JobEventsPublished", unit=MetricUnit.Count, value=len(events))
    metrics.add_metric(name="ExportsRequeued", unit=MetricUnit.Count, value=len(report.requeued))
    metrics.add_metric(name="ExportsFailedBySweeper", unit=MetricUnit.Count, value=len(report.failed))
    return {
        "requeued": len(report.requeued),
        "failed": len(report.failed),
        "resent": len(report.resent),
        "dead_letters": drained,
        "events": len(events),
    }
