"""Capture Lambda: SQS (batch size 1) → one capture window per record, partial batch failures."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from capture.dependencies import capture
from exporter.capture import run_capture
from exporter.export_job import Outcome
from exporter.models import CaptureMessage

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
METRIC_BY_OUTCOME = {
    Outcome.COMPLETED: "CapturesCompleted",
    Outcome.FAILED: "CapturesFailed",
    Outcome.SKIPPED: "MessagesSkipped",
    Outcome.LEASE_LOST: "LeasesLost",
}


@tracer.capture_method
def run_capture_record(record: SQSRecord) -> str:
    message = CaptureMessage.model_validate_json(record.body)  # malformed: raise → redelivered → DLQ
    logger.set_correlation_id(str(message.export_id))
    deps = capture()
    result = run_capture(message, deps.ports, deps.config, owner=f"{record.message_id}:{message.attempt}")
    metrics.add_metric(name=METRIC_BY_OUTCOME[result.outcome], unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.COMPLETED:
        metrics.add_metric(name="MessagesCaptured", unit=MetricUnit.Count, value=result.rows)
        metrics.add_metric(name="BytesCaptured", unit=MetricUnit.Bytes, value=result.bytes)
    return result.outcome.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=run_capture_record, processor=processor, context=context
    )
