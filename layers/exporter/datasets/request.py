"""Requesting a dataset export: may the caller run it, are the parameters right; write the job, enqueue attempt 1.

The API's ``POST /datasets/{name}/exports``, its "export everything" and a schedule's fire all
come through :func:`request_dataset_export`, so a dataset export is an export like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import SecretStr

from ..adapters.ports import MessageQueue
from ..errors import InvalidRequest, NotAllowed
from ..jobs.enqueue import enqueue_or_fail
from ..jobs.model import Caller, Export
from ..jobs.repository import JobsRepository
from ..notifications.recipients import NotifyTo
from .catalogue import Catalogue, Dataset
from .kind import DATASET
from .model import DatasetMessage, DatasetParameters
from .parameters import parse_request

logger = Logger(child=True)


def check_dataset_request(
    name: str, parameters: Mapping[str, Any], caller: Caller, *, catalogue: Catalogue
) -> DatasetParameters:
    """The job's parameters if ``caller`` may run ``name`` with ``parameters``.

    :class:`~exporter.errors.DatasetNotFound` when there is no such dataset or the caller is in none
    of its groups; :class:`~exporter.errors.InvalidRequest` naming a missing, unknown or ill-typed parameter.
    """
    if not isinstance(parameters, Mapping):
        raise InvalidRequest("parameters must be an object of name: value")
    dataset = catalogue.runnable(name, caller)
    return parameters_of(dataset, parameters)


def parameters_of(dataset: Dataset, parameters: Mapping[str, Any]) -> DatasetParameters:
    return DatasetParameters(
        dataset=dataset.name,
        parameters=parse_request(dataset.parameters, parameters),
        format=dataset.format.value,
        source=dataset.source,
    )


def request_dataset_export(
    name: str,
    parameters: Mapping[str, Any],
    caller: Caller,
    *,
    catalogue: Catalogue,
    jobs: JobsRepository,
    queue: MessageQueue,
    max_retries: int,
    notify: NotifyTo | None = None,
) -> Export:
    """Check, write the job row (kind ``dataset``), enqueue attempt 1. A failed enqueue fails the row, visibly.

    With ``notify``, its address is e-mailed when the export completes or fails."""
    checked = check_dataset_request(name, parameters, caller, catalogue=catalogue)
    if catalogue.get(name).format.encrypted:
        raise InvalidRequest(f"dataset {name!r} is encrypted: request it with an encryption key")
    return _create(checked, caller, jobs=jobs, queue=queue, max_retries=max_retries, notify=notify)


def create_dataset_export(
    parameters: DatasetParameters,
    creator_id: str,
    *,
    jobs: JobsRepository,
    queue: MessageQueue,
    max_retries: int,
    encryption_key: SecretStr | None = None,
) -> Export:
    """The job of checked ``parameters`` for ``creator_id``; an encrypted format's key goes in its message only."""
    return _create(
        parameters, Caller(user_id=creator_id), jobs=jobs, queue=queue, max_retries=max_retries, key=encryption_key
    )


def _create(
    parameters: DatasetParameters,
    caller: Caller,
    *,
    jobs: JobsRepository,
    queue: MessageQueue,
    max_retries: int,
    key: SecretStr | None = None,
    notify: NotifyTo | None = None,
) -> Export:
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id=caller.user_id,
        kind=DATASET.kind,
        dataset=parameters.dataset,
        parameters=parameters,
        max_retries=max_retries,
        notify_email=notify.address if notify else None,
    )
    message = DatasetMessage(
        export_id=export.export_id,
        creator_id=export.creator_id,
        dataset=parameters.dataset,
        attempt=1,
        max_retries=max_retries,
        encryption_key=key,
    )
    enqueue_or_fail(export, message, queue=queue, jobs=jobs, noun=DATASET.noun)
    logger.info("dataset export requested", extra={"export_id": str(export.export_id), "dataset": parameters.dataset})
    return export


@dataclass(frozen=True)
class Skipped:
    dataset: str
    reason: str


@dataclass(frozen=True)
class EverythingRequested:
    exports: list[Export] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def every_dataset(caller: Caller, *, catalogue: Catalogue) -> tuple[list[DatasetParameters], list[Skipped]]:
    """What CKB's "export everything" (admins) runs: each dataset that needs no parameter; the others, skipped."""
    if not caller.is_admin:
        raise NotAllowed("only an admin can export every dataset")
    runnable: list[DatasetParameters] = []
    skipped: list[Skipped] = []
    for dataset in catalogue:
        try:
            if dataset.format.encrypted:
                raise InvalidRequest("encrypted: it needs a requester's encryption key")
            runnable.append(parameters_of(dataset, {}))
        except InvalidRequest as problem:
            skipped.append(Skipped(dataset.name, str(problem)))
    return runnable, skipped


def create_checked(
    parameters: DatasetParameters, caller: Caller, *, jobs: JobsRepository, queue: MessageQueue, max_retries: int
) -> Export:
    """The job of already checked ``parameters`` (one of :func:`every_dataset`'s), enqueued."""
    return _create(parameters, caller, jobs=jobs, queue=queue, max_retries=max_retries)


def request_every_dataset(
    caller: Caller, *, catalogue: Catalogue, jobs: JobsRepository, queue: MessageQueue, max_retries: int
) -> EverythingRequested:
    """CKB's "export everything" (admins): one job per dataset; a dataset that needs a parameter is skipped."""
    runnable, skipped = every_dataset(caller, catalogue=catalogue)
    exports = [create_checked(p, caller, jobs=jobs, queue=queue, max_retries=max_retries) for p in runnable]
    return EverythingRequested(exports, skipped)


@dataclass(frozen=True)
class DatasetRequests:
    """The datasets as a schedule target sees them (``exporter.schedules.targets.DatasetRequests``)."""

    catalogue: Catalogue
    jobs: JobsRepository
    queue: MessageQueue
    max_retries: int

    def check(self, dataset: str, parameters: dict[str, Any], caller: Caller) -> None:
        check_dataset_request(dataset, parameters, caller, catalogue=self.catalogue)

    def request(self, dataset: str, parameters: dict[str, Any], caller: Caller) -> Export:
        return request_dataset_export(
            dataset,
            parameters,
            caller,
            catalogue=self.catalogue,
            jobs=self.jobs,
            queue=self.queue,
            max_retries=self.max_retries,
        )
