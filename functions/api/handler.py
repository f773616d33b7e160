"""API Lambda: HTTP API (payload v2) → the export routes."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import strtobool
from aws_lambda_powertools.utilities.typing import LambdaContext

from api.app import build_app

logger = Logger()
metrics = Metrics()
app = build_app()


def tracing_on(environ: Mapping[str, str]) -> bool:
    """Powertools' rule: traced inside Lambda (not SAM local or Chalice) unless POWERTOOLS_TRACE_DISABLED is true."""
    if strtobool(environ.get(constants.TRACER_DISABLED_ENV, "false")):
        return False
    in_lambda = constants.LAMBDA_TASK_ROOT_ENV in environ
    return in_lambda and not (environ.get(constants.SAM_LOCAL_ENV) or environ.get(constants.CHALICE_LOCAL_ENV))


def traced(handler: Callable[[dict, LambdaContext], Any]) -> Callable[[dict, LambdaContext], Any]:
    """``handler`` in an X-Ray subsegment when tracing is on; when it is off, the X-Ray SDK is never imported."""
    if not tracing_on(os.environ):
        return handler
    return Tracer().capture_lambda_handler(handler)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
