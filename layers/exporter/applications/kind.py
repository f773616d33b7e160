"""Application sources (seed 001) as a job kind: parts uploaded by other services, zipped with a manifest."""

from __future__ import annotations

from ..jobs.kind import JobKind, Output
from ..jobs.model import Kind
from .model import ApplicationParameters, AssemblyMessage

APPLICATIONS = JobKind(
    kind=Kind.APPLICATIONS,
    parameters=ApplicationParameters,
    message=AssemblyMessage,
    output=Output(extension="zip", content_type="application/zip", filename_prefix="export"),
    dataset="applications",
    noun="export",
    # Resent by the kind's own sweep (exporter.applications.sweep), on the assembly queue.
    message_for=None,
    waits_for_input=True,
    failure_message="the export could not be assembled: {reason}",
    metric="ApplicationExports",
    rows_metric="PartsAssembled",
    bytes_metric="BytesAssembled",
)
