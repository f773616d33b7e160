"""The Sunbird data-exhaust API over datasets: submit, read, list (seed 002).

A request is a dataset export underneath: its ``datasetConfig`` (without ``type``) is the
dataset's parameters, checked like any other dataset request, and the export is created for
``requestedBy``. The same request (same identity, so the same ``requestId``) submitted again
gets the same request back, unless it failed: then it runs again and ``attempts`` counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from ..adapters.ports import MessageQueue
from ..datasets.catalogue import Catalogue, Dataset, RunMode
from ..datasets.request import create_dataset_export, parameters_of
from ..errors import DatasetNotFound, ExportError, InvalidRequest
from ..jobs.model import Caller, Export, Status
from ..jobs.repository import JobsRepository
from .model import ExhaustRequest, StoredRequest, SubmitEnvelope, request_id
from .repository import DatasetRequestsRepository

logger = Logger(child=True)

MAX_LIST = 1000


class RequestNotFound(ExportError):
    """No such request under this tag, or not the caller's (404, RESOURCE_NOT_FOUND)."""


@dataclass(frozen=True)
class Exhaust:
    """The ports a Sunbird request needs."""

    catalogue: Catalogue
    requests: DatasetRequestsRepository
    jobs: JobsRepository
    queue: MessageQueue
    max_retries: int


@dataclass(frozen=True)
class Found:
    """A stored request and the export running it (None while it waits for its batch run)."""

    request: StoredRequest
    export: Export | None


def parse_submit(body: Any) -> ExhaustRequest:
    """The envelope's ``request``; :class:`InvalidRequest` naming the first missing or ill-typed field."""
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object with a request")
    try:
        return SubmitEnvelope.model_validate(body).request
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidRequest(f"{where}: {first.get('msg')}") from None


def submit(body: Any, caller: Caller, *, exhaust: Exhaust) -> Found:
    """Check the request, then the same request again, a failed one again, or a new one."""
    request = parse_submit(body)
    dataset, parameters = _checked(request, caller, exhaust.catalogue)
    identity = request_id(
        request.dataset, request.tag, request.requestedChannel, request.requestedBy, request.datasetConfig
    )
    stored = StoredRequest(
        request_id=identity,
        tag=request.tag,
        requested_channel=request.requestedChannel,
        dataset=request.dataset,
        requested_by=request.requestedBy,
        dataset_config=request.datasetConfig,
        export_id=None,
        attempts=0,
        waiting=dataset.run is RunMode.BATCH,
        submitted_at=_epoch(),
        updated_at=_epoch(),
    )
    row = exhaust.requests.insert(stored)
    if row is None:
        existing = _found(exhaust, exhaust.requests.get(identity))
        if not _failed(existing):
            return existing
        row = exhaust.requests.resubmit(identity, existing.request.export_id, waiting=stored.waiting)
        if row is None:  # another submission resubmitted it first
            return _found(exhaust, exhaust.requests.get(identity))
    logger.info("dataset request submitted", extra={"request_id": identity, "dataset": dataset.name})
    if row.waiting:
        return Found(row, None)
    return _start(row, parameters, request, exhaust)


def _checked(request: ExhaustRequest, caller: Caller, catalogue: Catalogue) -> tuple[Dataset, Any]:
    if request.requestedBy != caller.user_id and not caller.is_admin:
        raise InvalidRequest("requestedBy must be the caller (only an admin requests for someone else)")
    config = dict(request.datasetConfig)
    if config.pop("type", None) != request.dataset:
        raise InvalidRequest("datasetConfig.type must be the request's dataset")
    if request.output_format.lower() != "csv":
        raise InvalidRequest("output_format must be csv")
    try:
        dataset = catalogue.runnable(request.dataset, caller)
    except DatasetNotFound:
        raise InvalidRequest(f"unknown dataset {request.dataset!r}") from None
    parameters = parameters_of(dataset, config)
    start, end = parameters.parameters.get("startDate"), parameters.parameters.get("endDate")
    if start is not None and end is not None and date.fromisoformat(str(end)) <= date.fromisoformat(str(start)):
        raise InvalidRequest("datasetConfig.endDate must be after startDate (the range excludes endDate)")
    if dataset.format.encrypted and request.encryptionKey is None:
        raise InvalidRequest(f"request.encryptionKey is required for dataset {dataset.name!r}")
    return dataset, parameters


def _start(row: StoredRequest, parameters: Any, request: ExhaustRequest, exhaust: Exhaust) -> Found:
    export = create_dataset_export(
        parameters,
        row.requested_by,
        jobs=exhaust.jobs,
        queue=exhaust.queue,
        max_retries=exhaust.max_retries,
        encryption_key=request.encryptionKey,
    )
    return Found(exhaust.requests.attach(row.request_id, export.export_id), export)


def run_waiting(dataset_name: str, *, exhaust: Exhaust) -> list[Found]:
    """A batch dataset's run: one export for every request waiting for it, each enqueued."""
    dataset = exhaust.catalogue.get(dataset_name)
    started = []
    for row in exhaust.requests.take_waiting(dataset.name):
        config = {k: v for k, v in row.dataset_config.items() if k != "type"}
        export = create_dataset_export(
            parameters_of(dataset, config),
            row.requested_by,
            jobs=exhaust.jobs,
            queue=exhaust.queue,
            max_retries=exhaust.max_retries,
        )
        started.append(Found(exhaust.requests.attach(row.request_id, export.export_id), export))
    logger.info("batch run of waiting dataset requests", extra={"dataset": dataset.name, "started": len(started)})
    return started


def read(tag: str, request_id_: str, caller: Caller, *, exhaust: Exhaust) -> Found:
    row = exhaust.requests.get(request_id_.upper()) if request_id_ else None
    if row is None or row.tag != tag or not (caller.is_admin or caller.user_id == row.requested_by):
        raise RequestNotFound(f"no request {request_id_!r} under tag {tag!r}")
    return _found(exhaust, row)


def list_requests(tag: str, limit: int, caller: Caller, *, exhaust: Exhaust) -> Sequence[Found]:
    """The tag's requests, newest first: the caller's own, or every one for an admin."""
    if not 1 <= limit <= MAX_LIST:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIST}")
    rows = exhaust.requests.list_by_tag(tag, requested_by=None if caller.is_admin else caller.user_id, limit=limit)
    return [_found(exhaust, row) for row in rows]


def _found(exhaust: Exhaust, row: StoredRequest | None) -> Found:
    assert row is not None
    return Found(row, exhaust.jobs.get(row.export_id) if row.export_id else None)


def _failed(found: Found) -> bool:
    """Failed, expired, deleted, or never queued: submitting it again runs it again."""
    if found.export is None:
        return not found.request.waiting
    return found.export.status_at(_epoch()) in (Status.FAILED, Status.EXPIRED)


def _epoch() -> datetime:
    return datetime.now(UTC)
