"""Keeping jobs moving: lapsed leases, lost messages and the dead-letter queue.

Run every few minutes (an EventBridge schedule in AWS, a timer in the local stack), so no
job stays ``processing`` or ``pending`` forever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from .models import CaptureMessage, ExportMessage, Kind
from .queue import JobQueue
from .repository import ExportsRepository

logger = Logger(child=True)

# A pending row untouched for this long has lost its message (SQS delays are at most 15 min).
STALE_PENDING_SECONDS = 20 * 60


@dataclass
class SweepReport:
    requeued: list[UUID] = field(default_factory=list)
    failed: list[UUID] = field(default_factory=list)
    resent: list[UUID] = field(default_factory=list)
    dead_letters: int = 0


def message_for(export: Any) -> ExportMessage:
    if export.kind is Kind.CAPTURE:
        raise ValueError("a capture has no export message")
    return ExportMessage(
        export_id=export.export_id,
        creator_id=export.creator_id,
        export_parameters=export.parameters,
        attempt=export.attempt,
        max_retries=export.max_retries,
    )


def sweep(
    jobs: ExportsRepository, queue: JobQueue, *, stale_pending_seconds: int = STALE_PENDING_SECONDS
) -> SweepReport:
    report = SweepReport()
    report.failed = jobs.fail_lapsed()
    report.requeued = jobs.requeue_lapsed()
    for export_id in report.requeued:
        export = jobs.get(export_id)
        if export is not None and export.kind is not Kind.CAPTURE:  # captures have max_retries 0
            queue.send(message_for(export))
    for export in jobs.stale_pending(stale_pending_seconds):
        if export.kind is Kind.CAPTURE:
            # Its window was "from now"; starting it this late would silently capture another one.
            if jobs.fail_unfinished(export.export_id, "the capture never started; please request it again"):
                report.failed.append(export.export_id)
            continue
        queue.send(message_for(export))
        jobs.touch_pending(export.export_id)
        report.resent.append(export.export_id)
    if report.requeued or report.failed or report.resent:
        logger.info(
            "sweep",
            extra={
                "requeued": [str(i) for i in report.requeued],
                "failed": [str(i) for i in report.failed],
                "resent": [str(i) for i in report.resent],
            },
        )
    return report


def drain_dead_letters(jobs: ExportsRepository, sqs: Any, dlq_url: str, *, max_batches: int = 10) -> int:
    """Fail the export of every message in the DLQ (export or capture messages), then delete the message."""
    drained = 0
    for _ in range(max_batches):
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            break
        for msg in messages:
            try:
                raw = json.loads(msg["Body"])
                body: ExportMessage | CaptureMessage = (
                    ExportMessage.model_validate(raw)
                    if isinstance(raw, dict) and "export_parameters" in raw
                    else CaptureMessage.model_validate(raw)
                )
                if jobs.fail_unfinished(
                    body.export_id,
                    f"the export could not be processed (its message was dead-lettered on attempt {body.attempt})",
                ):
                    logger.warning("dead-lettered export failed", extra={"export_id": str(body.export_id)})
            except (ValueError, ValidationError):
                logger.warning("dead letter is not an export message; dropped", extra={"body": msg["Body"][:200]})
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=msg["ReceiptHandle"])
            drained += 1
    return drained
