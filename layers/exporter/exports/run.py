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
from .archive import ArchiveStats, write_ads, write_csv, write_details
from .model import ExportParameters
from .observations import ObservationsSnapshot
from .query import compile_query


@dataclass
class QueryExportRun:
    """Writes one query export's archive; built once per container with its ports."""

    reader: Callable[[], psycopg2.extensions.connection]  # a connection for the read snapshot
    images: ObjectStore  # the source bucket
    fetch_batch_rows: int

    def __call__(self, run: JobRun) -> Artefact:
        params = run.export.parameters
        if not isinstance(params, ExportParameters):
            raise TypeError(f"export {run.export.export_id} is a {run.export.kind.value}, not a query export")
        compiled = compile_query(params.query)
        heartbeat = run.heartbeat
        zip_ = ZipStream(run.output)
        try:
            stats = ArchiveStats()
            with ObservationsSnapshot(
                self.reader(), compiled.sql, compiled.params, batch_rows=self.fetch_batch_rows
            ) as snapshot:
                heartbeat.rows_total = snapshot.count()
                heartbeat(0, force=True)
                write_ads(
                    zip_,
                    snapshot.rows(),
                    params.fields,
                    images=self.images.get if params.include_images else None,
                    stats=stats,
                    on_row=heartbeat,
                )
                csv_rows = write_csv(zip_, snapshot.rows(), params.fields, on_row=lambda _n: heartbeat(stats.rows))
            if csv_rows != stats.rows:
                raise RuntimeError(f"snapshot changed between passes ({stats.rows} ads, {csv_rows} CSV rows)")
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
        return Artefact(rows=stats.rows, details=extra, log={"missing_images": stats.missing_images_count})
