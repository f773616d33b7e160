"""The kinds of job this service runs. Adding a kind: its folder, and one line in ``KINDS``.

Every other part of the package reaches a kind through this table: the jobs repository
reads a row's parameters with the kind's model, the sweeper asks a kind how to resend a
job, the status view documents the union of every kind's parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from pydantic import BaseModel

from .applications.kind import APPLICATIONS
from .captures.kind import CAPTURE
from .datasets.kind import DATASET
from .exports.kind import QUERY_EXPORT
from .jobs.kind import JobKind
from .jobs.model import Kind

KINDS: dict[Kind, JobKind] = {
    QUERY_EXPORT.kind: QUERY_EXPORT,
    CAPTURE.kind: CAPTURE,
    DATASET.kind: DATASET,
    APPLICATIONS.kind: APPLICATIONS,
}


def kind_of(kind: Kind) -> JobKind:
    try:
        return KINDS[kind]
    except KeyError as error:
        raise LookupError(f"no job kind {kind.value!r} is registered") from error


def parse_parameters(kind: Kind, raw: Any) -> BaseModel:
    """A stored ``parameters`` document as its kind's model."""
    return kind_of(kind).parameters.model_validate(raw)


if TYPE_CHECKING:
    AnyParameters = BaseModel
else:  # the status view's (and the OpenAPI document's) ``export_parameters``: any registered kind's
    AnyParameters = Union[tuple(k.parameters for k in KINDS.values())]  # noqa: UP007
