"""The body of a dataset job: PostgreSQL writes the file (COPY … TO STDOUT), gzip streams it into the upload.

Memory stays flat whatever the size: psycopg2 hands each row COPY sends to :class:`GzipRows`,
which deflates it into the multipart sink in blocks. Parameters are bound by ``mogrify``.
A dataset with a ``delete.sql`` returns a :class:`~exporter.datasets.archive.DeleteExported` as
its ``after_upload`` (see :mod:`exporter.datasets.archive`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg2.extensions
from aws_lambda_powertools import Logger

from ..jobs.kind import Artefact, Heartbeat, JobRun, Sink
from ..output.deflater import BackgroundDeflate
from .archive import DeleteExported, finished_deletion, release
from .catalogue import Catalogue, Dataset, Format
from .encrypted import current_key, write_encrypted_zip
from .model import DatasetParameters
from .parameters import bound
from .sql import copy_csv, copy_jsonl

logger = Logger(child=True)

DEFAULT_GZIP_LEVEL = 6
_BLOCK = 256 * 1024  # rows are gathered into blocks this large before they are deflated
_GZIP_WBITS = 31  # zlib's gzip container
_QUEUED_BLOCKS = 4  # blocks waiting for the deflating thread: memory stays at about 1 MiB


class GzipRows:
    """The file object ``copy_expert`` writes into (one call a row): counts rows, deflates (or not) into ``sink``.

    Rows are gathered into blocks of ``_BLOCK`` bytes, so zlib and the sink see few, large writes;
    the blocks are deflated by a thread while PostgreSQL sends the next rows.
    """

    def __init__(self, sink: Sink, *, level: int | None, heartbeat: Callable[[int], None]) -> None:
        self._heartbeat = heartbeat
        self._out: Sink | BackgroundDeflate = (
            BackgroundDeflate(sink, level=level, wbits=_GZIP_WBITS, queued=_QUEUED_BLOCKS)
            if level is not None
            else sink
        )
        self._block = bytearray()
        self.writes = 0

    def write(self, data: bytes) -> int:
        block = self._block
        block += data
        self.writes += 1
        if len(block) >= _BLOCK:
            self._flush()
            self._heartbeat(self.writes)
        return len(data)

    def _flush(self) -> None:
        if self._block:
            self._out.write(bytes(self._block))
            self._block.clear()

    def close(self) -> None:
        """Write what is held and end the gzip stream; raises what the deflating thread met."""
        self._flush()
        if isinstance(self._out, BackgroundDeflate):
            self._out.finish()

    def abandon(self) -> None:
        """Stop the deflating thread without ending the stream (the export failed)."""
        if isinstance(self._out, BackgroundDeflate):
            self._out.stop()


Connect = Callable[[str | None], psycopg2.extensions.connection]


@dataclass(frozen=True)
class DatasetRun:
    """The body: ``connect(source)`` gives the connection to a dataset's database (None: the service's)."""

    catalogue: Catalogue
    connect: Connect
    gzip_level: int = DEFAULT_GZIP_LEVEL

    def __call__(self, run: JobRun) -> Artefact:
        parameters = run.export.parameters
        assert isinstance(parameters, DatasetParameters)
        dataset = self.catalogue.get(parameters.dataset)
        conn = self.connect(parameters.source)
        if not conn.closed and conn.status != psycopg2.extensions.STATUS_READY:
            conn.rollback()  # a transaction an earlier run left open (its upload failed)
        if dataset.delete is not None:
            earlier = finished_deletion(conn, run.export.export_id)
            if earlier is not None:
                logger.info("archived and deleted by an earlier run; keeping its object", extra=earlier.details)
                return Artefact(rows=earlier.rows_exported, details=earlier.details, kept_size=earlier.size_bytes)
        return self._export(run, dataset, parameters, conn)

    def _export(
        self, run: JobRun, dataset: Dataset, parameters: DatasetParameters, conn: psycopg2.extensions.connection
    ) -> Artefact:
        values = bound(dataset.parameters, parameters.parameters)
        fmt = Format(parameters.format)
        conn.autocommit = False
        conn.set_session(isolation_level="REPEATABLE READ", readonly=dataset.delete is None)
        try:
            rows = self._copy(run, conn, dataset, fmt, values)
        except BaseException:
            release(conn)
            raise
        details = _details(dataset, parameters, rows)
        if dataset.delete is None:
            release(conn)
            return Artefact(rows=rows, details=details, after_upload=_size, log={"dataset": dataset.name})
        deletion = DeleteExported(
            conn, dataset.delete, values, run.export.export_id, dataset.name, rows, details, run.heartbeat
        )
        return Artefact(rows=rows, details=details, after_upload=deletion, log={"dataset": dataset.name})

    def _copy(
        self, run: JobRun, conn: psycopg2.extensions.connection, dataset: Dataset, fmt: Format, values: dict[str, Any]
    ) -> int:
        if fmt.encrypted:
            key = current_key()  # before any work: an attempt without its key cannot succeed
            with tempfile.TemporaryFile() as csv_file:
                rows = self._copy_into(run, conn, dataset, fmt, values, csv_file)
                csv_file.seek(0)
                write_encrypted_zip(csv_file, run.output, key=key, entry_name=f"{dataset.name}.csv")
            return rows
        return self._copy_into(run, conn, dataset, fmt, values, run.output)

    def _copy_into(
        self,
        run: JobRun,
        conn: psycopg2.extensions.connection,
        dataset: Dataset,
        fmt: Format,
        values: dict[str, Any],
        sink: Sink,
    ) -> int:
        heartbeat: Heartbeat = run.heartbeat
        writer = GzipRows(sink, level=self.gzip_level if fmt.compressed else None, heartbeat=heartbeat)
        try:
            with conn.cursor() as cur:
                template = copy_jsonl(dataset.select) if fmt is Format.JSONL_GZ else copy_csv(dataset.select)
                statement = cur.mogrify(template, values).decode("utf-8")
                cur.copy_expert(statement, writer, size=_BLOCK)
                rows = int(cur.rowcount)
        except BaseException:
            writer.abandon()
            raise
        writer.close()
        heartbeat(rows, force=True)
        return rows


def _details(dataset: Dataset, parameters: DatasetParameters, rows: int) -> dict[str, Any]:
    """What the job records: the dataset, its parameters and source, the rows (bytes once uploaded)."""
    return {
        "dataset": dataset.name,
        "format": parameters.format,
        "parameters": parameters.parameters,
        "source": parameters.source or "service",
        "deletes": dataset.deletes,
        "rows": rows,
    }


def _size(size: int) -> dict[str, Any]:
    return {"bytes": size}
