"""The internal API's domain (seed 001): a source application uploads its part, or says why it cannot.

The caller is an application, identified by its pre-shared key (``x-rh-exports-psk``) compared
in constant time with every application's key. It may only answer its own sources, and each
source once: the answer is a conditional UPDATE on ``status = 'pending'``.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools import Logger

from ..adapters.parts import PartStore
from ..adapters.ports import MessageQueue
from ..errors import Conflict, ExportNotFound, InvalidRequest, NotAllowed, UnknownApplicationKey, UploadTooLarge
from ..jobs.model import Export, Kind, Status
from ..jobs.repository import JobsRepository
from .assembly import settle
from .catalogue import Catalogue
from .model import CONTENT_TYPES, ApplicationParameters
from .sources import SourceRow, SourcesRepository

logger = Logger(child=True)

MAX_MESSAGE = 2000
UploadMode = Literal["body", "url", "uploaded"]


@dataclass(frozen=True)
class InternalPorts:
    jobs: JobsRepository
    sources: SourcesRepository
    parts: PartStore
    queue: MessageQueue  # the assembly queue


def authenticate(key: str | None, catalogue: Catalogue, key_of: Callable[[str], str | None]) -> str:
    """The application whose key ``key`` is; every key is compared, in constant time."""
    given = (key or "").encode()
    matched: str | None = None
    for name in sorted(catalogue.applications):
        expected = key_of(name)
        if expected and hmac.compare_digest(given, expected.encode()) and given:
            matched = name
    if matched is None:
        raise UnknownApplicationKey("the x-rh-exports-psk header is not a source application's key")
    return matched


def _source(rows: list[SourceRow], resource: str) -> SourceRow | None:
    try:
        source_id = uuid.UUID(resource)
    except ValueError:
        return next((s for s in rows if s.resource == resource), None)
    return next((s for s in rows if s.source_id == source_id), None)


def find_source(
    export_id: str, application: str, resource: str, *, caller: str, ports: InternalPorts
) -> tuple[Export, SourceRow]:
    """The export's source named by ``resource`` (its id, or its resource name) for application ``caller``."""
    if application != caller:
        raise NotAllowed(f"this key is {caller}'s; it cannot answer for {application}")
    try:
        export = ports.jobs.get(uuid.UUID(export_id))
    except ValueError:
        export = None
    if export is None or export.kind is not Kind.APPLICATIONS:
        raise ExportNotFound(f"no export {export_id}")
    source = _source(ports.sources.for_export(export.export_id), resource)
    if source is None:
        raise ExportNotFound(f"export {export_id} has no source {resource}")
    if source.application != caller:
        raise NotAllowed(f"source {resource} of export {export_id} belongs to {source.application}, not {caller}")
    return export, source


def _answerable(export: Export, source: SourceRow) -> None:
    if source.status != "pending":
        raise Conflict(f"source {source.source_id} was already answered ({source.status}); a source is answered once")
    if export.status in (Status.FAILED, Status.COMPLETED):
        raise Conflict(f"export {export.export_id} is already {export.status.value}")


def check_format(body: bytes, content_type: str | None, fmt: str) -> None:
    """The part must be in the export's format: the declared type (if any) and, for JSON, the content."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared and declared not in (CONTENT_TYPES[fmt], "application/octet-stream"):
        raise InvalidRequest(f"this export's format is {fmt} ({CONTENT_TYPES[fmt]}), not {declared}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"the part is not UTF-8 text, as {fmt} must be") from error
    if fmt == "json":
        try:
            json.loads(text)
        except ValueError as error:
            raise InvalidRequest("the part is not JSON, and this export's format is json") from error


def _recorded(export: Export, source: SourceRow, key: str, size: int, ports: InternalPorts) -> SourceRow:
    if not ports.sources.record_upload(export.export_id, source.source_id, s3_key=key, size=size):
        raise Conflict(f"source {source.source_id} was already answered; a source is answered once")
    logger.info("part uploaded", extra={"export_id": str(export.export_id), "source_id": str(source.source_id)})
    settle(export.export_id, jobs=ports.jobs, sources=ports.sources, queue=ports.queue)
    return ports.sources.for_export(export.export_id)[source.position]


def upload_part(
    export: Export, source: SourceRow, *, body: bytes, content_type: str | None, max_bytes: int, ports: InternalPorts
) -> SourceRow:
    """Store the part and mark the source uploaded; the last answer starts the assembly."""
    _answerable(export, source)
    parameters = export.parameters
    assert isinstance(parameters, ApplicationParameters)
    if len(body) > max_bytes:
        raise UploadTooLarge(f"the part is larger than {max_bytes} bytes; ask this route for an upload URL (mode=url)")
    check_format(body, content_type, parameters.format)
    # A key of its own per attempt: a concurrent second upload of the same source cannot overwrite the first.
    key = f"parts/{export.export_id}/{source.source_id}/{uuid.uuid4().hex}.{parameters.format}"
    ports.parts.put(key, body, content_type=CONTENT_TYPES[parameters.format])
    return _recorded(export, source, key, len(body), ports)


def presigned_key(export: Export, source: SourceRow, fmt: str) -> str:
    return f"parts/{export.export_id}/{source.source_id}/presigned.{fmt}"


def upload_url(export: Export, source: SourceRow, *, ttl_seconds: int, ports: InternalPorts) -> dict[str, object]:
    """Where to PUT a part too large for the request body; then call the route again with ``mode=uploaded``."""
    _answerable(export, source)
    parameters = export.parameters
    assert isinstance(parameters, ApplicationParameters)
    content_type = CONTENT_TYPES[parameters.format]
    url = ports.parts.upload_url(
        presigned_key(export, source, parameters.format), content_type=content_type, ttl_seconds=ttl_seconds
    )
    return {"url": url, "method": "PUT", "headers": {"Content-Type": content_type}, "expires_in": ttl_seconds}


def confirm_upload(export: Export, source: SourceRow, *, ports: InternalPorts) -> SourceRow:
    """The part was PUT to its presigned URL: record it."""
    _answerable(export, source)
    parameters = export.parameters
    assert isinstance(parameters, ApplicationParameters)
    key = presigned_key(export, source, parameters.format)
    size = ports.parts.size(key)
    if size is None:
        raise InvalidRequest("nothing was uploaded to this source's upload URL")
    return _recorded(export, source, key, size, ports)


def report_error(
    export: Export, source: SourceRow, *, message: str, error: str | None, ports: InternalPorts
) -> SourceRow:
    """The application cannot produce this source: it counts as failed."""
    _answerable(export, source)
    text = message.strip()[:MAX_MESSAGE] or "the application reported an error"
    if not ports.sources.record_error(export.export_id, source.source_id, message=text, error=error):
        raise Conflict(f"source {source.source_id} was already answered; a source is answered once")
    logger.info("source failed", extra={"export_id": str(export.export_id), "source_id": str(source.source_id)})
    settle(export.export_id, jobs=ports.jobs, sources=ports.sources, queue=ports.queue)
    return ports.sources.for_export(export.export_id)[source.position]
