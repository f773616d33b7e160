"""Per-user limits, applied before work is done: requests per minute, active jobs, Idempotency-Key.

``create_job`` wraps whatever creates a job (an export, a capture, a dataset run): with a key, the
first request creates the job and every later one with the same key and body gets that job back;
another body with the same key is refused. Without a key, it only applies the active-jobs limit.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidRequest, TooManyRequests
from ..jobs.model import Caller, Export
from ..jobs.repository import JobsRepository
from .repository import QuotaRepository

IDEMPOTENCY_HEADER = "Idempotency-Key"
# A key a client can make from a UUID or a hash, and no control characters: visible ASCII, 1 to 255.
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# How long a repeated request waits for the first one with its key to write its job.
WAIT_FOR_FIRST_SECONDS = 10.0
_POLL_SECONDS = 0.05
# When to try again after the active-jobs limit: a job usually starts and often finishes in this time.
ACTIVE_JOBS_RETRY_AFTER = 30


@dataclass(frozen=True)
class Limits:
    max_requests_per_minute: int
    max_active_jobs: int
    key_ttl_seconds: int = 24 * 3600


@dataclass(frozen=True)
class Created:
    """The job a request made, or the one an earlier request with its key made (``replayed``)."""

    export: Export
    replayed: bool


def count_request(user_id: str, *, limits: Limits, quotas: QuotaRepository) -> None:
    """Count one request of ``user_id``; TooManyRequests past ``max_requests_per_minute`` this minute."""
    window = quotas.count_request(user_id)
    if window.requests > limits.max_requests_per_minute:
        raise TooManyRequests(
            f"more than {limits.max_requests_per_minute} requests this minute; try again in {window.seconds_left} s",
            retry_after=window.seconds_left,
        )


def check_active_jobs(caller: Caller, *, limits: Limits, quotas: QuotaRepository, needed: int = 1) -> None:
    """TooManyRequests unless ``needed`` more jobs keep the caller within ``max_active_jobs``."""
    active = quotas.active_jobs(caller.user_id)
    if active + needed > limits.max_active_jobs:
        more = "one more" if needed == 1 else f"{needed} more"
        raise TooManyRequests(
            f"{active} jobs are pending or running and this request needs {more}, the most one user may have is "
            f"{limits.max_active_jobs}; try again when one has finished",
            retry_after=ACTIVE_JOBS_RETRY_AFTER,
        )


def fingerprint(operation: str, body: Any) -> str:
    """The same for the same operation and JSON body, whatever its key order or spacing."""
    canonical = json.dumps({"operation": operation, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise InvalidRequest(f"{IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters")
    return key


def create_job(
    create: Callable[[], Export],
    *,
    caller: Caller,
    key: str | None,
    operation: str,
    body: Any,
    limits: Limits,
    quotas: QuotaRepository,
    jobs: JobsRepository,
    wait_seconds: float = WAIT_FOR_FIRST_SECONDS,
) -> Created:
    """``create()`` once per ``key``: a repeat with the same ``operation`` and ``body`` gets the same job back."""
    if key is None:
        check_active_jobs(caller, limits=limits, quotas=quotas)
        return Created(create(), replayed=False)
    check_key(key)
    print_ = fingerprint(operation, body)
    deadline = time.monotonic() + wait_seconds
    while True:
        if quotas.claim_key(caller.user_id, key, print_, limits.key_ttl_seconds):
            return Created(_create_holding(create, caller=caller, key=key, limits=limits, quotas=quotas), False)
        earlier = _earlier_job(caller, key, print_, quotas=quotas, jobs=jobs)
        if earlier is not None:
            return Created(earlier, replayed=True)
        if time.monotonic() > deadline:
            raise IdempotencyKeyInUse(f"a request with {IDEMPOTENCY_HEADER} {key!r} is still being answered")
        time.sleep(_POLL_SECONDS)


def create_jobs(
    creates: Mapping[str, Callable[[], Export]],
    *,
    caller: Caller,
    key: str | None,
    operation: str,
    limits: Limits,
    quotas: QuotaRepository,
    jobs: JobsRepository,
) -> list[Created]:
    """One job per entry of ``creates`` (a request that makes several, e.g. every dataset).

    Without a key, all of them must fit under the active-jobs limit or none is made. With a key,
    each entry is :func:`create_job` under its own key (``key#name``): a repeat gives back the jobs
    already made and makes only those still missing (one refused by the limit the first time).
    """
    if key is None:
        check_active_jobs(caller, limits=limits, quotas=quotas, needed=len(creates))
        return [Created(create(), replayed=False) for create in creates.values()]
    check_key(key)
    return [
        create_job(
            create,
            caller=caller,
            key=item_key(key, name),
            operation=operation,
            body={"item": name},
            limits=limits,
            quotas=quotas,
            jobs=jobs,
        )
        for name, create in creates.items()
    ]


def item_key(key: str, name: str) -> str:
    """The key of one job of a request that makes several: ``key#name`` (a digest of ``key`` when too long)."""
    whole = f"{key}#{name}"
    if len(whole) <= 255:
        return whole
    return f"{hashlib.sha256(key.encode()).hexdigest()}#{name}"[:255]


def _create_holding(
    create: Callable[[], Export], *, caller: Caller, key: str, limits: Limits, quotas: QuotaRepository
) -> Export:
    """Create the job while holding ``key``; a request that fails gives the key up again."""
    try:
        check_active_jobs(caller, limits=limits, quotas=quotas)
        export = create()
    except BaseException:
        quotas.release_key(caller.user_id, key)
        raise
    quotas.complete_key(caller.user_id, key, export.export_id)
    return export


def _earlier_job(
    caller: Caller, key: str, print_: str, *, quotas: QuotaRepository, jobs: JobsRepository
) -> Export | None:
    """The job an earlier request with ``key`` made; None while it is being written (or the key was given up)."""
    record = quotas.read_key(caller.user_id, key)
    if record is None:
        return None
    if record.fingerprint != print_:
        raise IdempotencyKeyReused(
            f"{IDEMPOTENCY_HEADER} {key!r} was already used with another request body; use a new key for a new request"
        )
    if record.export_id is None:
        return None
    export = jobs.get(record.export_id)
    if export is None:
        raise IdempotencyKeyInUse(f"the export made with {IDEMPOTENCY_HEADER} {key!r} has been deleted")
    return export
