"""The body of a query export's run: the observations a query selects, streamed into the seed-003 ZIP.

The lifecycle (claim, lease, upload, complete, retry) is :func:`exporter.jobs.lifecycle.run_job`;
this module only writes the archive. An export longer than one run checkpoints at a row boundary
(every ``checkpoint_every_rows`` rows) when the run's time is short, and the next run goes on
after the last row written, into the same upload: the archive is the one an uninterrupted run writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg2.extensions

from ..adapters.ports import ObjectStore
from ..jobs.kind import Artefact, Continuing, JobRun
from ..output.zipstream import ZipStream
from .archive import IMAGE_FETCHERS, ArchiveStats, CsvTable, write_ads, write_csv, write_details
from .model import ExportParameters
from .observations import Key, ObservationsSnapshot
from .query import compile_query

# Rows between two points an export may stop at and go on from; the CSV's deflate stream is flushed there
# (a few bytes each), whether the run stops or not, so an export's bytes do not depend on its runs. Close
# enough that a stretch of rows with images (seconds each at worst) fits in a run's reserve many times.
CHECKPOINT_EVERY_ROWS = 10_000


@dataclass
class QueryExportRun:
    """Writes one query export's archive; built once per container with its ports."""

    reader: Callable[[], psycopg2.extensions.connection]  # a connection for the read snapshot
    images: ObjectStore  # the source bucket
    fetch_batch_rows: int
    image_fetchers: int = IMAGE_FETCHERS  # images fetched at once, ahead of the row being written
    checkpoint_every_rows: int = CHECKPOINT_EVERY_ROWS

    def __call__(self, run: JobRun) -> Artefact | Continuing:
        params = run.export.parameters
        if not isinstance(params, ExportParameters):
            raise TypeError(f"export {run.export.export_id} is a {run.export.kind.value}, not a query export")
        resumed = run.resumed
        zip_ = ZipStream(run.output, resumed=_zip_resumed(run, resumed))
        table = CsvTable(params.fields, resumed=_csv_resumed(run, resumed))
        try:
            stats = ArchiveStats.of(resumed["stats"]) if resumed else ArchiveStats()
            stopped = self._write_ads(run, params, zip_, table, stats, resumed)
            if stopped is not None:
                return _suspend(run, zip_, table, stats, stopped, resumed)
            write_csv(zip_, table)
            extra = _extra(stats)
            write_details(zip_, run.details(rows=stats.rows, extra=extra, completed_at=datetime.now(UTC)))
            zip_.close()
        except BaseException:
            zip_.discard()
            raise
        finally:
            table.close()
        return Artefact(rows=stats.rows, details=extra, log={"missing_images": stats.missing_images_count})

    def _write_ads(
        self,
        run: JobRun,
        params: ExportParameters,
        zip_: ZipStream,
        table: CsvTable,
        stats: ArchiveStats,
        resumed: dict[str, Any] | None,
    ) -> Key | None:
        """Every ad's folder, each row's CSV line into ``table``; the key of the last row when the run stops early."""
        compiled = compile_query(params.query)
        heartbeat = run.heartbeat
        paths = [*params.fields, "media"] if params.include_images else list(params.fields)
        with ObservationsSnapshot(
            self.reader(), compiled.sql, compiled.params, batch_rows=self.fetch_batch_rows
        ) as snapshot:
            heartbeat.rows_total = int(resumed["rows_total"]) if resumed else snapshot.count()
            heartbeat(stats.rows, force=True)
            rows = snapshot.rows(paths, after=_key(resumed))
            try:
                # One pass: each row's folder is written and its CSV line deflated into the table.
                last = write_ads(
                    zip_,
                    rows,
                    params.fields,
                    images=self.images.get if params.include_images else None,
                    stats=stats,
                    on_row=heartbeat,
                    table=table,
                    image_fetchers=self.image_fetchers,
                    boundaries=(self.checkpoint_every_rows, RunTime(run).short),
                )
            finally:
                rows.close()
            return snapshot.key_of(last) if last is not None else None


class RunTime:
    """Whether a run should stop at a boundary: when what is left of its time may not hold one more stretch."""

    def __init__(self, run: JobRun) -> None:
        self._run = run
        self._mark = time.monotonic()

    def short(self, _rows: int) -> bool:
        now = time.monotonic()
        stretch, self._mark = now - self._mark, now
        left = self._run.time_left()
        return left is not None and left < 1.5 * stretch


def _key(resumed: dict[str, Any] | None) -> Key | None:
    return (str(resumed["after"][0]), str(resumed["after"][1])) if resumed else None


def _kept(run: JobRun, keys: Sequence[str]) -> Iterator[bytes]:
    """What earlier runs kept under ``keys``, in order, read only when it is needed."""
    for key in keys:
        yield from run.saved(key)


def _zip_resumed(run: JobRun, resumed: dict[str, Any] | None) -> tuple[dict[str, Any], Iterator[bytes]] | None:
    return (resumed["zip"], _kept(run, resumed["zip"]["central"])) if resumed else None


def _csv_resumed(run: JobRun, resumed: dict[str, Any] | None) -> tuple[dict[str, Any], Iterator[bytes]] | None:
    return (resumed["csv"], _kept(run, resumed["csv"]["deflated"])) if resumed else None


def _suspend(
    run: JobRun, zip_: ZipStream, table: CsvTable, stats: ArchiveStats, after: Key, resumed: dict[str, Any] | None
) -> Continuing:
    """Keep this run's directory records and CSV data, and hand the export to a next run."""
    zip_state, central = zip_.suspend()
    csv_state, deflated = table.suspend()
    try:
        zip_state["central"] = [*(resumed["zip"]["central"] if resumed else []), run.save("central", central)]
        csv_state["deflated"] = [*(resumed["csv"]["deflated"] if resumed else []), run.save("csv", deflated)]
    finally:
        central.close()
    state = {
        "after": list(after),
        "rows_total": run.heartbeat.rows_total,
        "stats": stats.state(),
        "zip": zip_state,
        "csv": csv_state,
    }
    return run.suspend(state, rows=stats.rows)


def _extra(stats: ArchiveStats) -> dict[str, Any]:
    return {
        "rows": stats.rows,
        "images_included": stats.images,
        "missing_images_count": stats.missing_images_count,
        "missing_images": stats.missing_images,
        **(
            {"renamed_folders_count": stats.renamed_folders_count, "renamed_folders": stats.renamed_folders}
            if stats.renamed_folders_count
            else {}
        ),
    }
