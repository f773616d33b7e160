"""The query export (seed 003) as a job kind: a query over the observations into the seed's ZIP layout."""

from __future__ import annotations

from ..jobs.kind import JobKind, Output
from ..jobs.model import Export, Kind
from .model import ExportMessage, ExportParameters


def message_for(export: Export) -> ExportMessage:
    """The message that runs ``export``'s current attempt (the sweeper's resend and requeue)."""
    assert isinstance(export.parameters, ExportParameters)
    return ExportMessage(
        export_id=export.export_id,
        creator_id=export.creator_id,
        export_parameters=export.parameters,
        attempt=export.attempt,
        max_retries=export.max_retries,
    )


QUERY_EXPORT = JobKind(
    kind=Kind.QUERY,
    parameters=ExportParameters,
    message=ExportMessage,
    output=Output(extension="zip", content_type="application/zip", filename_prefix="export"),
    dataset="observations",
    noun="export",
    message_for=message_for,
)
