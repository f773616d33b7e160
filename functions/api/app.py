"""The HTTP routes: parse, call one domain function, shape the response."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel, ConfigDict, Field

from api.captures import PREFIXES as CAPTURE_PREFIXES
from api.captures import build_router as build_captures_router
from api.dependencies import dependencies, settings
from exporter.errors import (
    CapturesUnavailable,
    Conflict,
    EnqueueFailed,
    ExportNotFound,
    InvalidRequest,
    NotAllowed,
)
from exporter.exports.model import FieldInfo
from exporter.exports.request import request_export
from exporter.jobs import access as service
from exporter.jobs.model import Caller
from exporter.jobs.views import ExportStatus

logger = Logger(child=True)

ADMIN_GROUP = "admin"


class CreateExport(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    query: dict[str, Any] = Field(description="The query tree: {method, args}")
    fields: list[str] | None = Field(default=None, description="Catalogue paths; omit for the defaults")
    include_images: bool = False


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user_ids: list[str] = Field(max_length=service.MAX_SHARE_IDS)


class ExportList(BaseModel):
    items: list[ExportStatus]
    next_cursor: str | None


def _error(status: HTTPStatus, message: str) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"message": message, "status": status.value}),
    )


def _groups(claims: dict[str, Any]) -> list[str]:
    raw = claims.get("cognito:groups") or claims.get("groups") or []
    if isinstance(raw, str):  # API Gateway flattens list claims to "[a b]"
        return [g for g in raw.strip("[]").replace(",", " ").split() if g]
    return [str(g) for g in raw]


def current_caller(app: APIGatewayHttpResolver | Router) -> Caller:
    event = cast(APIGatewayProxyEventV2, app.current_event)
    authorizer = event.request_context.authorizer
    claims = (authorizer.jwt_claim if authorizer else None) or {}
    subject = claims.get("sub")
    if not subject:
        raise UnauthorizedError("Unauthorized")
    return Caller(user_id=str(subject), is_admin=ADMIN_GROUP in _groups(claims))


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body",))
        if item.get("type") == "json_invalid":
            return "request body is not valid JSON"
        parts.append(f"{location or 'body'}: {item.get('msg')}")
    return "; ".join(parts) or "invalid request"


def build_app(metrics: Metrics) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.enable_swagger(
        path="/docs",
        title="Export service API",
        version="1.0.0",
        description="Request, watch, download and share dataset exports.",
    )

    def body_limit(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        body = app.current_event.body or ""
        if len(body.encode("utf-8")) > settings().MAX_BODY_BYTES:
            return _error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body is larger than {settings().MAX_BODY_BYTES} bytes"
            )
        return next_middleware(app)

    app.use(middlewares=[body_limit])

    def now() -> datetime:
        return datetime.now(UTC)

    def status_of(export: Any) -> ExportStatus:
        deps = dependencies()
        url = service.download_url(
            export, now=now(), store=deps.store, ttl_seconds=deps.settings.DOWNLOAD_URL_TTL_SECONDS
        )
        return ExportStatus.of(export, now=now(), url=url)

    @app.exception_handler(RequestValidationError)
    def on_validation(error: RequestValidationError) -> Response:
        return _error(HTTPStatus.BAD_REQUEST, _validation_message(error))

    @app.exception_handler(InvalidRequest)
    def on_invalid(error: InvalidRequest) -> Response:
        return _error(HTTPStatus.BAD_REQUEST, str(error))

    @app.exception_handler(ExportNotFound)
    def on_not_found(error: ExportNotFound) -> Response:
        return _error(HTTPStatus.NOT_FOUND, "export not found")

    @app.exception_handler(NotAllowed)
    def on_not_allowed(error: NotAllowed) -> Response:
        return _error(HTTPStatus.FORBIDDEN, str(error))

    @app.exception_handler(Conflict)
    def on_conflict(error: Conflict) -> Response:
        return _error(HTTPStatus.CONFLICT, str(error))

    @app.exception_handler(EnqueueFailed)
    def on_enqueue_failed(error: EnqueueFailed) -> Response:
        return _error(HTTPStatus.SERVICE_UNAVAILABLE, f"{error}; it was marked failed, please try again")

    @app.exception_handler(CapturesUnavailable)
    def on_captures_unavailable(error: CapturesUnavailable) -> Response:
        return _error(HTTPStatus.SERVICE_UNAVAILABLE, str(error))

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(status_code=200, content_type="application/json", body=app.get_openapi_json_schema())

    @app.get("/exports/fields", summary="The catalogue of exportable fields")
    def list_fields() -> list[FieldInfo]:
        current_caller(app)
        return dependencies().catalogue.catalogue()

    @app.post("/exports", summary="Request an export", responses={202: {"description": "Accepted"}})
    def create_export(body: Annotated[CreateExport, Body()]) -> Response[ExportStatus]:
        deps = dependencies()
        export = request_export(
            query=body.query,
            fields=body.fields,
            include_images=body.include_images,
            caller=current_caller(app),
            jobs=deps.jobs,
            catalogue=deps.catalogue,
            queue=deps.queue,
            max_retries=deps.settings.MAX_RETRIES,
        )
        metrics.add_metric(name="ExportsRequested", unit=MetricUnit.Count, value=1)
        return Response(status_code=HTTPStatus.ACCEPTED, content_type="application/json", body=status_of(export))

    @app.get("/exports", summary="Exports created by or shared with a user, newest first")
    def list_exports(
        user_id: Annotated[str | None, Query(max_length=256)] = None,
        limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 20,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
    ) -> ExportList:
        page = service.list_exports(
            caller=current_caller(app), user_id=user_id, limit=limit, cursor=cursor, jobs=dependencies().jobs
        )
        return ExportList(items=[status_of(e) for e in page.items], next_cursor=page.next_cursor)

    @app.get("/exports/<export_id>", summary="One export's status, with a fresh download URL once completed")
    def get_export(export_id: Annotated[str, Path(max_length=64)]) -> ExportStatus:
        return status_of(service.visible_export(export_id, current_caller(app), dependencies().jobs))

    @app.delete(
        "/exports/<export_id>", summary="Delete an export and its file", responses={204: {"description": "Deleted"}}
    )
    def delete_export(export_id: Annotated[str, Path(max_length=64)]) -> Response[None]:
        deps = dependencies()
        service.delete_export(export_id, caller=current_caller(app), jobs=deps.jobs, store=deps.store)
        return Response(status_code=HTTPStatus.NO_CONTENT, body=None)

    @app.post("/exports/<export_id>/share", summary="Share an export with users")
    def share(export_id: Annotated[str, Path(max_length=64)], body: Annotated[ShareRequest, Body()]) -> ExportStatus:
        export = service.share_export(export_id, body.user_ids, caller=current_caller(app), jobs=dependencies().jobs)
        return status_of(export)

    @app.post("/exports/<export_id>/unshare", summary="Stop sharing an export with users")
    def unshare(export_id: Annotated[str, Path(max_length=64)], body: Annotated[ShareRequest, Body()]) -> ExportStatus:
        export = service.unshare_export(export_id, body.user_ids, caller=current_caller(app), jobs=dependencies().jobs)
        return status_of(export)

    for prefix in CAPTURE_PREFIXES:
        app.include_router(build_captures_router(metrics, current_caller), prefix=prefix)

    return app
