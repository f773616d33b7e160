"""Field paths: validation against the catalogue and extraction from an observation document."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..adapters.postgres import Database
from ..errors import UnknownField
from .model import FieldInfo

MISSING = None


def resolve_fields(requested: Sequence[str] | None, catalogue: Sequence[FieldInfo]) -> list[str]:
    """The paths to export, in request order; the defaults when none are asked for."""
    known = [f.path for f in catalogue]
    if requested is None:
        return [f.path for f in catalogue if f.is_default]
    if not requested:
        raise UnknownField("fields must not be empty; omit it to export the default fields")
    unknown = [p for p in requested if p not in known]
    if unknown:
        raise UnknownField(f"unknown field(s): {', '.join(unknown)}; valid fields: {', '.join(known)}")
    seen: set[str] = set()
    duplicates = [p for p in requested if p in seen or seen.add(p)]  # type: ignore[func-returns-value]
    if duplicates:
        raise UnknownField(f"field(s) requested twice: {', '.join(duplicates)}")
    return list(requested)


def extract(document: Any, path: str) -> Any:
    """The value at a dot ``path``; a list on the way maps over its elements and flattens.

    ``extract(doc, "observation.keyframes.ocr_data.text")`` is the list of every OCR text of
    every keyframe. A missing key gives ``None`` (or is left out inside a list).
    """
    return _walk(document, path.split("."))


def getter(path: str) -> Callable[[Any], Any]:
    """``extract`` for one path, with the common case (nested objects, no lists) kept fast."""
    keys = path.split(".")

    def get(document: Any) -> Any:
        value = document
        for i, key in enumerate(keys):
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list):
                return _walk(value, keys[i:])
            else:
                return MISSING
        return value

    return get


def _walk(value: Any, keys: list[str]) -> Any:
    if not keys:
        return value
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            found = _walk(item, keys)
            if isinstance(found, list):
                out.extend(found)
            elif found is not None:
                out.append(found)
        return out
    if isinstance(value, dict):
        return _walk(value.get(keys[0]), keys[1:]) if keys[0] in value else MISSING
    return MISSING


def project(document: dict[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """The chosen fields of one document, keyed by path, in order."""
    return {path: extract(document, path) for path in paths}


def projector(paths: Sequence[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``project`` for a fixed list of paths, compiled once per export."""
    getters = [(path, getter(path)) for path in paths]
    return lambda document: {path: get(document) for path, get in getters}


SELECT_CATALOGUE = "SELECT name, description, path, is_default FROM exportable_fields ORDER BY position"


class FieldsRepository:
    """The catalogue of exportable fields (seed 003's ``exportable_fields``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def catalogue(self) -> list[FieldInfo]:
        rows = self._db.run([(SELECT_CATALOGUE, None)])
        return [FieldInfo(name=n, description=d, path=p, is_default=i) for n, d, p, i in rows]
