"""Internal API Lambda: source applications' uploads and errors (no JWT; a pre-shared key per application)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from internal.app import app
from internal.dependencies import settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
settings()  # validated at cold start


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
