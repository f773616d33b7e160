"""The seed-003 archive layout, written through a :class:`ZipStream`.

``all_data.csv`` (one row per observation), ``export_details.json``, and one folder per ad
with its ``data.json`` and, when asked for, its images.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .fields import projector
from .zipstream import ZipStream

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_CSV_FLUSH_BYTES = 256 * 1024
MISSING_LISTED_AT_MOST = 1000
# Deflating a few hundred bytes costs more time than the bytes it saves: store small entries.
_COMPRESS_ABOVE = 1024

Rows = Iterable[tuple[str, dict[str, Any]]]


def to_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; orjson for speed, the standard library for what orjson refuses (huge ints)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def neutralise(text: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula (CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def csv_cell(value: Any) -> str:
    """One CSV cell: text as is (neutralised), numbers plainly, lists and objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return neutralise(to_json(value).decode("utf-8"))


def safe_name(text: str) -> str:
    """A single, harmless path segment for a ZIP entry."""
    cleaned = _UNSAFE_NAME.sub("_", text).strip(".")
    return cleaned or "_"


@dataclass
class ArchiveStats:
    rows: int = 0
    images: int = 0
    missing_images: list[dict[str, str]] = field(default_factory=list)
    missing_images_count: int = 0

    def missing(self, observation_id: str, key: str) -> None:
        self.missing_images_count += 1
        if len(self.missing_images) < MISSING_LISTED_AT_MOST:
            self.missing_images.append({"observation_id": observation_id, "key": key})


def write_ads(
    zip_: ZipStream,
    rows: Rows,
    fields: Sequence[str],
    *,
    images: Callable[[str], bytes | None] | None,
    stats: ArchiveStats,
    on_row: Callable[[int], None],
) -> None:
    """``ads/{observation_id}/data.json`` and, when ``images`` is given, ``image_{n}.{ext}``."""
    project = projector(fields)
    for observation_id, document in rows:
        folder = f"ads/{safe_name(observation_id)}"
        data = to_json(project(document))
        zip_.write_bytes(f"{folder}/data.json", data, compress=len(data) > _COMPRESS_ABOVE)
        if images is not None:
            for n, key in enumerate(document.get("media") or [], start=1):
                if not isinstance(key, str):
                    continue
                blob = images(key)
                if blob is None:
                    stats.missing(observation_id, key)
                    continue
                extension = "." + safe_name(posixpath.splitext(key)[1].lower().lstrip(".") or "jpg")
                zip_.write_bytes(f"{folder}/image_{n}{extension}", blob, compress=False)
                stats.images += 1
        stats.rows += 1
        on_row(stats.rows)


def write_csv(
    zip_: ZipStream,
    rows: Rows,
    fields: Sequence[str],
    *,
    name: str = "all_data.csv",
    on_row: Callable[[int], None] | None = None,
) -> int:
    """``all_data.csv``: header = the fields in request order, one line per observation."""
    count = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(f) for f in fields])
    project = projector(fields)
    with zip_.open(name) as entry:
        for _observation_id, document in rows:
            writer.writerow([csv_cell(v) for v in project(document).values()])
            count += 1
            if buffer.tell() >= _CSV_FLUSH_BYTES:
                entry.write(buffer.getvalue().encode("utf-8"))
                buffer.seek(0)
                buffer.truncate()
                if on_row is not None:
                    on_row(count)
        entry.write(buffer.getvalue().encode("utf-8"))
    return count


def write_details(zip_: ZipStream, details: dict[str, Any]) -> None:
    zip_.write_bytes(
        "export_details.json", json.dumps(details, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    )
