"""The dataset kind's worker: the attempt's encryption key, from its message, visible to the body while it runs."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Metrics

from ..jobs.lifecycle import RunResult
from ..jobs.model import JobMessage
from ..jobs.records import KindWorker
from .encrypted import ENCRYPTION_KEY


@dataclass(frozen=True)
class DatasetWorker(KindWorker):
    """A :class:`KindWorker` that sets :data:`~exporter.datasets.encrypted.ENCRYPTION_KEY` for one attempt."""

    def run(self, message: JobMessage, message_id: str, metrics: Metrics) -> RunResult:
        token = ENCRYPTION_KEY.set(getattr(message, "encryption_key", None))
        try:
            return super().run(message, message_id, metrics)
        finally:
            ENCRYPTION_KEY.reset(token)
