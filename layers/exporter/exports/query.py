"""The query language of the observations API, compiled to parameterised SQL.

A query is a tree ``{"method": M, "args": [...]}``. ``AND``/``OR`` take one or more
sub-queries, ``NOT`` exactly one; the leaves take strings. Every value reaches SQL as a
bound parameter, never as text of the statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..adapters.postgres import is_storable_text
from ..errors import InvalidQuery

MAX_DEPTH = 8
MAX_ARGS = 1000
MAX_ARG_LENGTH = 256


@dataclass(frozen=True)
class Compiled:
    """A SQL boolean expression over ``observations`` and its parameters."""

    sql: str
    params: tuple[Any, ...]


_ASCII_DIGITS = re.compile(r"[0-9]{1,15}")


def _epoch_ms(method: str, arg: str) -> float:
    if not _ASCII_DIGITS.fullmatch(arg):
        raise InvalidQuery(f"{method} takes a millisecond epoch as a string of digits, got {arg!r}")
    return int(arg) / 1000.0


def _contains(column: str) -> Callable[[str, list[str]], Compiled]:
    def compile_leaf(method: str, args: list[str]) -> Compiled:
        clause = " OR ".join(f"strpos({column}, %s) > 0" for _ in args)
        return Compiled(f"({clause})", tuple(args))

    return compile_leaf


def _datetime(operator: str) -> Callable[[str, list[str]], Compiled]:
    def compile_leaf(method: str, args: list[str]) -> Compiled:
        if len(args) != 1:
            raise InvalidQuery(f"{method} takes exactly one argument, got {len(args)}")
        return Compiled(f"observed_at {operator} to_timestamp(%s)", (_epoch_ms(method, args[0]),))

    return compile_leaf


def _platform(method: str, args: list[str]) -> Compiled:
    return Compiled("platform = ANY(%s)", ([a.upper() for a in args],))


LEAVES: dict[str, Callable[[str, list[str]], Compiled]] = {
    "OBSERVER_ID_CONTAINS": _contains("observer_id"),
    "OBSERVATION_ID_CONTAINS": _contains("observation_id"),
    "DATETIME_AFTER": _datetime(">"),
    "DATETIME_BEFORE": _datetime("<"),
    "PLATFORM_EQUALS": _platform,
}
COMBINATORS = ("AND", "OR", "NOT")
METHODS = (*COMBINATORS, *LEAVES)


def compile_query(query: Any) -> Compiled:
    """Validate ``query`` and compile it; raise :class:`InvalidQuery` naming the problem."""
    counter = [0]
    return _compile(query, depth=1, counter=counter, where="query")


def _compile(node: Any, *, depth: int, counter: list[int], where: str) -> Compiled:
    method, args = _checked_node(node, depth=depth, counter=counter, where=where)
    if method in COMBINATORS:
        return _compile_combinator(method, args, depth=depth, counter=counter, where=where)
    _check_leaf_args(method, args, where=where)
    try:
        return LEAVES[method](method, args)
    except InvalidQuery as error:
        raise InvalidQuery(f"{where}: {error}") from None


def _checked_node(node: Any, *, depth: int, counter: list[int], where: str) -> tuple[str, list[Any]]:
    """``(method, args)`` of a well-formed node within the depth and argument limits."""
    if depth > MAX_DEPTH:
        raise InvalidQuery(f"query is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict):
        raise InvalidQuery(f"{where} must be an object with 'method' and 'args'")
    extra = set(node) - {"method", "args"}
    if extra:
        raise InvalidQuery(f"{where} has unknown keys: {', '.join(sorted(map(str, extra)))}")
    method, args = node.get("method"), node.get("args")
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidQuery(f"{where}: unknown method {method!r}; valid methods: {', '.join(METHODS)}")
    if not isinstance(args, list) or not args:
        raise InvalidQuery(f"{where}: {method} needs a non-empty list 'args'")
    counter[0] += len(args)
    if counter[0] > MAX_ARGS:
        raise InvalidQuery(f"query has more than {MAX_ARGS} arguments")
    return method, args


def _compile_combinator(method: str, args: list[Any], *, depth: int, counter: list[int], where: str) -> Compiled:
    if method == "NOT" and len(args) != 1:
        raise InvalidQuery(f"{where}: NOT takes exactly one sub-query, got {len(args)}")
    parts = [_compile(arg, depth=depth + 1, counter=counter, where=f"{where}.args[{i}]") for i, arg in enumerate(args)]
    params = tuple(p for part in parts for p in part.params)
    if method == "NOT":
        return Compiled(f"(NOT {parts[0].sql})", params)
    return Compiled("(" + f" {method} ".join(part.sql for part in parts) + ")", params)


def _check_leaf_args(method: str, args: list[Any], *, where: str) -> None:
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            raise InvalidQuery(f"{where}: {method} takes strings; args[{i}] is {type(arg).__name__}")
        if not arg or len(arg) > MAX_ARG_LENGTH:
            raise InvalidQuery(f"{where}: args[{i}] must be 1 to {MAX_ARG_LENGTH} characters")
        if "\x00" in arg:
            raise InvalidQuery(f"{where}: args[{i}] contains a NUL character")
        if not is_storable_text(arg):
            raise InvalidQuery(f"{where}: args[{i}] is not valid Unicode text (a lone surrogate)")


def describe(query: dict[str, Any]) -> str:
    """A one-line, human-readable rendering of a valid query (for logs and the seed's query_string)."""
    method, args = query["method"], query["args"]
    if method in COMBINATORS:
        inner = f" {method} ".join(describe(a) for a in args)
        return f"NOT ({inner})" if method == "NOT" else f"({inner})"
    return f"{method}({', '.join(repr(a) for a in args)})"
