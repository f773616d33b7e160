"""The dataset catalogue: one folder per dataset, read once, checked whole.

``datasets/<name>/`` holds ``select.sql`` (one SELECT with named ``%(param)s`` placeholders, or a
CKB ``COPY (SELECT …) TO STDOUT WITH CSV HEADER``), an optional ``delete.sql`` (archival: what
was exported is deleted once its file is complete) and an optional ``dataset.toml``::

    title = "Observations"
    description = "Ad observations in a date range"
    groups = ["*"]              # who may run it; default ["admin"]; "*" is any signed-in user
    format = "csv.gz"           # csv.gz (default), csv, jsonl.gz, csv.zip (AES-256, the requester's key)
    run = "immediate"           # immediate (default) or batch: dataset requests wait for [schedule]
    source = "archive"          # another database, by its name in DATASET_SOURCES; default: the service's

    [[parameters]]
    name = "start_date"
    type = "date"               # date, timestamp, string, uuid, integer
    required = true             # or: default = "2025-01-01"

    [schedule]                  # an operator schedule, made by the CDK app
    expression = "cron(0 2 * * ? *)"
    timezone = "UTC"
    parameters = { start_date = "{{ run_date - 1 day }}" }

A malformed folder raises :class:`~exporter.errors.InvalidDataset` naming the folder and the
problem, so ``cdk synth`` and the tests fail on it (:func:`validate_catalogue`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import DatasetNotFound, InvalidDataset
from ..jobs.model import Caller
from ..schedules.expressions import InvalidExpression, parse, zone
from .parameters import ParameterType, parse_value
from .sql import SqlProblem, Statement, parse_delete, parse_select

ANY_SIGNED_IN = "*"  # in ``groups``: every signed-in user may run the dataset
DEFAULT_GROUPS = ("admin",)
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\Z")
_TOML_KEYS = {"title", "description", "parameters", "groups", "format", "schedule", "source", "run"}
_PARAMETER_KEYS = {"name", "type", "required", "default", "description"}
_SCHEDULE_KEYS = {"expression", "timezone", "parameters"}


class Format(StrEnum):
    CSV_GZ = "csv.gz"
    CSV = "csv"
    JSONL_GZ = "jsonl.gz"
    CSV_ZIP = "csv.zip"  # the CSV in a ZIP encrypted with AES-256 under the requester's key

    @property
    def content_type(self) -> str:
        if self is Format.CSV_ZIP:
            return "application/zip"
        return "text/csv; charset=utf-8" if self is Format.CSV else "application/gzip"

    @property
    def compressed(self) -> bool:
        """Gzipped on the way out (a ZIP compresses its own entry)."""
        return self in (Format.CSV_GZ, Format.JSONL_GZ)

    @property
    def encrypted(self) -> bool:
        return self is Format.CSV_ZIP


class RunMode(StrEnum):
    IMMEDIATE = "immediate"  # a dataset request is enqueued at once
    BATCH = "batch"  # dataset requests wait for the dataset's schedule, which runs every waiting one


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParameterType
    required: bool
    default: str | int | None = None  # as stored: the canonical text of a date, timestamp, uuid
    description: str = ""


@dataclass(frozen=True)
class OperatorSchedule:
    expression: str
    timezone: str = "UTC"
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    select: Statement
    delete: Statement | None
    parameters: tuple[Parameter, ...] = ()
    groups: tuple[str, ...] = DEFAULT_GROUPS
    format: Format = Format.CSV_GZ
    schedule: OperatorSchedule | None = None
    source: str | None = None
    run: RunMode = RunMode.IMMEDIATE
    select_sql: str = ""  # the files as written, shown to admins
    delete_sql: str | None = None

    @property
    def deletes(self) -> bool:
        return self.delete is not None

    def runnable_by(self, caller: Caller) -> bool:
        """Admins run every dataset; anyone else one whose groups hold theirs, or ``*``."""
        return caller.is_admin or ANY_SIGNED_IN in self.groups or bool(set(self.groups) & set(caller.groups))


@dataclass(frozen=True)
class Catalogue:
    datasets: Mapping[str, Dataset]

    def __iter__(self) -> Iterator[Dataset]:
        return iter(self.datasets[name] for name in sorted(self.datasets))

    def __len__(self) -> int:
        return len(self.datasets)

    def get(self, name: str) -> Dataset:
        """The dataset ``name`` whoever asks (the worker); :class:`DatasetNotFound` when there is none."""
        try:
            return self.datasets[name]
        except KeyError:
            raise DatasetNotFound(f"dataset {name!r} not found") from None

    def runnable(self, name: str, caller: Caller) -> Dataset:
        """The dataset ``name`` if ``caller`` may run it; to anyone else it does not exist."""
        dataset = self.datasets.get(name)
        if dataset is None or not dataset.runnable_by(caller):
            raise DatasetNotFound(f"dataset {name!r} not found")
        return dataset

    def visible_to(self, caller: Caller) -> list[Dataset]:
        return [dataset for dataset in self if dataset.runnable_by(caller)]


def load_catalogue(path: str | Path) -> Catalogue:
    """Every dataset folder under ``path``; a missing ``path`` is an empty catalogue."""
    root = Path(path)
    if not root.is_dir():
        return Catalogue({})
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    return Catalogue({folder.name: load_dataset(folder) for folder in folders})


def validate_catalogue(path: str | Path) -> Catalogue:
    """:func:`load_catalogue`, refusing a ``path`` that is not a folder: what ``cdk synth`` and the tests call."""
    if not Path(path).is_dir():
        raise InvalidDataset(f"{path}: no such datasets folder")
    return load_catalogue(path)


def load_dataset(folder: Path) -> Dataset:
    """One dataset folder; :class:`InvalidDataset` names the folder and what is wrong with it."""
    try:
        return _read(folder)
    except (SqlProblem, ValueError, TypeError, tomllib.TOMLDecodeError) as problem:
        raise InvalidDataset(f"dataset {folder.name} ({folder}): {problem}") from problem


def _read(folder: Path) -> Dataset:
    if not _NAME.match(folder.name):
        raise ValueError("the folder name must be lowercase letters, digits, '-' or '_' (at most 63)")
    select_file = folder / "select.sql"
    if not select_file.is_file():
        raise ValueError("select.sql is missing")
    select_sql = select_file.read_text("utf-8")
    delete_file = folder / "delete.sql"
    delete_sql = delete_file.read_text("utf-8") if delete_file.is_file() else None
    toml_file = folder / "dataset.toml"
    meta = tomllib.loads(toml_file.read_text("utf-8")) if toml_file.is_file() else {}
    _known_keys(meta, _TOML_KEYS, "dataset.toml")
    select = parse_select(select_sql)
    delete = parse_delete(delete_sql) if delete_sql is not None else None
    parameters = tuple(_parameter(raw) for raw in _list(meta, "parameters"))
    _check_placeholders(select, delete, parameters)
    if _format(meta).encrypted and _run_mode(meta) is RunMode.BATCH:
        raise ValueError("an encrypted format runs immediately: its key is held only while its request runs")
    if _run_mode(meta) is RunMode.BATCH and meta.get("schedule") is None:
        raise ValueError('run = "batch" needs a [schedule] to run the waiting requests')
    return Dataset(
        name=folder.name,
        title=_text(meta, "title", default=folder.name),
        description=_text(meta, "description", default=""),
        select=select,
        delete=delete,
        parameters=parameters,
        groups=_groups(meta),
        format=_format(meta),
        schedule=_schedule(meta.get("schedule"), parameters),
        source=_text(meta, "source", default="") or None,
        run=_run_mode(meta),
        select_sql=select_sql,
        delete_sql=delete_sql,
    )


def _known_keys(table: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"{where} has an unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")


def _text(meta: Mapping[str, Any], key: str, *, default: str) -> str:
    value = meta.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"dataset.toml: {key} must be a string")
    return value


def _list(meta: Mapping[str, Any], key: str) -> list[Any]:
    value = meta.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"dataset.toml: {key} must be a list")
    return value


def _groups(meta: Mapping[str, Any]) -> tuple[str, ...]:
    groups = _list(meta, "groups") if "groups" in meta else list(DEFAULT_GROUPS)
    if not groups or not all(isinstance(g, str) and g for g in groups):
        raise ValueError('dataset.toml: groups must be a non-empty list of group names ("*": any signed-in user)')
    return tuple(groups)


def _format(meta: Mapping[str, Any]) -> Format:
    raw = meta.get("format", Format.CSV_GZ.value)
    try:
        return Format(raw)
    except ValueError:
        raise ValueError(f"unknown format {raw!r} (known: {', '.join(f.value for f in Format)})") from None


def _run_mode(meta: Mapping[str, Any]) -> RunMode:
    raw = meta.get("run", RunMode.IMMEDIATE.value)
    try:
        return RunMode(raw)
    except ValueError:
        raise ValueError(f"unknown run {raw!r} (known: immediate, batch)") from None


def _parameter(raw: Any) -> Parameter:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ValueError("each [[parameters]] needs a name")
    name = raw["name"]
    _known_keys(raw, _PARAMETER_KEYS, f"parameter {name!r}")
    try:
        kind = ParameterType(str(raw.get("type")))
    except ValueError:
        known = ", ".join(t.value for t in ParameterType)
        raise ValueError(f"parameter {name!r} has an unknown type {raw.get('type')!r} (known: {known})") from None
    has_default = "default" in raw
    required = raw.get("required", not has_default)
    if not isinstance(required, bool) or required == has_default:
        raise ValueError(f"parameter {name!r} must be either required = true or have a default")
    default = parse_value(kind, raw["default"], name=name) if has_default else None
    return Parameter(name, kind, required, default, str(raw.get("description", "")))


def _check_placeholders(select: Statement, delete: Statement | None, parameters: tuple[Parameter, ...]) -> None:
    declared = [p.name for p in parameters]
    duplicates = sorted({n for n in declared if declared.count(n) > 1})
    if duplicates:
        raise ValueError(f"parameter {duplicates[0]!r} is declared twice")
    for statement, file in ((select, "select.sql"), (delete, "delete.sql")):
        undeclared = sorted(statement.placeholders - set(declared)) if statement else []
        if undeclared:
            raise ValueError(f"{file} has a placeholder %({undeclared[0]})s with no declared parameter")
    unused = sorted(set(declared) - select.placeholders)
    if unused:
        raise ValueError(f"parameter {unused[0]!r} is declared but select.sql never uses %({unused[0]})s")


def _schedule(raw: Any, parameters: tuple[Parameter, ...]) -> OperatorSchedule | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("expression"), str):
        raise ValueError('[schedule] needs an expression, e.g. "cron(0 2 * * ? *)"')
    _known_keys(raw, _SCHEDULE_KEYS, "[schedule]")
    values = raw.get("parameters", {})
    if not isinstance(values, dict):
        raise ValueError("[schedule] parameters must be a table")
    unknown = sorted(set(values) - {p.name for p in parameters})
    if unknown:
        raise ValueError(f"[schedule] sets {unknown[0]!r}, which is no declared parameter")
    schedule = OperatorSchedule(raw["expression"], str(raw.get("timezone", "UTC")), values)
    try:  # one EventBridge Scheduler accepts
        parse(schedule.expression)
        zone(schedule.timezone)
    except InvalidExpression as problem:
        raise ValueError(f"[schedule] {problem}") from problem
    return schedule
