"""The body of a query export's run: the observations a query selects, streamed into the seed-003 ZIP.

The lifecycle (claim, lease, upload, complete, retry) is :func:`exporter.jobs.lifecycle.run_job`;
this module only writes the archive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg2.extensions

from ..adapters.ports import ObjectStore
from ..jobs.kind import Artefact, JobRun
from ..output.zipstream import ZipStream
from .archive import IMAGE_FETCHERS, ArchiveStats, CsvTable, write_ads, write_csv, write_details
from .model import ExportParameters
from .observations import ObservationsSnapshot
from .query import compile_query


@dataclass
class QueryExportRun:
    """Writes one query export's archive; built once per container with its ports."""

    reader: Callable[[], psycopg2.extensions.connection]  # a connection for the read snapshot
    images: ObjectStore  # the source bucket
    fetch_batch_rows: int
    image_fetchers: int = IMAGE_FETCHERS  # images fetched at once, ahead of the row being written

    def __call__(self, run: JobRun) -> Artefact:
        params = run.export.parameters
        if not isinstance(params, ExportParameters):
            raise TypeError(f"export {run.export.export_id} is a {run.export.kind.value}, not a query export")
        compiled = compile_query(params.query)
        heartbeat = run.heartbeat
        zip_ = ZipStream(run.output)
        table = CsvTable(params.fields)
        try:
            stats = ArchiveStats()
            paths = [*params.fields, "media"] if params.include_images else list(params.fields)
            with ObservationsSnapshot(
                self.reader(), compiled.sql, compiled.params, batch_rows=self.fetch_batch_rows
            ) as snapshot:
                heartbeat.rows_total = snapshot.count()
                heartbeat(0, force=True)
                # One pass: each row's folder is written and its CSV line deflated into the table.
                write_ads(
                    zip_,
                    snapshot.rows(paths),
                    params.fields,
                    images=self.images.get if params.include_images else None,
                    stats=stats,
                    on_row=heartbeat,
                    table=table,
                    image_fetchers=self.image_fetchers,
                )
            write_csv(zip_, table)
            extra = {
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
            write_details(zip_, run.details(rows=stats.rows, extra=extra, completed_at=datetime.now(UTC)))
            zip_.close()
        except BaseException:
            zip_.discard()
            raise
        finally:
            table.close()
        return Artefact(rows=stats.rows, details=extra, log={"missing_images": stats.missing_images_count})
