"""What the API does, over the ports it is given: request, read, list, delete, share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from .errors import EnqueueFailed, ExportNotFound, InvalidRequest, NotAllowed
from .fields import resolve_fields
from .models import Caller, Export, ExportMessage, ExportParameters, Kind
from .query import compile_query, describe
from .queue import JobQueue
from .repository import ExportsRepository, FieldsRepository, decode_cursor, encode_cursor
from .storage import ExportStore

logger = Logger(child=True)

MAX_SHARE_IDS = 100
MAX_PAGE = 100


def request_export(
    *,
    query: Any,
    fields: Sequence[str] | None,
    include_images: bool,
    caller: Caller,
    jobs: ExportsRepository,
    catalogue: FieldsRepository,
    queue: JobQueue,
    max_retries: int,
) -> Export:
    """Validate, write the job row, enqueue attempt 1. A failed enqueue fails the row, visibly."""
    compile_query(query)
    paths = resolve_fields(fields, catalogue.catalogue())
    parameters = ExportParameters(query=query, fields=paths, include_images=include_images)
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id=caller.user_id,
        parameters=parameters,
        max_retries=max_retries,
        query_string=describe(query),
    )
    message = ExportMessage(
        export_id=export.export_id,
        creator_id=export.creator_id,
        export_parameters=parameters,
        attempt=1,
        max_retries=max_retries,
    )
    try:
        queue.send(message)
    except Exception as error:
        logger.exception("enqueue failed", extra={"export_id": str(export.export_id)})
        jobs.fail_unfinished(export.export_id, "the export could not be queued; please request it again")
        raise EnqueueFailed(f"export {export.export_id} could not be queued") from error
    logger.info("export requested", extra={"export_id": str(export.export_id), "fields": len(paths)})
    return export


def visible_export(export_id: str, caller: Caller, jobs: ExportsRepository) -> Export:
    """The export, if the caller may see it; otherwise it does not exist for them."""
    try:
        parsed = uuid.UUID(export_id)
    except ValueError as error:
        raise ExportNotFound(export_id) from error
    export = jobs.get(parsed)
    if export is None or not export.visible_to(caller):
        raise ExportNotFound(export_id)
    return export


def _manageable(export_id: str, caller: Caller, jobs: ExportsRepository) -> Export:
    export = visible_export(export_id, caller, jobs)
    if not export.manageable_by(caller):
        raise NotAllowed("only the creator of an export or an admin can do this")
    return export


@dataclass
class Page:
    items: list[Export]
    next_cursor: str | None


def list_exports(
    *, caller: Caller, user_id: str | None, limit: int, cursor: str | None, jobs: ExportsRepository
) -> Page:
    """Exports created by or shared with ``user_id`` (default: the caller), newest first."""
    target = user_id or caller.user_id
    if target != caller.user_id and not caller.is_admin:
        raise NotAllowed("you can only list your own exports")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    try:
        after = decode_cursor(cursor) if cursor else None
    except ValueError as error:
        raise InvalidRequest(str(error)) from error
    items = jobs.list_visible(target, include_shared=True, limit=limit + 1, after=after)
    next_cursor = encode_cursor(items[limit - 1]) if len(items) > limit else None
    return Page(items=items[:limit], next_cursor=next_cursor)


def download_url(export: Export, *, now: datetime, store: ExportStore, ttl_seconds: int) -> str | None:
    """A fresh presigned URL when the export is completed and not expired."""
    if export.s3_key is None or export.status_at(now).value != "completed":
        return None
    extension = export.s3_key.rsplit(".", 1)[-1] if "." in export.s3_key else "zip"
    filename = f"{export.kind.value if export.kind is Kind.CAPTURE else 'export'}_{export.export_id}.{extension}"
    return store.download_url(export.s3_key, filename=filename, ttl_seconds=ttl_seconds)


def delete_export(export_id: str, *, caller: Caller, jobs: ExportsRepository, store: ExportStore) -> None:
    export = _manageable(export_id, caller, jobs)
    key = jobs.delete(export.export_id)
    if key:
        store.delete(key)
    logger.info("export deleted", extra={"export_id": export_id})


def _check_user_ids(user_ids: Sequence[str]) -> list[str]:
    if not user_ids:
        raise InvalidRequest("user_ids must name at least one user")
    if len(user_ids) > MAX_SHARE_IDS:
        raise InvalidRequest(f"user_ids may name at most {MAX_SHARE_IDS} users")
    cleaned = [u.strip() for u in user_ids]
    if any(not u or len(u) > 256 for u in cleaned):
        raise InvalidRequest("each user id must be 1 to 256 characters")
    return list(dict.fromkeys(cleaned))


def share_export(export_id: str, user_ids: Sequence[str], *, caller: Caller, jobs: ExportsRepository) -> Export:
    export = _manageable(export_id, caller, jobs)
    jobs.share(export.export_id, [u for u in _check_user_ids(user_ids) if u != export.creator_id])
    return visible_export(export_id, caller, jobs)


def unshare_export(export_id: str, user_ids: Sequence[str], *, caller: Caller, jobs: ExportsRepository) -> Export:
    export = _manageable(export_id, caller, jobs)
    jobs.unshare(export.export_id, _check_user_ids(user_ids))
    return visible_export(export_id, caller, jobs)
