"""The dataset (seed 004, generalised) as a job kind: a SQL-defined dataset into one CSV.gz, CSV or JSONL.gz."""

from __future__ import annotations

from datetime import UTC

from ..jobs.keys import safe_key_part
from ..jobs.kind import JobKind, Output
from ..jobs.model import Export, Kind
from .catalogue import Format
from .model import DatasetMessage, DatasetParameters


def message_for(export: Export) -> DatasetMessage:
    """The message that runs ``export``'s current attempt (the sweeper's resend and requeue)."""
    assert isinstance(export.parameters, DatasetParameters)
    return DatasetMessage(
        export_id=export.export_id,
        creator_id=export.creator_id,
        dataset=export.parameters.dataset,
        attempt=export.attempt,
        max_retries=export.max_retries,
    )


def dataset_key(export: Export, extension: str) -> str:
    """The seed's name, ``outputs/{name}-%Y_%m_%d-%I_%M_%S_%p``, made unique by the job's id."""
    assert isinstance(export.parameters, DatasetParameters)
    name = safe_key_part(export.parameters.dataset)
    return f"outputs/{name}-{export.created_at.astimezone(UTC):%Y_%m_%d-%I_%M_%S_%p}-{export.export_id}.{extension}"


def output_for(export: Export) -> Output:
    """A dataset's file takes its format and its name from the job's parameters."""
    assert isinstance(export.parameters, DatasetParameters)
    fmt = export.parameters.format
    return Output(
        extension=fmt,
        content_type=Format(fmt).content_type,
        filename_prefix=safe_key_part(export.parameters.dataset),
        key=dataset_key,
    )


DATASET = JobKind(
    kind=Kind.DATASET,
    parameters=DatasetParameters,
    message=DatasetMessage,
    output=Output(extension="csv.gz", content_type="application/gzip", filename_prefix="dataset", key=dataset_key),
    output_for=output_for,
    dataset="datasets",
    noun="dataset export",
    message_for=message_for,
    metric="DatasetExports",
)
