"""Worker Lambda: SQS batch → one query-export attempt per record, partial batch failures."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from exporter.exports.model import ExportMessage
from worker.dependencies import settings, worker

logger = Logger()
tracer = Tracer()
metrics = Metrics()
settings()  # validated at cold start: a bad configuration fails the init, not the first record


class ExportMessageRecord(SqsRecordModel):
    body: Json[ExportMessage]  # type: ignore[assignment]  # malformed: a batch item failure → retried → DLQ


processor = BatchProcessor(event_type=EventType.SQS, model=ExportMessageRecord)


@tracer.capture_method
def run_export_record(record: ExportMessageRecord) -> str:
    return worker().run(record.body, record.messageId, metrics).outcome.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=run_export_record, processor=processor, context=context)
