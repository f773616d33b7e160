"""The seed-003 archive layout, written through a :class:`ZipStream`.

``all_data.csv`` (one row per observation), ``export_details.json``, and one folder per ad
with its ``data.json`` and, when asked for, its images.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..output.cells import CsvText, csv_cell, neutralise, to_json
from ..output.zipstream import ZipStream
from .fields import projector

__all__ = [
    "ArchiveStats",
    "csv_cell",
    "folder_name",
    "neutralise",
    "safe_name",
    "write_ads",
    "write_csv",
    "write_details",
]

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
MISSING_LISTED_AT_MOST = 1000
# Deflating a few hundred bytes costs more time than the bytes it saves: store small entries.
_COMPRESS_ABOVE = 1024

Rows = Iterable[tuple[str, dict[str, Any]]]


def safe_name(text: str) -> str:
    """A single, harmless path segment for a ZIP entry."""
    cleaned = _UNSAFE_NAME.sub("_", text).strip(".")
    return cleaned or "_"


def folder_name(observation_id: str) -> str:
    """The ad's folder: its id where that is a safe name, else the safe name + ``~`` + a hash of the id.

    ``~`` never appears in a safe name, so a renamed folder cannot meet an id kept as it is,
    and two ids that clean to the same name (``coll/a``, ``coll_a``) get two folders.
    """
    cleaned = safe_name(observation_id)
    if cleaned == observation_id:
        return cleaned
    return f"{cleaned}~{hashlib.sha256(observation_id.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


@dataclass
class ArchiveStats:
    rows: int = 0
    images: int = 0
    missing_images: list[dict[str, str]] = field(default_factory=list)
    missing_images_count: int = 0
    renamed_folders: list[dict[str, str]] = field(default_factory=list)
    renamed_folders_count: int = 0

    def renamed(self, observation_id: str, folder: str) -> None:
        self.renamed_folders_count += 1
        if len(self.renamed_folders) < MISSING_LISTED_AT_MOST:
            self.renamed_folders.append({"observation_id": observation_id, "folder": folder})

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
        name = folder_name(observation_id)
        if name != observation_id:
            stats.renamed(observation_id, f"ads/{name}")
        folder = f"ads/{name}"
        data = to_json(project(document))
        zip_.write_bytes(f"{folder}/data.json", data, compress=len(data) > _COMPRESS_ABOVE)
        if images is not None:
            _write_images(zip_, folder, observation_id, document, images, stats)
        stats.rows += 1
        on_row(stats.rows)


def _write_images(
    zip_: ZipStream,
    folder: str,
    observation_id: str,
    document: dict[str, Any],
    images: Callable[[str], bytes | None],
    stats: ArchiveStats,
) -> None:
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
    project = projector(fields)
    with zip_.open(name) as entry:
        text = CsvText(entry.write)
        text.row([neutralise(f) for f in fields])
        for _observation_id, document in rows:
            count += 1
            if text.row([csv_cell(v) for v in project(document).values()]) and on_row is not None:
                on_row(count)
        text.flush()
    return count


def write_details(zip_: ZipStream, details: dict[str, Any]) -> None:
    zip_.write_bytes(
        "export_details.json", json.dumps(details, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    )
