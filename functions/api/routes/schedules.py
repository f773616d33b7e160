"""Schedules: exports that EventBridge Scheduler requests on a cron, a rate or once."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel

from api.auth import current_caller
from api.dependencies import dependencies
from api.errors import BODY_ERRORS, answers
from exporter.errors import Conflict, DatasetNotFound, InvalidRequest, ScheduleNotFound, SchedulesUnavailable
from exporter.schedules import service
from exporter.schedules.model import Run, Schedule, ScheduleChange
from exporter.schedules.service import NewSchedule, SchedulePorts

router = Router()

ScheduleId = Annotated[UUID, Path()]
ONE_SCHEDULE = (RequestValidationError, UnauthorizedError, ScheduleNotFound, SchedulesUnavailable)


class ScheduleSummary(BaseModel):
    schedule_id: UUID
    name: str
    owner_id: str
    target: dict[str, Any]
    expression: str
    timezone: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    next_run: datetime | None

    @classmethod
    def of(cls, schedule: Schedule, now: datetime) -> ScheduleSummary:
        upcoming = service.upcoming(schedule, now=now, count=1)
        return cls(
            **schedule.model_dump(include={"schedule_id", "name", "expression", "timezone", "enabled"}),
            owner_id=schedule.owner_id,
            target=service.describe_target(schedule),
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
            next_run=upcoming[0] if upcoming else None,
        )


class ScheduleDetails(ScheduleSummary):
    next_runs: list[datetime]
    last_runs: list[Run]


class ScheduleList(BaseModel):
    items: list[ScheduleSummary]


def ports() -> SchedulePorts:
    configured = dependencies().schedules
    if configured is None:
        raise SchedulesUnavailable("schedules are not configured on this deployment")
    return configured


def details(schedule: Schedule, ports: SchedulePorts) -> ScheduleDetails:
    now = datetime.now(UTC)
    return ScheduleDetails(
        **ScheduleSummary.of(schedule, now).model_dump(),
        next_runs=service.upcoming(schedule, now=now),
        last_runs=service.last_runs(schedule, ports.schedules),
    )


@router.post(
    "/schedules",
    summary="Create a schedule that requests an export on a cron, a rate or once",
    responses=answers(
        {201: {"description": "Created: EventBridge Scheduler fires it from now on"}},
        *BODY_ERRORS,
        InvalidRequest,
        UnauthorizedError,
        DatasetNotFound,
        Conflict,
        SchedulesUnavailable,
    ),
)
def create_schedule(body: Annotated[NewSchedule, Body()]) -> Response[ScheduleDetails]:
    deps = dependencies()
    schedule_ports = ports()
    schedule = service.create_schedule(
        body,
        caller=current_caller(router),
        now=datetime.now(UTC),
        ports=schedule_ports,
        limit=deps.settings.MAX_SCHEDULES_PER_USER,
    )
    return Response(
        status_code=HTTPStatus.CREATED, content_type="application/json", body=details(schedule, schedule_ports)
    )


@router.get(
    "/schedules",
    summary="The caller's schedules (an admin's: every schedule), newest first",
    responses=answers({200: {"description": "The schedules"}}, UnauthorizedError, SchedulesUnavailable),
)
def list_schedules() -> ScheduleList:
    caller = current_caller(router)
    now = datetime.now(UTC)
    found = service.list_schedules(caller=caller, schedules=ports().schedules)
    return ScheduleList(items=[ScheduleSummary.of(s, now) for s in found])


@router.get(
    "/schedules/<schedule_id>",
    summary="One schedule: its next three run times and its last runs with their export ids",
    responses=answers({200: {"description": "The schedule"}}, *ONE_SCHEDULE),
)
def get_schedule(schedule_id: ScheduleId) -> ScheduleDetails:
    schedule_ports = ports()
    schedule = service.visible_schedule(schedule_id, current_caller(router), schedule_ports.schedules)
    return details(schedule, schedule_ports)


@router.patch(
    "/schedules/<schedule_id>",
    summary="Pause or resume a schedule, or change its expression or time zone",
    responses=answers({200: {"description": "The schedule as changed"}}, *BODY_ERRORS, *ONE_SCHEDULE, InvalidRequest),
)
def change_schedule(schedule_id: ScheduleId, body: Annotated[ScheduleChange, Body()]) -> ScheduleDetails:
    schedule_ports = ports()
    caller = current_caller(router)
    schedule = service.change_schedule(schedule_id, body, caller=caller, now=datetime.now(UTC), ports=schedule_ports)
    return details(schedule, schedule_ports)


@router.delete(
    "/schedules/<schedule_id>",
    summary="Delete a schedule (its exports stay)",
    responses=answers({204: {"description": "Deleted", "content": {}}}, *ONE_SCHEDULE),
)
def delete_schedule(schedule_id: ScheduleId) -> Response[None]:
    service.delete_schedule(schedule_id, caller=current_caller(router), ports=ports())
    return Response(status_code=HTTPStatus.NO_CONTENT, body=None)
