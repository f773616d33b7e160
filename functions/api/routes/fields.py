"""The catalogue of exportable fields."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError

from api.auth import current_caller
from api.dependencies import dependencies
from api.errors import answers
from exporter.exports.model import FieldInfo

router = Router()


@router.get(
    "/exports/fields",
    summary="The catalogue of exportable fields",
    responses=answers({200: {"description": "The fields, by path"}}, UnauthorizedError),
)
def list_fields() -> list[FieldInfo]:
    current_caller(router)
    return dependencies().catalogue.catalogue()
