"""Keeping jobs moving: lapsed leases, lost messages and the dead-letter queue.

Run every few minutes (an EventBridge schedule in AWS, a timer in the local stack), so no
job stays ``processing`` or ``pending`` forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from aws_lambda_powertools import Logger
from pydantic import BaseModel, Field, ValidationError

from ..adapters.ports import MessageQueue
from ..registry import KINDS, kind_of
from .model import Export
from .repository import JobsRepository

logger = Logger(child=True)

# A pending row untouched for this long has lost its message (SQS delays are at most 15 min).
STALE_PENDING_SECONDS = 20 * 60


@dataclass
class SweepReport:
    requeued: list[UUID] = field(default_factory=list)
    failed: list[UUID] = field(default_factory=list)
    resent: list[UUID] = field(default_factory=list)
    dead_letters: int = 0


class DeadLetter(BaseModel):
    """What every kind's message carries that the dead-letter drain needs: whose job, which attempt."""

    export_id: UUID
    creator_id: str
    attempt: int = Field(default=1, ge=1)


def sweep(
    jobs: JobsRepository, queue: MessageQueue, *, stale_pending_seconds: int = STALE_PENDING_SECONDS
) -> SweepReport:
    report = SweepReport()
    # Kinds never resent: a checkpointed job of theirs waits for its own message to come back.
    awaiting = [kind.kind for kind in KINDS.values() if kind.message_for is None]
    report.failed = jobs.fail_lapsed(awaiting=awaiting)
    report.requeued = jobs.requeue_lapsed(awaiting=awaiting)
    for export_id in report.requeued:
        export = jobs.get(export_id)
        if export is not None:
            _resend(export, queue)
    waiting_kinds = [kind.kind for kind in KINDS.values() if kind.waits_for_input]
    for export in jobs.stale_pending(stale_pending_seconds, except_kinds=waiting_kinds, awaiting=awaiting):
        if _resend(export, queue):
            jobs.touch_pending(export.export_id)
            report.resent.append(export.export_id)
            continue
        noun = kind_of(export.kind).noun
        if jobs.fail_unfinished(export.export_id, f"the {noun} never started; please request it again"):
            report.failed.append(export.export_id)
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


def _resend(export: Export, queue: MessageQueue) -> bool:
    """Send the message of the job's current attempt; False for a kind that is never resent."""
    message_for = kind_of(export.kind).message_for
    if message_for is None:
        return False
    queue.send(message_for(export))
    return True


def drain_dead_letters(jobs: JobsRepository, sqs: Any, dlq_url: str, *, max_batches: int = 10) -> int:
    """Fail the export of every message in the DLQ (export or capture messages), then delete the message."""
    drained = 0
    for _ in range(max_batches):
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            break
        for msg in messages:
            try:
                body = DeadLetter.model_validate_json(msg["Body"])
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
