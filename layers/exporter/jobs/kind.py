"""The seam every kind of job plugs into.

A kind brings three things and nothing more: its parameters model, its request validation
(in its own ``request`` module, called by its API facade) and the body of its run. The
lifecycle around the body — claim, lease heartbeat, output upload, complete, retry with
backoff, fail, delete-if-gone — is :func:`exporter.jobs.lifecycle.run_job`, written once.

A body receives a :class:`JobRun` (the job, its heartbeat, the output it writes into) and
returns an :class:`Artefact`, or :class:`Waiting` when the job cannot finish yet (it waits on
something outside, such as other services' uploads): the lifecycle then leaves the job to
be picked up again instead of completing it. A body whose run is running out of time may
checkpoint (:meth:`JobRun.suspend`) and return :class:`Continuing`: a next run of the same
attempt goes on from there with the same upload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol

from pydantic import BaseModel

from .keys import output_key
from .model import Export, Kind


class LeaseLost(Exception):
    """Another run took the job over (the sweeper judged this one dead) or it was deleted."""


@dataclass(frozen=True)
class Output:
    """The one file a kind writes: its extension, content type and download name prefix."""

    extension: str  # "zip", "csv", "csv.gz" ...
    content_type: str
    filename_prefix: str  # the download is "{prefix}_{export_id}.{extension}"
    # The object's key, from the job and the extension; None: ``jobs.keys.output_key``. Deterministic either way.
    key: Callable[[Export, str], str] | None = None

    def filename(self, export: Export) -> str:
        return f"{self.filename_prefix}_{export.export_id}.{self.extension}"

    def object_key(self, export: Export) -> str:
        return (self.key or output_key)(export, self.extension)


@dataclass(frozen=True)
class Artefact:
    """What a finished body reports: rows, the details stored with the job, an optional message."""

    rows: int
    details: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    log: dict[str, Any] = field(default_factory=dict)  # extra fields for the "completed" log line
    # Run once the object is complete in S3, before the job completes, with its size; returns details to add.
    # It must be safe to run again: a run killed after it may be retried (see ``kept_size``).
    after_upload: Callable[[int], dict[str, Any]] | None = None
    # An earlier run of this job completed the object (of this size) and its ``after_upload``: keep that
    # object, write no new one, and complete the job.
    kept_size: int | None = None


@dataclass(frozen=True)
class Waiting:
    """The body cannot finish yet; nothing was written. ``message`` is shown on the job."""

    message: str


@dataclass(frozen=True)
class Continuing:
    """The body checkpointed before its run's time ran out; a next run of the same attempt goes on from there."""

    rows: int  # rows written so far, by every run of this attempt


class Heartbeat(Protocol):
    """Renew the lease and record progress; raises :class:`LeaseLost` when the job is no longer ours."""

    rows_total: int | None

    def __call__(self, rows_written: int, *, force: bool = False) -> None:
        """At most every progress interval (always with ``force``)."""
        ...

    def report(self, rows_written: int, *, details: dict[str, Any] | None, message: str | None) -> None:
        """Now, replacing the job's stored details and message."""
        ...


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class JobRun(Protocol):
    """What a body is handed by the lifecycle."""

    @property
    def export(self) -> Export: ...
    @property
    def heartbeat(self) -> Heartbeat: ...
    @property
    def output(self) -> Sink:
        """The multipart upload of the job's one file."""
        ...

    def details(self, *, rows: int, extra: dict[str, Any], completed_at: datetime) -> dict[str, Any]:
        """The job's status view as stored in an archive (seed 003's ``export_details.json``)."""
        ...

    @property
    def resumed(self) -> dict[str, Any] | None:
        """The body's state at the checkpoint this run goes on from (what it gave :meth:`suspend`); None
        for a run from the start."""
        ...

    def time_left(self) -> float | None:
        """Seconds before this run must have checkpointed (the function's deadline less a reserve); None
        when the run has no deadline."""
        ...

    def save(self, name: str, body: bytes | IO[bytes]) -> str:
        """Keep ``body`` for the runs after this one (until the job ends); the key :meth:`saved` reads."""
        ...

    def saved(self, key: str) -> Iterator[bytes]:
        """What :meth:`save` kept under ``key``, a chunk at a time."""
        ...

    def suspend(self, state: dict[str, Any], *, rows: int) -> Continuing:
        """Checkpoint: the output's upload stays open, ``state`` (JSON) is stored with the job, and the job
        is handed to a next run, which sees ``state`` as :attr:`resumed`. Raises :class:`LeaseLost`."""
        ...


Body = Callable[[JobRun], "Artefact | Waiting | Continuing"]


@dataclass(frozen=True)
class JobKind:
    """A kind of job as the lifecycle and the registry see it."""

    kind: Kind
    parameters: type[BaseModel]
    message: type[BaseModel]
    output: Output
    dataset: str  # the ``exports.dataset`` column for rows of this kind
    noun: str  # "export", "capture": how log lines and messages name one job
    # The message that (re)runs a job's current attempt, for the sweeper; None: never resent, because
    # a late start would be another job (a capture's window is "from now") — a stale one is failed.
    message_for: Callable[[Export], BaseModel] | None = None
    # The file of one job when it depends on the job's parameters (a dataset's format); None: ``output``.
    output_for: Callable[[Export], Output] | None = None
    # Its pending jobs wait on outside input (other services' uploads) for as long as the kind allows: the
    # sweeper's stale-pending resend leaves them to the kind's own sweep.
    waits_for_input: bool = False
    # The message on a job that failed for good; ``{attempts}`` and ``{reason}`` are filled in.
    failure_message: str = "failed after {attempts} attempts: {reason}"
    # Metric names: "{Metric}Completed", "{Metric}Failed" ...; and what a completed run adds up.
    metric: str = "Exports"
    rows_metric: str = "RowsExported"
    bytes_metric: str = "BytesExported"

    def output_of(self, export: Export) -> Output:
        return self.output_for(export) if self.output_for else self.output
