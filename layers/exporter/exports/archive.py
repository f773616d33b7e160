"""The seed-003 archive layout, written through a :class:`ZipStream`.

``all_data.csv`` (one row per observation), ``export_details.json``, and one folder per ad
with its ``data.json`` and, when asked for, its images.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from ..output.cells import CsvText, csv_cell, csv_line, neutralise, to_json
from ..output.spool import DeflatedSpool
from ..output.zipstream import ZipStream
from .fields import projector

__all__ = [
    "ArchiveStats",
    "CsvTable",
    "ImagesAhead",
    "csv_cell",
    "folder_name",
    "neutralise",
    "safe_name",
    "write_ads",
    "write_csv",
    "write_details",
]

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
# An id that is its own safe name: safe characters only, no dot at either end.
_SAFE_ID = re.compile(r"[A-Za-z0-9_-](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?")
MISSING_LISTED_AT_MOST = 1000
# Deflating a few hundred bytes costs more time than the bytes it saves: store small entries.
_COMPRESS_ABOVE = 1024
# Images fetched at once (the boto3 clients' connection pool is sized for it, in adapters.aws).
IMAGE_FETCHERS = 16

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
    if _SAFE_ID.fullmatch(observation_id):
        return observation_id
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

    def state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, state: dict[str, Any]) -> ArchiveStats:
        return cls(**state)


class CsvTable:
    """``all_data.csv`` deflated as the rows go by, so the rows are read once for both the ads and the CSV.

    With ``resumed`` (a :meth:`suspend`'s state and the deflate data written before it), the same table
    goes on after its last :meth:`boundary`.
    """

    def __init__(self, fields: Sequence[str], *, resumed: tuple[dict[str, Any], Iterable[bytes]] | None = None) -> None:
        self.spool = DeflatedSpool(resumed=resumed)
        self._text = CsvText(self.spool.write)
        if resumed is None:
            self._text.row([neutralise(f) for f in fields])
        self.rows = int(resumed[0]["rows"]) if resumed else 0

    def add(self, values: Iterable[Any]) -> None:
        self.rows += 1
        self._text.line(csv_line(values))

    def boundary(self) -> None:
        """A point the table can stop at and go on from in another run; the bytes are the same either way."""
        self._text.flush()
        self.spool.full_flush()

    def suspend(self) -> tuple[dict[str, Any], IO[bytes]]:
        """Stop at the last :meth:`boundary`: the state to go on with, and this run's deflate data."""
        state, data = self.spool.suspend()
        return {**state, "rows": self.rows}, data

    def finish(self) -> None:
        self._text.flush()
        self.spool.finish()

    def close(self) -> None:
        self.spool.close()


ImageFetch = Callable[[str], bytes | None]


def write_ads(
    zip_: ZipStream,
    rows: Rows,
    fields: Sequence[str],
    *,
    images: ImageFetch | None,
    stats: ArchiveStats,
    on_row: Callable[[int], None],
    table: CsvTable | None = None,
    image_fetchers: int = 1,
    boundaries: Boundaries | None = None,
) -> str | None:
    """``ads/{observation_id}/data.json`` and, when ``images`` is given, ``image_{n}.{ext}``.

    With ``table``, each row's CSV line is added to it as well. With ``image_fetchers`` > 1,
    the images of the next rows are fetched by that many threads while earlier rows are
    written; entries are still written in row order. With ``boundaries``, every ``every`` rows
    the table is brought to a boundary and ``stop`` is asked whether to stop there: then the
    id of the last row written is returned (None when every row was written).
    """
    project = projector(fields)
    every, stop = boundaries if boundaries is not None else (0, None)
    with ImagesAhead(images, fetchers=image_fetchers) as fetched:
        for observation_id, document, blobs in fetched.rows(rows):
            name = folder_name(observation_id)
            if name != observation_id:
                stats.renamed(observation_id, f"ads/{name}")
            folder = f"ads/{name}"
            values = project(document)
            data = to_json(values)
            zip_.write_bytes(f"{folder}/data.json", data, compress=len(data) > _COMPRESS_ABOVE)
            if blobs:
                _write_images(zip_, folder, observation_id, blobs, stats)
            if table is not None:
                table.add(values.values())
            stats.rows += 1
            on_row(stats.rows)
            if every and stats.rows % every == 0 and _at_boundary(table, stop, stats.rows):
                return observation_id
    return None


Boundaries = tuple[int, Callable[[int], bool] | None]  # (every so many rows, stop there?)


def _at_boundary(table: CsvTable | None, stop: Callable[[int], bool] | None, rows: int) -> bool:
    if table is not None:
        table.boundary()
    return stop is not None and stop(rows)


Blobs = list[tuple[int, str, bytes | None]]  # (n, key, bytes or None when missing) of one ad's images


class ImagesAhead:
    """Rows with their images, fetched by a bounded pool a window of rows ahead of the row being written.

    At most ``window`` images are asked for or held at a time, so memory holds ``window``
    images whatever the export's size; rows come out in the order they went in.
    """

    def __init__(self, images: ImageFetch | None, *, fetchers: int, window: int | None = None) -> None:
        self._images = images
        self._fetchers = max(1, fetchers)
        self._window = window or 4 * self._fetchers
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> ImagesAhead:
        if self._images is not None and self._fetchers > 1:
            self._pool = ThreadPoolExecutor(max_workers=self._fetchers, thread_name_prefix="images")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def rows(self, rows: Rows) -> Iterator[tuple[str, dict[str, Any], Blobs]]:
        images, pool = self._images, self._pool
        if images is None:
            for observation_id, document in rows:
                yield observation_id, document, []
            return
        if pool is None:
            for observation_id, document in rows:
                yield observation_id, document, [(n, key, images(key)) for n, key in _media(document)]
            return
        yield from self._ahead(rows, images, pool)

    def _ahead(
        self, rows: Rows, images: ImageFetch, pool: ThreadPoolExecutor
    ) -> Iterator[tuple[str, dict[str, Any], Blobs]]:
        pending: deque[tuple[str, dict[str, Any], list[tuple[int, str, Future[bytes | None]]]]] = deque()
        in_flight = 0
        for observation_id, document in rows:
            futures = [(n, key, pool.submit(images, key)) for n, key in _media(document)]
            pending.append((observation_id, document, futures))
            in_flight += len(futures)
            while pending and in_flight > self._window:
                in_flight -= len(pending[0][2])
                yield _resolved(pending.popleft())
        while pending:
            yield _resolved(pending.popleft())


def _media(document: dict[str, Any]) -> list[tuple[int, str]]:
    return [(n, key) for n, key in enumerate(document.get("media") or [], start=1) if isinstance(key, str)]


def _resolved(
    item: tuple[str, dict[str, Any], list[tuple[int, str, Future[bytes | None]]]],
) -> tuple[str, dict[str, Any], Blobs]:
    observation_id, document, futures = item
    return observation_id, document, [(n, key, future.result()) for n, key, future in futures]


def _write_images(zip_: ZipStream, folder: str, observation_id: str, blobs: Blobs, stats: ArchiveStats) -> None:
    for n, key, blob in blobs:
        if blob is None:
            stats.missing(observation_id, key)
            continue
        extension = "." + safe_name(posixpath.splitext(key)[1].lower().lstrip(".") or "jpg")
        zip_.write_bytes(f"{folder}/image_{n}{extension}", blob, compress=False)
        stats.images += 1


def write_csv(
    zip_: ZipStream,
    rows: Rows | CsvTable,
    fields: Sequence[str] = (),
    *,
    name: str = "all_data.csv",
    on_row: Callable[[int], None] | None = None,
) -> int:
    """``all_data.csv``: header = the fields in request order, one line per observation.

    From the rows, or from a :class:`CsvTable` filled while the ads were written.
    """
    if isinstance(rows, CsvTable):
        rows.finish()
        zip_.write_deflated(name, rows.spool)
        return rows.rows
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
