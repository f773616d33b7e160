"""The capture (seed 000) as a job kind: a Redis channel pattern for a window, into a masked CSV."""

from __future__ import annotations

from ..jobs.kind import JobKind, Output
from ..jobs.model import Kind
from .model import CaptureMessage, CaptureParameters

CAPTURE = JobKind(
    kind=Kind.CAPTURE,
    parameters=CaptureParameters,
    message=CaptureMessage,
    output=Output(extension="csv", content_type="text/csv; charset=utf-8", filename_prefix="capture"),
    dataset="redis",
    noun="capture",
    message_for=None,  # never resent: its window is "from now", a late start would capture another one
    failure_message="capture failed: {reason}",
    metric="Captures",
    rows_metric="MessagesCaptured",
    bytes_metric="BytesCaptured",
)
