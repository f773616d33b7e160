"""The internal API (seed 001): source applications upload an export's parts or report errors.

Not behind the JWT authorizer: the caller is an application, authenticated by its pre-shared key
in ``x-rh-exports-psk``. End users' tokens mean nothing here.
"""

from __future__ import annotations

import base64
import binascii
import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exporter.applications import internal
from exporter.applications.sources import SourceRow
from exporter.errors import (
    Conflict,
    ExportNotFound,
    InvalidRequest,
    NotAllowed,
    UnknownApplicationKey,
    UploadTooLarge,
)
from internal.dependencies import dependencies

PREFIX = "/app/export/v1"
PSK_HEADER = "x-rh-exports-psk"
SOURCE = PREFIX + "/<export_id>/<application>/<resource>"

ERRORS: dict[type[Exception], HTTPStatus] = {
    InvalidRequest: HTTPStatus.BAD_REQUEST,
    UnknownApplicationKey: HTTPStatus.UNAUTHORIZED,
    NotAllowed: HTTPStatus.FORBIDDEN,
    ExportNotFound: HTTPStatus.NOT_FOUND,
    NotFoundError: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    UploadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
}

app = APIGatewayHttpResolver()


class SourceError(BaseModel):
    """Why the application cannot produce the source (upstream: ``{message, error}``)."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=internal.MAX_MESSAGE)
    error: int | str | None = None


def answer(error: Exception) -> Response[str]:
    status = next(ERRORS[cls] for cls in type(error).__mro__ if cls in ERRORS)
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"message": str(error) or status.phrase, "status": status.value}),
    )


for _error_class in ERRORS:
    app.exception_handler(_error_class)(answer)


def accepted(source: SourceRow) -> Response[str]:
    body = {"id": str(source.source_id), "application": source.application, "resource": source.resource}
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type="application/json",
        body=json.dumps({**body, "status": source.status}),
    )


def body_bytes() -> bytes:
    event = app.current_event
    raw = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidRequest("the body is not valid base64") from error
    return raw.encode("utf-8", "surrogatepass")


def caller_source(export_id: str, application: str, resource: str) -> tuple[Any, SourceRow]:
    deps = dependencies()
    caller = internal.authenticate(app.current_event.headers.get(PSK_HEADER), deps.catalogue, deps.key_of)
    return internal.find_source(export_id, application, resource, caller=caller, ports=deps.ports)


@app.post(SOURCE + "/upload")
def upload(export_id: str, application: str, resource: str) -> Response[str]:
    """The body is the part; ``mode=url`` hands out a presigned upload, ``mode=uploaded`` records it."""
    deps = dependencies()
    export, source = caller_source(export_id, application, resource)
    mode = app.current_event.get_query_string_value("mode", "body")
    if mode == "url":
        presigned = internal.upload_url(
            export, source, ttl_seconds=deps.settings.UPLOAD_URL_TTL_SECONDS, ports=deps.ports
        )
        return Response(status_code=HTTPStatus.OK, content_type="application/json", body=json.dumps(presigned))
    if mode == "uploaded":
        return accepted(internal.confirm_upload(export, source, ports=deps.ports))
    if mode != "body":
        raise InvalidRequest("mode must be body (the default), url or uploaded")
    recorded = internal.upload_part(
        export,
        source,
        body=body_bytes(),
        content_type=app.current_event.headers.get("content-type"),
        max_bytes=deps.settings.MAX_UPLOAD_BYTES,
        ports=deps.ports,
    )
    return accepted(recorded)


@app.post(SOURCE + "/error")
def error(export_id: str, application: str, resource: str) -> Response[str]:
    export, source = caller_source(export_id, application, resource)
    try:
        reported = SourceError.model_validate_json(body_bytes() or b"{}")
    except ValidationError as invalid:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in invalid.errors())
        raise InvalidRequest(f"the error body must be {{message, error}}: {problems}") from invalid
    recorded = internal.report_error(
        export,
        source,
        message=reported.message,
        error=None if reported.error is None else str(reported.error),
        ports=dependencies().ports,
    )
    return accepted(recorded)


def route_table() -> list[tuple[str, str]]:
    """Every (method, path) of the internal API, in API Gateway syntax."""
    return sorted({(r.method, r.openapi_path) for r in (*app._static_routes, *app._dynamic_routes)})
