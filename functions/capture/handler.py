"""Capture Lambda: SQS (batch size 1) → one capture window per record, partial batch failures."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from capture.dependencies import capture, settings
from exporter.captures.model import CaptureMessage
from exporter.jobs.lifecycle import invocation_deadline

logger = Logger()
tracer = Tracer()
metrics = Metrics()
settings()  # validated at cold start: a bad configuration fails the init, not the first record


class CaptureMessageRecord(SqsRecordModel):
    body: Json[CaptureMessage]  # type: ignore[assignment]  # malformed: a batch item failure → redelivered → DLQ


processor = BatchProcessor(event_type=EventType.SQS, model=CaptureMessageRecord)


@tracer.capture_method
def run_capture_record(record: CaptureMessageRecord) -> str:
    return capture().run(record.body, record.messageId, metrics).outcome.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    with invocation_deadline(context):  # a window longer than the run hands over before the invocation ends
        return process_partial_response(
            event=event, record_handler=run_capture_record, processor=processor, context=context
        )
