"""Domain exceptions. The API maps each to one HTTP status, once (functions/api)."""

from __future__ import annotations


class ExportError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidRequest(ExportError):
    """The request is well-formed JSON but asks for something that cannot be done (400)."""


class InvalidQuery(InvalidRequest):
    """The query tree is malformed: unknown method, wrong arguments, too deep or too large."""


class UnknownField(InvalidRequest):
    """A requested field is not in the catalogue."""


class ExportNotFound(ExportError):
    """No such export, or the caller may not see it (the two are indistinguishable: 404)."""


class NotAllowed(ExportError):
    """The caller may see the export but not do this to it (403)."""


class Conflict(ExportError):
    """The export is not in a state that allows this (409)."""


class EnqueueFailed(ExportError):
    """The job row was written but its message could not be sent; the row was failed."""


class CapturesUnavailable(ExportError):
    """Captures are not configured on this deployment (no capture queue): 503."""


class ScheduleNotFound(ExportError):
    """No such schedule, or the caller may not see it (404)."""


class ScheduleLimitReached(Conflict):
    """The caller already holds ``MAX_SCHEDULES_PER_USER`` schedules (409)."""


class SchedulesUnavailable(ExportError):
    """EventBridge Scheduler or the database failed while a schedule changed; nothing was changed (503)."""


class UnknownApplicationKey(ExportError):
    """An internal API call whose pre-shared key is no source application's key (401)."""


class UploadTooLarge(ExportError):
    """An uploaded part is larger than the body limit; a presigned upload takes it (413)."""


class ApplicationsUnavailable(ExportError):
    """Application sources are not configured on this deployment (no event bus): 503."""


class TooManyRequests(ExportError):
    """A per-user limit is reached (requests this minute, active jobs): 429 with ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyKeyReused(ExportError):
    """An ``Idempotency-Key`` already used with another request body (422)."""


class IdempotencyKeyInUse(Conflict):
    """The first request with this ``Idempotency-Key`` is still being answered, or its job was deleted (409)."""


class DatasetNotFound(ExportError):
    """No such dataset, or the caller is in none of its groups (the two are indistinguishable: 404)."""


class InvalidDataset(ExportError):
    """A dataset folder is malformed; the message names the folder and the problem (fails synth and the tests)."""
