"""A dataset's parameters: their types, the text a request gives, the values bound into the SQL.

A request's values are checked against the dataset's declarations and stored in a canonical
form (ISO dates and timestamps, lowercase UUIDs, integers): that is the job's immutable
``parameters``, and what the worker binds, typed, into the statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest

if TYPE_CHECKING:
    from .catalogue import Parameter

MAX_STRING = 10_000
_INT64 = 2**63


class ParameterType(StrEnum):
    DATE = "date"
    TIMESTAMP = "timestamp"
    STRING = "string"
    UUID = "uuid"
    INTEGER = "integer"


def parse_value(kind: ParameterType, raw: Any, *, name: str) -> str | int:
    """The canonical form of ``raw`` as a ``kind``; ``ValueError`` naming the parameter when it is not one."""
    try:
        return _PARSERS[kind](raw)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"parameter {name!r} must be {_EXPECTED[kind]}") from None


def _date(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError
    return date.fromisoformat(raw).isoformat()


def _timestamp(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _string(raw: Any) -> str:
    if not isinstance(raw, str) or len(raw) > MAX_STRING or "\x00" in raw:
        raise ValueError
    raw.encode("utf-8")  # a lone surrogate cannot be sent to PostgreSQL
    return raw


def _uuid(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError
    return str(uuid.UUID(raw))


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError
    value = int(raw.strip()) if isinstance(raw, str) and raw.strip().lstrip("-").isdigit() else raw
    if not isinstance(value, int) or not -_INT64 <= value < _INT64:
        raise ValueError
    return value


_PARSERS: dict[ParameterType, Callable[[Any], str | int]] = {
    ParameterType.DATE: _date,
    ParameterType.TIMESTAMP: _timestamp,
    ParameterType.STRING: _string,
    ParameterType.UUID: _uuid,
    ParameterType.INTEGER: _integer,
}
_EXPECTED = {
    ParameterType.DATE: "a date, YYYY-MM-DD",
    ParameterType.TIMESTAMP: "an ISO 8601 timestamp, e.g. 2025-01-31T12:00:00Z",
    ParameterType.STRING: f"a string of at most {MAX_STRING} characters without NUL",
    ParameterType.UUID: "a UUID",
    ParameterType.INTEGER: "a 64-bit integer",
}


def parse_request(declared: Iterable[Parameter], raw: Mapping[str, Any]) -> dict[str, str | int]:
    """The canonical values of a request, defaults filled in; :class:`InvalidRequest` names the parameter."""
    declarations = {p.name: p for p in declared}
    unknown = sorted(set(raw) - set(declarations))
    if unknown:
        known = ", ".join(sorted(declarations)) or "none"
        raise InvalidRequest(f"unknown parameter {unknown[0]!r} (this dataset takes: {known})")
    values: dict[str, str | int] = {}
    for name, parameter in declarations.items():
        if name not in raw or raw[name] is None:
            if parameter.required:
                raise InvalidRequest(f"parameter {name!r} is required")
            if parameter.default is not None:
                values[name] = parameter.default
            continue
        try:
            values[name] = parse_value(parameter.type, raw[name], name=name)
        except ValueError as problem:
            raise InvalidRequest(str(problem)) from None
    return values


def bound(declared: Iterable[Parameter], values: Mapping[str, str | int]) -> dict[str, Any]:
    """The values as psycopg2 binds them: dates and timestamps typed, the rest as they are."""
    typed: dict[str, Any] = {}
    for parameter in declared:
        value = values.get(parameter.name)
        if value is None:
            typed[parameter.name] = None
        elif parameter.type is ParameterType.DATE:
            typed[parameter.name] = date.fromisoformat(str(value))
        elif parameter.type is ParameterType.TIMESTAMP:
            typed[parameter.name] = datetime.fromisoformat(str(value))
        else:
            typed[parameter.name] = value
    return typed
