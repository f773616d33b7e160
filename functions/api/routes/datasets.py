"""Datasets (seed 004): the catalogue a caller may run, one dataset, run one, run every one (admins).

A dataset's groups decide who may run it; to anyone else it does not exist (404). A run is an
export like every other: listed in ``GET /exports``, polled, shared, deleted and downloaded.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from api.auth import current_caller
from api.dependencies import datasets as catalogue
from api.dependencies import dependencies
from api.errors import BODY_ERRORS, answers
from api.limits import CREATE_ERRORS, IdempotencyKey, accepted, create_each, create_once
from api.routes.exports import NOTIFY, notify_to, status_of
from exporter.datasets.catalogue import Dataset
from exporter.datasets.request import create_checked, every_dataset, request_dataset_export
from exporter.errors import DatasetNotFound, EnqueueFailed, InvalidRequest, NotAllowed
from exporter.jobs.model import Caller, Export
from exporter.jobs.views import ExportStatus

router = Router()
metrics = Metrics()

DatasetName = Annotated[str, Path(max_length=128)]


class ParameterInfo(BaseModel):
    name: str
    type: str = Field(description="date, timestamp, string, uuid or integer")
    required: bool
    default: str | int | None = None
    description: str = ""


class ScheduleInfo(BaseModel):
    expression: str = Field(description="EventBridge Scheduler's cron(…), rate(…) or at(…)")
    timezone: str
    parameters: dict[str, Any]


class DatasetInfo(BaseModel):
    name: str
    title: str
    description: str
    parameters: list[ParameterInfo]
    format: str = Field(description="csv.gz, csv or jsonl.gz")
    deletes: bool = Field(description="Exported rows are deleted once their file is complete (archival)")
    schedule: ScheduleInfo | None = Field(description="The operator's schedule, if any")

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetInfo:
        return cls.model_validate(_info(dataset))


class DatasetDetail(DatasetInfo):
    select_sql: str | None = Field(default=None, description="select.sql as written (admins only)")
    delete_sql: str | None = Field(default=None, description="delete.sql as written (admins only)")


class DatasetList(BaseModel):
    items: list[DatasetInfo]


class RunDataset(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    parameters: dict[str, Any] = Field(default_factory=dict, description="name: value, as the dataset declares")
    notify: bool = Field(default=False, description=NOTIFY)


class SkippedDataset(BaseModel):
    dataset: str
    reason: str


class EveryDatasetRun(BaseModel):
    items: list[ExportStatus] = Field(description="One export per dataset")
    skipped: list[SkippedDataset] = Field(description="Datasets that need a parameter, not run")


def _info(dataset: Dataset) -> dict[str, Any]:
    schedule = dataset.schedule
    return {
        "name": dataset.name,
        "title": dataset.title,
        "description": dataset.description,
        "parameters": [
            {
                "name": p.name,
                "type": p.type.value,
                "required": p.required,
                "default": p.default,
                "description": p.description,
            }
            for p in dataset.parameters
        ],
        "format": dataset.format.value,
        "deletes": dataset.deletes,
        "schedule": None
        if schedule is None
        else {
            "expression": schedule.expression,
            "timezone": schedule.timezone,
            "parameters": dict(schedule.parameters),
        },
    }


@router.get(
    "/datasets",
    summary="The datasets the caller may run",
    responses=answers({200: {"description": "The catalogue"}}, UnauthorizedError),
)
def list_datasets() -> DatasetList:
    return DatasetList(items=[DatasetInfo.of(d) for d in catalogue().visible_to(current_caller(router))])


@router.get(
    "/datasets/<name>",
    summary="One dataset; admins also see its SQL",
    responses=answers(
        {200: {"description": "The dataset"}}, RequestValidationError, UnauthorizedError, DatasetNotFound
    ),
)
def get_dataset(name: DatasetName) -> DatasetDetail:
    caller = current_caller(router)
    dataset = catalogue().runnable(name, caller)
    sql = {"select_sql": dataset.select_sql, "delete_sql": dataset.delete_sql} if caller.is_admin else {}
    return DatasetDetail.model_validate({**_info(dataset), **sql})


@router.post(
    "/datasets/<name>/exports",
    summary="Export a dataset",
    responses=answers(
        {202: {"description": "Accepted: the dataset export is queued"}},
        *BODY_ERRORS,
        InvalidRequest,
        UnauthorizedError,
        DatasetNotFound,
        EnqueueFailed,
        *CREATE_ERRORS,
    ),
)
def export_dataset(
    name: DatasetName, body: Annotated[RunDataset, Body()], idempotency_key: IdempotencyKey = None
) -> Response[ExportStatus]:
    deps = dependencies()
    notify = notify_to(router, body.notify)

    def create(caller: Caller) -> Export:
        return request_dataset_export(
            name,
            body.parameters,
            caller,
            catalogue=catalogue(),
            jobs=deps.jobs,
            queue=deps.queue,
            max_retries=deps.settings.MAX_RETRIES,
            notify=notify,
        )

    operation = f"datasets/{name}/exports"
    created = create_once(router, create, key=idempotency_key, operation=operation, body=body.model_dump(mode="json"))
    if not created.replayed:
        metrics.add_metric(name="DatasetExportsRequested", unit=MetricUnit.Count, value=1)
    return accepted(status_of(created.export), created)


@router.post(
    "/datasets/exports",
    summary="Export every dataset that needs no parameter (admins)",
    responses=answers(
        {202: {"description": "Accepted: one export per dataset"}},
        *BODY_ERRORS,
        UnauthorizedError,
        NotAllowed,
        EnqueueFailed,
        *CREATE_ERRORS,
    ),
)
def export_every_dataset(idempotency_key: IdempotencyKey = None) -> Response[EveryDatasetRun]:
    """With an Idempotency-Key, a repeat gives back the exports the first request made (and makes any it could not)."""
    deps = dependencies()
    runnable, skipped = every_dataset(current_caller(router), catalogue=catalogue())
    creates = {
        p.dataset: partial(create_checked, p, jobs=deps.jobs, queue=deps.queue, max_retries=deps.settings.MAX_RETRIES)
        for p in runnable
    }
    created = create_each(router, creates, key=idempotency_key, operation="datasets/exports")
    metrics.add_metric(
        name="DatasetExportsRequested", unit=MetricUnit.Count, value=sum(1 for c in created if not c.replayed)
    )
    body = EveryDatasetRun(
        items=[status_of(c.export) for c in created],
        skipped=[SkippedDataset(dataset=s.dataset, reason=s.reason) for s in skipped],
    )
    return accepted(body, *created)
