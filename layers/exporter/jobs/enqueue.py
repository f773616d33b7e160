"""Sending a new job's first message: enqueue, or mark the row failed so nobody waits for it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from ..adapters.ports import MessageQueue
from ..errors import EnqueueFailed
from .model import Export
from .repository import JobsRepository

logger = Logger(child=True)


def enqueue_or_fail(export: Export, message: Any, *, queue: MessageQueue, jobs: JobsRepository, noun: str) -> None:
    """Send ``message``; on failure fail the row visibly and raise :class:`EnqueueFailed` (503)."""
    try:
        queue.send(message)
    except Exception as error:
        logger.exception(f"{noun} enqueue failed", extra={"export_id": str(export.export_id)})
        jobs.fail_unfinished(export.export_id, f"the {noun} could not be queued; please request it again")
        raise EnqueueFailed(f"{noun} {export.export_id} could not be queued") from error
