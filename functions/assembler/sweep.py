"""Sources sweep Lambda (every few minutes): sources that never answered time out; lost assemblies are resent."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from assembler.dependencies import assembler, settings
from exporter.applications.assembly import sweep_sources

logger = Logger()
metrics = Metrics()
settings()  # validated at cold start


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    deps = assembler()
    report = sweep_sources(
        jobs=deps.jobs, sources=deps.sources, queue=deps.queue, timeout_seconds=deps.settings.SOURCE_TIMEOUT_SECONDS
    )
    metrics.add_metric(name="SourcesTimedOut", unit=MetricUnit.Count, value=len(report.timed_out))
    return {"timed_out": len(report.timed_out), "settled": len(report.settled), "resent": len(report.resent)}
