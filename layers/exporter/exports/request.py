"""Requesting a query export: validate the query and fields, write the job, enqueue attempt 1."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger

from ..adapters.ports import MessageQueue
from ..jobs.enqueue import enqueue_or_fail
from ..jobs.model import Caller, Export
from ..jobs.repository import JobsRepository
from ..notifications.recipients import NotifyTo
from .fields import FieldsRepository, resolve_fields
from .kind import QUERY_EXPORT
from .model import ExportMessage, ExportParameters
from .query import compile_query, describe

logger = Logger(child=True)


def request_export(
    *,
    query: Any,
    fields: Sequence[str] | None,
    include_images: bool,
    caller: Caller,
    jobs: JobsRepository,
    catalogue: FieldsRepository,
    queue: MessageQueue,
    max_retries: int,
    notify: NotifyTo | None = None,
) -> Export:
    """Validate, write the job row (and whom to e-mail when it ends, if asked), enqueue attempt 1.

    A failed enqueue fails the row, visibly."""
    compile_query(query)
    paths = resolve_fields(fields, catalogue.catalogue())
    parameters = ExportParameters(query=query, fields=paths, include_images=include_images)
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id=caller.user_id,
        kind=QUERY_EXPORT.kind,
        dataset=QUERY_EXPORT.dataset,
        parameters=parameters,
        max_retries=max_retries,
        query_string=describe(query),
        fields=paths,
        notify_email=notify.address if notify else None,
    )
    message = ExportMessage(
        export_id=export.export_id,
        creator_id=export.creator_id,
        export_parameters=parameters,
        attempt=1,
        max_retries=max_retries,
    )
    enqueue_or_fail(export, message, queue=queue, jobs=jobs, noun=QUERY_EXPORT.noun)
    logger.info("export requested", extra={"export_id": str(export.export_id), "fields": len(paths)})
    return export
