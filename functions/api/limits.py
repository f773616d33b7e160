"""Per-user limits as the API applies them: requests per minute before routing, Idempotency-Key on job creation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from api.auth import current_caller, subject_of
from api.dependencies import dependencies
from exporter.errors import IdempotencyKeyInUse, IdempotencyKeyReused, TooManyRequests
from exporter.jobs.model import Caller, Export
from exporter.quotas import service
from exporter.quotas.service import IDEMPOTENCY_HEADER, Created

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Any unique string (a UUID, 1 to 255 visible ASCII characters). Repeating a request with the "
        "same key and body within 24 hours gives back the job the first one made, never a second job; the same "
        "key with another body is 422.",
    ),
]
# What a job-creating POST may answer besides its own errors (429 is documented on every operation).
CREATE_ERRORS: tuple[type[Exception], ...] = (IdempotencyKeyReused, IdempotencyKeyInUse, TooManyRequests)
REPLAYED_HEADER = "Idempotent-Replayed"


def over_the_rate(event: Mapping[str, Any]) -> TooManyRequests | None:
    """Count the request against its caller's minute; the refusal when that is over the limit."""
    user_id = subject_of(event)
    if user_id is None:
        return None  # public routes, and tokens the route itself refuses
    deps = dependencies()
    try:
        service.count_request(user_id, limits=deps.limits, quotas=deps.quotas)
    except TooManyRequests as refused:
        return refused
    return None


def create_once(
    router: BaseRouter, create: Callable[[Caller], Export], *, key: str | None, operation: str, body: Any
) -> Created:
    """``create(caller)`` under the caller's active-jobs limit, once per Idempotency-Key."""
    deps = dependencies()
    caller = current_caller(router)
    return service.create_job(
        lambda: create(caller),
        caller=caller,
        key=key,
        operation=operation,
        body=body,
        limits=deps.limits,
        quotas=deps.quotas,
        jobs=deps.jobs,
    )


def create_each(
    router: BaseRouter, creates: Mapping[str, Callable[[Caller], Export]], *, key: str | None, operation: str
) -> list[Created]:
    """One job per entry of ``creates`` under the caller's active-jobs limit, each once per Idempotency-Key."""
    deps = dependencies()
    caller = current_caller(router)
    return service.create_jobs(
        {name: partial(create, caller) for name, create in creates.items()},
        caller=caller,
        key=key,
        operation=operation,
        limits=deps.limits,
        quotas=deps.quotas,
        jobs=deps.jobs,
    )


def accepted(body: BaseModel, *created: Created) -> Response[Any]:
    """202 with ``body``; a replay (every job given back, none made) says so in ``Idempotent-Replayed: true``."""
    replayed = bool(created) and all(c.replayed for c in created)
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return Response(status_code=HTTPStatus.ACCEPTED, content_type="application/json", body=body, headers=headers)
