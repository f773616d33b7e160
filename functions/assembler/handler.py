"""Assembler Lambda: assembly queue → zip an applications export's parts (one attempt per record)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from assembler.dependencies import assembler, settings
from exporter.applications.model import AssemblyMessage
from exporter.jobs.lifecycle import Outcome

logger = Logger()
tracer = Tracer()
metrics = Metrics()
settings()  # validated at cold start


class AssemblyRecord(SqsRecordModel):
    body: Json[AssemblyMessage]  # type: ignore[assignment]  # malformed: a batch item failure → retried → DLQ


processor = BatchProcessor(event_type=EventType.SQS, model=AssemblyRecord)


@tracer.capture_method
def assemble_record(record: AssemblyRecord) -> str:
    deps = assembler()
    result = deps.worker.run(record.body, record.messageId, metrics)
    if result.outcome is Outcome.COMPLETED:
        deps.sources.apply_requested_expiry(record.body.export_id)
    return result.outcome.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=assemble_record, processor=processor, context=context)
