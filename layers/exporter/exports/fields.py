"""Field paths: validation against the catalogue and extraction from an observation document."""

from __future__ import annotations

import time
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
    """``extract`` for one path, with the common case (nested objects, no lists) kept fast.

    The fast path indexes straight through; anything else on the way (a list, a scalar, a
    missing key) falls back to the general walk, which gives what :func:`extract` gives.
    """
    keys = path.split(".")
    walk = _walker(keys)
    if len(keys) == 1:
        (k1,) = keys
        return lambda document: document.get(k1) if type(document) is dict else walk(document)
    if len(keys) == 2:
        k1, k2 = keys

        def get2(document: Any) -> Any:
            try:
                return document[k1][k2]
            except (KeyError, TypeError, IndexError):
                return walk(document)

        return get2
    if len(keys) == 3:
        k1, k2, k3 = keys

        def get3(document: Any) -> Any:
            try:
                return document[k1][k2][k3]
            except (KeyError, TypeError, IndexError):
                return walk(document)

        return get3
    return walk


def _walker(keys: list[str]) -> Callable[[Any], Any]:
    def walk(document: Any) -> Any:
        value = document
        for i, key in enumerate(keys):
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list):
                return _walk(value, keys[i:])
            else:
                return MISSING
        return value

    return walk


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
    """``project`` for a fixed list of paths, compiled once per export.

    The common document (nested objects all the way, every key there) is projected by one
    function that indexes straight through for every path at once; anything else on the
    way (a list, a scalar, a missing key) falls back to the path-by-path getters, which
    give what :func:`extract` gives.
    """
    getters = [(path, getter(path)) for path in paths]

    def by_path(document: dict[str, Any]) -> dict[str, Any]:
        return {path: get(document) for path, get in getters}

    return _indexing(paths, by_path)


def _indexing(
    paths: Sequence[str], fallback: Callable[[dict[str, Any]], dict[str, Any]]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One function ``{path: document[k1][k2]..., ...}`` for the paths, with ``fallback`` on any miss.

    The source holds only generated names; the paths and keys are bound as arguments, so
    no text of a path is ever compiled.
    """
    bound: dict[str, Any] = {"fallback": fallback}
    members = []
    for i, path in enumerate(paths):
        bound[f"p{i}"] = path
        reads = []
        for j, key in enumerate(path.split(".")):
            bound[f"k{i}_{j}"] = key
            reads.append(f"[k{i}_{j}]")
        members.append(f"p{i}: document{''.join(reads)}")
    source = (
        f"def bind({', '.join(bound)}):\n"
        f"    def project(document):\n"
        f"        try:\n"
        f"            return {{{', '.join(members)}}}\n"
        f"        except (KeyError, TypeError, IndexError):\n"
        f"            return fallback(document)\n"
        f"    return project\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<projector>", "exec"), namespace)  # noqa: S102 - generated names only
    project: Callable[[dict[str, Any]], dict[str, Any]] = namespace["bind"](**bound)
    return project


def pruned_document(paths: Sequence[str], column: str = "rdo") -> str:
    """SQL for the part of a document the paths can reach; the rest stays in the database.

    Each object on a path keeps only the keys the paths go through; anything else on the way
    (a list, a scalar) is kept whole, so :func:`extract` reads the same values from the pruned
    document as from the whole one. A key that is absent becomes ``null``, which every path
    reads as missing too. The result is SQL text with no parameters (``%`` doubled).
    """
    tree: dict[str, Any] = {}
    for path in sorted(paths, key=lambda p: p.count(".")):  # a shorter path keeps its whole value
        node = tree
        *parents, last = path.split(".")
        for key in parents:
            if key in node and node[key] is None:
                break
            node = node.setdefault(key, {})
        else:
            node[last] = None
    return _pruned(column, tree)


def _literal(text: str) -> str:
    """A standard SQL string literal, safe inside a statement that also takes ``%s`` parameters."""
    if "\x00" in text:
        raise ValueError("a field path cannot hold NUL")
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def _pruned(expression: str, tree: dict[str, Any] | None) -> str:
    if tree is None:  # the path ends here: the whole value
        return expression
    members = []
    for key, subtree in tree.items():
        literal = _literal(key)
        members += [literal, _pruned(f"({expression} -> {literal})", subtree)]
    return (
        f"CASE WHEN jsonb_typeof({expression}) = 'object' "
        f"THEN jsonb_build_object({', '.join(members)}) ELSE {expression} END"
    )


SELECT_CATALOGUE = "SELECT name, description, path, is_default FROM exportable_fields ORDER BY position"


class FieldsRepository:
    """The catalogue of exportable fields (seed 003's ``exportable_fields``).

    With ``max_age_seconds``, one read serves every call for that long (the API reads the
    catalogue on each export request; it changes only with a migration).
    """

    def __init__(
        self, db: Database, *, max_age_seconds: float = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._max_age = max_age_seconds
        self._clock = clock
        self._read: tuple[float, tuple[FieldInfo, ...]] | None = None

    def catalogue(self) -> list[FieldInfo]:
        now = self._clock()
        if self._read is not None and now - self._read[0] < self._max_age:
            return list(self._read[1])
        rows = self._db.run([(SELECT_CATALOGUE, None)])
        fields = tuple(FieldInfo(name=n, description=d, path=p, is_default=i) for n, d, p, i in rows)
        if self._max_age > 0:
            self._read = (now, fields)
        return list(fields)
