"""Worker Lambda: SQS batch → one export attempt per record, partial batch failures."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from exporter.export_job import Outcome, run_export
from exporter.models import ExportMessage
from worker.dependencies import worker

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
METRIC_BY_OUTCOME = {
    Outcome.COMPLETED: "ExportsCompleted",
    Outcome.FAILED: "ExportsFailed",
    Outcome.RETRYING: "ExportsRetried",
    Outcome.SKIPPED: "MessagesSkipped",
    Outcome.LEASE_LOST: "LeasesLost",
}


@tracer.capture_method
def run_export_record(record: SQSRecord) -> str:
    message = ExportMessage.model_validate_json(record.body)  # malformed: raise → retried → DLQ
    logger.set_correlation_id(str(message.export_id))
    deps = worker()
    result = run_export(message, deps.ports, deps.config, owner=f"{record.message_id}:{message.attempt}")
    metrics.add_metric(name=METRIC_BY_OUTCOME[result.outcome], unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.COMPLETED:
        metrics.add_metric(name="RowsExported", unit=MetricUnit.Count, value=result.rows)
        metrics.add_metric(name="BytesExported", unit=MetricUnit.Bytes, value=result.bytes)
    return result.outcome.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=run_export_record, processor=processor, context=context)
