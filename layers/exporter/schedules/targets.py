"""What a schedule runs: checking a target when the schedule is made, requesting its export when it fires.

A query-export target goes through :func:`exporter.exports.request.request_export`, a dataset
target through the datasets' request function (a :class:`DatasetRequests`), each as the
schedule's owner, so a scheduled export is an export like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..adapters.ports import MessageQueue
from ..errors import InvalidRequest
from ..exports.fields import FieldsRepository, resolve_fields
from ..exports.query import compile_query
from ..exports.request import request_export
from ..jobs.model import Caller, Export
from ..jobs.repository import JobsRepository
from . import relative
from .expressions import zone
from .model import DatasetTarget, QueryTarget


class DatasetRequests(Protocol):
    """The datasets' side: may ``caller`` run this dataset with these parameters; run it."""

    def check(self, dataset: str, parameters: dict[str, Any], caller: Caller) -> None: ...
    def request(self, dataset: str, parameters: dict[str, Any], caller: Caller) -> Export: ...


class DatasetsUnavailable(InvalidRequest):
    """A dataset target on a deployment that has no datasets (400)."""


@dataclass(frozen=True)
class Targets:
    jobs: JobsRepository
    catalogue: FieldsRepository
    queue: MessageQueue
    max_retries: int
    datasets: DatasetRequests | None = None

    def check(self, target: DatasetTarget | QueryTarget, caller: Caller, *, now: datetime, timezone: str) -> None:
        """Refuse now what would fail at every run: a bad template, query, field, dataset or parameter."""
        relative.validate(target.model_dump(mode="json"))
        rendered = self.rendered(target, now, timezone)
        if isinstance(rendered, QueryTarget):
            compile_query(rendered.query)
            resolve_fields(rendered.fields, self.catalogue.catalogue())
            return
        self._datasets().check(rendered.dataset, rendered.parameters, caller)

    def request(
        self, target: DatasetTarget | QueryTarget, caller: Caller, *, fire_time: datetime, timezone: str
    ) -> Export:
        """The export of one run, its templates filled in from ``fire_time``."""
        rendered = self.rendered(target, fire_time, timezone)
        if isinstance(rendered, DatasetTarget):
            return self._datasets().request(rendered.dataset, rendered.parameters, caller)
        return request_export(
            query=rendered.query,
            fields=rendered.fields,
            include_images=rendered.include_images,
            caller=caller,
            jobs=self.jobs,
            catalogue=self.catalogue,
            queue=self.queue,
            max_retries=self.max_retries,
        )

    @staticmethod
    def rendered(target: DatasetTarget | QueryTarget, moment: datetime, timezone: str) -> DatasetTarget | QueryTarget:
        values = relative.render(target.model_dump(mode="json"), moment, zone(timezone))
        return type(target).model_validate(values)

    def _datasets(self) -> DatasetRequests:
        if self.datasets is None:
            raise DatasetsUnavailable("this deployment has no datasets; schedule a query export instead")
        return self.datasets
