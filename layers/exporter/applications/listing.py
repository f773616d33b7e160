"""Listing applications exports: the upstream service's filters, sort and offset paging, in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlencode
from uuid import UUID

from pydantic import BaseModel

from ..adapters.postgres import is_storable_text
from ..errors import InvalidRequest
from ..jobs.model import Caller, Export
from ..jobs.repository import JobsRepository
from .sources import SourceRow, SourcesRepository
from .views import STATUS_SQL, ApplicationStatus

DEFAULT_LIMIT = 100
MAX_LIMIT = 100
MAX_OFFSET = 100_000

# The sort keys: each a fixed SQL expression, never text from the request.
SORT_SQL = {"created": "v.created_at", "expires": "v.expires", "name": "v.name", "status": "v.status"}
LIST_SQL = f"""
WITH v AS (
    SELECT e.export_id, e.created_at, e.parameters->>'name' AS name,
           COALESCE(e.expires_at, (e.parameters->>'expires_at')::timestamptz) AS expires,
           {STATUS_SQL} AS status
    FROM exports e
    WHERE e.kind = 'applications'
      AND (e.creator_id = %(user_id)s
           OR EXISTS (SELECT 1 FROM shared_exports x WHERE x.export_id = e.export_id AND x.user_id = %(user_id)s))
      AND (%(application)s::text IS NULL
           OR EXISTS (SELECT 1 FROM sources s WHERE s.export_id = e.export_id AND s.application = %(application)s))
      AND (%(created_after)s::timestamptz IS NULL OR e.created_at >= %(created_after)s)
      AND (%(created_before)s::timestamptz IS NULL OR e.created_at < %(created_before)s)
)
SELECT v.export_id, count(*) OVER () FROM v
WHERE (%(name)s::text IS NULL OR v.name = %(name)s)
  AND (%(status)s::text IS NULL OR v.status = %(status)s)
  AND (%(expires_after)s::timestamptz IS NULL OR v.expires >= %(expires_after)s)
  AND (%(expires_before)s::timestamptz IS NULL OR v.expires < %(expires_before)s)
ORDER BY {{order}} {{direction}} NULLS LAST, v.export_id {{direction}}
LIMIT %(limit)s OFFSET %(offset)s
"""


class ListQuery(BaseModel):
    name: str | None = None
    status: ApplicationStatus | None = None
    application: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    expires_after: datetime | None = None
    expires_before: datetime | None = None
    sort: Literal["created", "expires", "name", "status"] = "created"
    dir: Literal["asc", "desc"] = "desc"
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass
class ExportsPage:
    items: list[Export]
    sources: dict[UUID, list[SourceRow]]
    count: int
    query: ListQuery

    def links(self, path: str) -> dict[str, str | None]:
        """first, next, previous and last, as the upstream service links pages."""
        q = self.query
        base = q.model_dump(mode="json", exclude_none=True, exclude={"limit", "offset"})

        def at(offset: int) -> str:
            return f"{path}?{urlencode({**base, 'limit': q.limit, 'offset': offset})}"

        last = max(0, (self.count - 1) // q.limit * q.limit)
        return {
            "first": at(0),
            "next": at(q.offset + q.limit) if q.offset + q.limit < self.count else None,
            "previous": at(max(0, q.offset - q.limit)) if q.offset > 0 else None,
            "last": at(last),
        }


# The widest UTC offset a PostgreSQL timestamptz input accepts.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)


def check_query(query: ListQuery) -> None:
    for field in ("name", "application"):
        value = getattr(query, field)
        if value is not None and not is_storable_text(value):
            raise InvalidRequest(f"{field} must be text without NUL or lone surrogate characters")
    for field in ("created_after", "created_before", "expires_after", "expires_before"):
        value = getattr(query, field)
        if value is not None and value.tzinfo is None:
            raise InvalidRequest(f"{field} must include a time zone")
        offset = value.utcoffset() if value is not None else None
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise InvalidRequest(f"{field} has a UTC offset beyond ±15:59, which PostgreSQL cannot store")


def list_application_exports(
    caller: Caller, query: ListQuery, *, jobs: JobsRepository, sources: SourcesRepository
) -> ExportsPage:
    """The caller's applications exports (created or shared with them) matching ``query``."""
    check_query(query)
    sql = LIST_SQL.format(order=SORT_SQL[query.sort], direction="ASC" if query.dir == "asc" else "DESC")
    params = {"user_id": caller.user_id, **query.model_dump(exclude={"sort", "dir"})}
    rows = sources.db.run([(sql, params)])
    ids = [UUID(str(r[0])) for r in rows]
    exports = [e for e in (jobs.get(i) for i in ids) if e is not None]
    count = int(rows[0][1]) if rows else 0
    return ExportsPage(items=exports, sources=sources.of(ids) if ids else {}, count=count, query=query)
