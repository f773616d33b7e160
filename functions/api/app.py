"""The API: a router per resource joined on one resolver, one error table, and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from api import errors, gate, limits
from api.dependencies import settings
from api.public import DOCS, HEALTH, OPENAPI
from api.routes import applications, captures, datasets, exports, fields, schedules, sunbird

if TYPE_CHECKING:  # Powertools' OpenAPI models take a noticeable share of a cold start: loaded when a document is asked
    from aws_lambda_powertools.event_handler.openapi import models
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

# Powertools documents request validation as 422 with these schemas; this API answers it with 400 and Error.
POWERTOOLS_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
POWERTOOLS_422 = "Validation Error"
# The Swagger UI that Powertools ships (its script and style), served inline as enable_swagger does.
SWAGGER_UI = "aws_lambda_powertools.event_handler.openapi.swagger_ui"
SWAGGER_UI_FILES = ("swagger-ui-bundle.min.js", "swagger-ui.min.css")


def operations(document: OpenAPI) -> Iterator[models.Operation]:
    for item in (document.paths or {}).values():
        yield from (op for op in (item.get, item.put, item.post, item.patch, item.delete) if op is not None)


def without_validation_422(document: OpenAPI) -> OpenAPI:
    """``document`` without Powertools' 422 answers and their schemas, and without empty response content."""
    from aws_lambda_powertools.event_handler.openapi import models

    for operation in operations(document):
        responses = operation.responses or {}
        validation = responses.get(HTTPStatus.UNPROCESSABLE_ENTITY.value)
        if isinstance(validation, models.Response) and validation.description == POWERTOOLS_422:
            responses.pop(HTTPStatus.UNPROCESSABLE_ENTITY.value)
        for response in responses.values():
            if isinstance(response, models.Response) and response.content == {}:
                response.content = None
    schemas = (document.components.schemas if document.components else None) or {}
    for name in POWERTOOLS_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document


class ExportApi(APIGatewayHttpResolver):
    """The HTTP API resolver: refuses a body it cannot take before any route parses it; documents no 422."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        refused = gate.refusal(event, max_bytes=settings().MAX_BODY_BYTES) or limits.over_the_rate(event)
        if refused is not None:
            return errors.lambda_result(refused)
        return super().resolve(event, context)

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPI:
        return without_validation_422(super().get_openapi_schema(**kwargs))

    def swagger_page(self) -> Response[str]:
        """The Swagger UI page of the document (``?format=json``: the document alone), built when asked.

        What Powertools' ``enable_swagger`` serves, without loading its OpenAPI models at cold start.
        """
        from aws_lambda_powertools.event_handler.openapi.compat import model_json
        from aws_lambda_powertools.event_handler.openapi.models import Server
        from aws_lambda_powertools.event_handler.openapi.swagger_ui import (
            generate_oauth2_redirect_html,
            generate_swagger_html,
        )

        query = self.current_event.query_string_parameters or {}
        if query.get("format") == "oauth2-redirect":
            return Response(status_code=200, content_type="text/html", body=generate_oauth2_redirect_html())
        document = self.get_openapi_schema(servers=[Server(url=self._get_base_path() or "/")])
        spec = model_json(document, by_alias=True, exclude_none=True, indent=2).replace("</", "<\\/")
        if query.get("format") == "json":
            return Response(status_code=200, content_type="application/json", body=spec)
        script, style = (resources.files(SWAGGER_UI).joinpath(name).read_text("utf-8") for name in SWAGGER_UI_FILES)
        body = generate_swagger_html(spec, script, style, None, None, False)  # type: ignore[arg-type]
        return Response(status_code=200, content_type="text/html", body=body)


@cache
def build_app() -> ExportApi:
    """The process's one resolver (the routers are module-level, so they belong to one app)."""
    app = ExportApi(enable_validation=True)
    app.configure_openapi(
        title="Export service API",
        version="1.0.0",
        description="Request, watch, download and share dataset exports.",
    )
    errors.register(app)

    @app.get(HEALTH, include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(DOCS, include_in_schema=False)
    def docs() -> Response[str]:
        return app.swagger_page()

    @app.get(OPENAPI, include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(status_code=200, content_type="application/json", body=app.get_openapi_json_schema())

    app.include_router(fields.router)
    app.include_router(exports.router)
    for prefix in captures.PREFIXES:
        app.include_router(captures.router, prefix=prefix)
    app.include_router(schedules.router)
    app.include_router(datasets.router)
    app.include_router(applications.router, prefix=applications.PREFIX)
    app.include_router(sunbird.router)
    return app


def route_table() -> list[tuple[str, str]]:
    """Every (method, path) the API answers, paths in API Gateway syntax (``/exports/{export_id}``).

    The public ones are ``api.public.PUBLIC_ROUTES``; every other one needs a token.
    """
    app = build_app()
    return sorted({(route.method, route.openapi_path) for route in (*app._static_routes, *app._dynamic_routes)})
