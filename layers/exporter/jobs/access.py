"""Who may see, list, share and delete a job, whatever its kind; download URLs for the finished ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from ..adapters.ports import ObjectStore
from ..adapters.postgres import is_storable_text
from ..errors import ExportNotFound, InvalidRequest, NotAllowed
from ..registry import kind_of
from .checkpoints import abandon_checkpoint
from .model import Caller, Export, Status
from .repository import JobsRepository, decode_cursor, encode_cursor

logger = Logger(child=True)

MAX_SHARE_IDS = 100
MAX_PAGE = 100


def visible_export(export_id: str, caller: Caller, jobs: JobsRepository) -> Export:
    """The export, if the caller may see it; otherwise it does not exist for them."""
    try:
        parsed = uuid.UUID(export_id)
    except ValueError as error:
        raise ExportNotFound(export_id) from error
    export = jobs.get(parsed)
    if export is None or not export.visible_to(caller):
        raise ExportNotFound(export_id)
    return export


def _manageable(export_id: str, caller: Caller, jobs: JobsRepository) -> Export:
    export = visible_export(export_id, caller, jobs)
    if not export.manageable_by(caller):
        raise NotAllowed("only the creator of an export or an admin can do this")
    return export


@dataclass
class Page:
    items: list[Export]
    next_cursor: str | None


def list_exports(*, caller: Caller, user_id: str | None, limit: int, cursor: str | None, jobs: JobsRepository) -> Page:
    """Exports created by or shared with ``user_id`` (default: the caller), newest first."""
    target = user_id or caller.user_id
    if target != caller.user_id and not caller.is_admin:
        raise NotAllowed("you can only list your own exports")
    if not is_storable_text(target):
        raise InvalidRequest("user_id must be text without NUL or lone surrogate characters")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    try:
        after = decode_cursor(cursor) if cursor else None
    except ValueError as error:
        raise InvalidRequest(str(error)) from error
    items = jobs.list_visible(target, include_shared=True, limit=limit + 1, after=after)
    next_cursor = encode_cursor(items[limit - 1]) if len(items) > limit else None
    return Page(items=items[:limit], next_cursor=next_cursor)


def download_url(export: Export, *, now: datetime, store: ObjectStore, ttl_seconds: int) -> str | None:
    """A fresh presigned URL when the export is completed and not expired."""
    if export.s3_key is None or export.status_at(now) is not Status.COMPLETED:
        return None
    filename = kind_of(export.kind).output_of(export).filename(export)
    return store.download_url(export.s3_key, filename=filename, ttl_seconds=ttl_seconds)


def delete_export(export_id: str, *, caller: Caller, jobs: JobsRepository, store: ObjectStore) -> None:
    export = _manageable(export_id, caller, jobs)
    key, checkpoint = jobs.delete(export.export_id)
    if key:
        store.delete(key)
    abandon_checkpoint(store, checkpoint)
    logger.info("export deleted", extra={"export_id": export_id})


def _check_user_ids(user_ids: Sequence[str]) -> list[str]:
    if not user_ids:
        raise InvalidRequest("user_ids must name at least one user")
    if len(user_ids) > MAX_SHARE_IDS:
        raise InvalidRequest(f"user_ids may name at most {MAX_SHARE_IDS} users")
    cleaned = [u.strip() for u in user_ids]
    if any(not u or len(u) > 256 for u in cleaned):
        raise InvalidRequest("each user id must be 1 to 256 characters")
    if not all(is_storable_text(u) for u in cleaned):
        raise InvalidRequest("a user id must be text without NUL or lone surrogate characters")
    return list(dict.fromkeys(cleaned))


def share_export(export_id: str, user_ids: Sequence[str], *, caller: Caller, jobs: JobsRepository) -> Export:
    export = _manageable(export_id, caller, jobs)
    jobs.share(export.export_id, [u for u in _check_user_ids(user_ids) if u != export.creator_id])
    return visible_export(export_id, caller, jobs)


def unshare_export(export_id: str, user_ids: Sequence[str], *, caller: Caller, jobs: JobsRepository) -> Export:
    export = _manageable(export_id, caller, jobs)
    jobs.unshare(export.export_id, _check_user_ids(user_ids))
    return visible_export(export_id, caller, jobs)
