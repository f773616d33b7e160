"""Assembling an applications export exactly once: who may start it, the body that zips the parts, the sweep.

When a source answers, :func:`settle` tries to claim the export's assembly (an INSERT only one
caller can make, and only once no source is pending). The winner enqueues the assembly message
(or, when every source failed, fails the job); the lifecycle then runs :class:`AssemblyRun` as
the kind's body, so a duplicate message claims nothing. A premature message finds sources still
pending and returns ``Waiting``, which changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from aws_lambda_powertools import Logger

from ..adapters.parts import PartStore
from ..adapters.ports import MessageQueue
from ..jobs.kind import Artefact, JobRun, Waiting
from ..jobs.model import Export
from ..jobs.repository import JobsRepository
from ..output.zipstream import ZipStream
from .model import ApplicationParameters, AssemblyMessage
from .sources import SourceRow, SourcesRepository

logger = Logger(child=True)

CHUNK_BYTES = 1024 * 1024
# A claimed assembly still pending after this long lost its message (SQS delays are at most 15 minutes).
LOST_ASSEMBLY_SECONDS = 20 * 60


class NothingToAssemble(Exception):
    """Every source failed: there is no part to put in the archive."""


def assembly_message(export: Export) -> AssemblyMessage:
    return AssemblyMessage(
        export_id=export.export_id, creator_id=export.creator_id, attempt=export.attempt, max_retries=export.max_retries
    )


def failures(sources: list[SourceRow]) -> str:
    return "; ".join(f"{s.application}/{s.resource}: {s.message or 'failed'}" for s in sources if s.status == "failed")


def settle(export_id: UUID, *, jobs: JobsRepository, sources: SourcesRepository, queue: MessageQueue) -> bool:
    """Start the assembly if this caller wins it: enqueue it, or fail the job when no part was uploaded."""
    if not sources.claim_assembly(export_id):
        return False
    export = jobs.get(export_id)
    if export is None:
        return False
    rows = sources.for_export(export_id)
    if not any(s.status == "uploaded" for s in rows):
        jobs.fail_unfinished(export_id, f"every source failed: {failures(rows)}")
        logger.info("applications export failed: every source failed", extra={"export_id": str(export_id)})
        return True
    try:
        queue.send(assembly_message(export))
    except Exception:  # the sweep resends a claimed assembly whose message went missing
        logger.exception("assembly enqueue failed; the sweep will resend it", extra={"export_id": str(export_id)})
    logger.info("assembly enqueued", extra={"export_id": str(export_id)})
    return True


def part_name(source: SourceRow, fmt: str) -> str:
    return f"{source.application}/{source.resource}.{fmt}"


def manifest(export: Export, parameters: ApplicationParameters, rows: list[SourceRow]) -> dict[str, Any]:
    return {
        "id": str(export.export_id),
        "name": parameters.name,
        "format": parameters.format,
        "created": export.created_at.isoformat(),
        "status": "partial" if any(s.status == "failed" for s in rows) else "complete",
        "sources": [
            {
                "id": str(s.source_id),
                "application": s.application,
                "resource": s.resource,
                "filters": s.filters,
                "status": s.status,
                "file": part_name(s, parameters.format) if s.status == "uploaded" else None,
                "message": s.message,
                "error": s.error,
            }
            for s in rows
        ],
    }


def readme(document: dict[str, Any]) -> str:
    lines = [
        f"# {document['name']}",
        "",
        f"Export {document['id']}, requested {document['created']}: {document['status']}.",
        "",
        "| application | resource | status | file or error |",
        "|---|---|---|---|",
    ]
    for s in document["sources"]:
        detail = s["file"] or (s["message"] or "failed").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {s['application']} | {s['resource']} | {s['status']} | {detail} |")
    lines += ["", "`manifest.json` lists the same, with each source's filters and error."]
    return "\n".join(lines) + "\n"


@dataclass
class AssemblyRun:
    """The kind's body: every uploaded part under ``{application}/{resource}.{format}``, the manifest, a README."""

    sources: SourcesRepository
    parts: PartStore
    chunk_bytes: int = CHUNK_BYTES

    def __call__(self, run: JobRun) -> Artefact | Waiting:
        export = run.export
        parameters = export.parameters
        assert isinstance(parameters, ApplicationParameters)
        rows = self.sources.for_export(export.export_id)
        pending = [s for s in rows if s.status == "pending"]
        if pending:
            return Waiting(f"waiting for {len(pending)} of {len(rows)} sources")
        uploaded = [s for s in rows if s.status == "uploaded"]
        if not uploaded:
            raise NothingToAssemble(f"every source failed: {failures(rows)}")
        run.heartbeat.rows_total = len(uploaded)
        zip_ = ZipStream(run.output)
        try:
            for n, source in enumerate(uploaded, start=1):
                assert source.s3_key is not None
                with zip_.open(part_name(source, parameters.format)) as entry:
                    for chunk in self.parts.chunks(source.s3_key, chunk_bytes=self.chunk_bytes):
                        entry.write(chunk)
                        run.heartbeat(n - 1)
                run.heartbeat(n)
            document = manifest(export, parameters, rows)
            zip_.write_bytes("manifest.json", json.dumps(document, indent=2).encode())
            zip_.write_bytes("README.md", readme(document).encode())
            zip_.close()
        except BaseException:
            zip_.discard()
            raise
        failed = [s for s in rows if s.status == "failed"]
        return Artefact(
            rows=len(uploaded),
            details={"outcome": document["status"], "sources": len(rows), "failed_sources": len(failed)},
            message=f"{len(failed)} of {len(rows)} sources failed: {failures(rows)}" if failed else None,
        )


@dataclass
class SweepReport:
    timed_out: list[UUID] = field(default_factory=list)
    settled: list[UUID] = field(default_factory=list)
    resent: list[UUID] = field(default_factory=list)


def sweep_sources(
    *,
    jobs: JobsRepository,
    sources: SourcesRepository,
    queue: MessageQueue,
    timeout_seconds: int,
    lost_after_seconds: int = LOST_ASSEMBLY_SECONDS,
) -> SweepReport:
    """Fail sources that never answered, start assemblies nobody started, resend lost assembly messages."""
    report = SweepReport(timed_out=sources.time_out(timeout_seconds))
    for export_id in dict.fromkeys([*report.timed_out, *sources.unsettled()]):
        if settle(export_id, jobs=jobs, sources=sources, queue=queue):
            report.settled.append(export_id)
    for export_id in sources.lost_assemblies(lost_after_seconds):
        export = jobs.get(export_id)
        if export is not None:
            queue.send(assembly_message(export))
            jobs.touch_pending(export_id)
            report.resent.append(export_id)
    if report.timed_out or report.settled or report.resent:
        logger.info(
            "sources swept",
            extra={
                "timed_out": [str(i) for i in report.timed_out],
                "settled": [str(i) for i in report.settled],
                "resent": [str(i) for i in report.resent],
                "at": datetime.now(UTC).isoformat(),
            },
        )
    return report
