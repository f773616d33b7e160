"""One queue record of a job kind, run through the lifecycle and counted: what every worker handler does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Discriminator, Tag

from .kind import Body, JobKind
from .lifecycle import LifecycleConfig, LifecyclePorts, Outcome, RunResult, run_job
from .model import JobMessage, Kind

logger = Logger(child=True)

_SUFFIX = {
    Outcome.COMPLETED: "Completed",
    Outcome.FAILED: "Failed",
    Outcome.RETRYING: "Retried",
    Outcome.WAITING: "Waiting",
    Outcome.CONTINUING: "Continued",
}
_SHARED = {Outcome.SKIPPED: "MessagesSkipped", Outcome.LEASE_LOST: "LeasesLost"}


@dataclass(frozen=True)
class KindWorker:
    """What a worker container holds for one kind: the kind, the body with its ports, the lifecycle's ports."""

    kind: JobKind
    body: Body
    ports: LifecyclePorts
    config: LifecycleConfig

    def run(self, message: JobMessage, message_id: str, metrics: Metrics) -> RunResult:
        """Run the attempt ``message`` names; the owner is the queue message's id and the attempt."""
        logger.set_correlation_id(str(message.export_id))
        result = run_job(
            message, self.kind, self.body, self.ports, self.config, owner=f"{message_id}:{message.attempt}"
        )
        metrics.add_metric(name=outcome_metric(self.kind, result.outcome), unit=MetricUnit.Count, value=1)
        if result.outcome is Outcome.COMPLETED:
            metrics.add_metric(name=self.kind.rows_metric, unit=MetricUnit.Count, value=result.rows)
            metrics.add_metric(name=self.kind.bytes_metric, unit=MetricUnit.Bytes, value=result.bytes)
        return result


def outcome_metric(kind: JobKind, outcome: Outcome) -> str:
    return _SHARED.get(outcome) or f"{kind.metric}{_SUFFIX[outcome]}"


def message_kind(value: Any) -> str:
    """Which kind a queue message is for: its ``kind`` field; without one, a query export (seed 003's payload)."""
    if isinstance(value, dict):
        return str(value.get("kind") or Kind.QUERY.value)
    return str(getattr(value, "kind", None) or Kind.QUERY.value)


def message_union(kinds: Sequence[JobKind]) -> Any:
    """The model of a message for any of ``kinds`` on one queue, told apart by :func:`message_kind`."""
    tagged = tuple(Annotated[k.message, Tag(k.kind.value)] for k in kinds)
    return Annotated[Union[tagged], Discriminator(message_kind)]  # noqa: UP007


def worker_for(workers: Sequence[KindWorker], message: object) -> KindWorker:
    """The worker of the kind whose message ``message`` is."""
    return next(w for w in workers if isinstance(message, w.kind.message))
