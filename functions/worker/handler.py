"""Worker Lambda: SQS batch → one job attempt per record (query exports and datasets), partial batch failures."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from exporter.jobs.lifecycle import invocation_deadline
from exporter.jobs.records import message_union, worker_for
from worker.dependencies import WORKER_KINDS, settings, workers

logger = Logger()
tracer = Tracer()
metrics = Metrics()
settings()  # validated at cold start: a bad configuration fails the init, not the first record

JobMessage: Any = message_union(WORKER_KINDS)  # seed 003's ExportMessage, or a kind's message with its "kind"


class JobMessageRecord(SqsRecordModel):
    body: Json[JobMessage]  # type: ignore[assignment]  # malformed: a batch item failure → retried → DLQ


processor = BatchProcessor(event_type=EventType.SQS, model=JobMessageRecord)


@tracer.capture_method
def run_job_record(record: JobMessageRecord) -> str:
    return worker_for(workers(), record.body).run(record.body, record.messageId, metrics).outcome.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    with invocation_deadline(context):  # a long export checkpoints before the invocation ends
        return process_partial_response(
            event=event, record_handler=run_job_record, processor=processor, context=context
        )
