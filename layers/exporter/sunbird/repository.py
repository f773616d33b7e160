"""``dataset_requests``: a Sunbird request's identity and the dataset export that runs it."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import psycopg2.extras

from ..adapters.postgres import Database
from .model import StoredRequest

COLUMNS = """request_id, tag, requested_channel, dataset, requested_by, dataset_config, export_id, attempts,
             waiting, submitted_at, updated_at"""

SELECT_REQUEST = f"SELECT {COLUMNS} FROM dataset_requests WHERE request_id = %s"
INSERT_REQUEST = f"""
INSERT INTO dataset_requests (request_id, tag, requested_channel, dataset, requested_by, dataset_config, waiting)
VALUES (%(request_id)s, %(tag)s, %(channel)s, %(dataset)s, %(requested_by)s, %(config)s, %(waiting)s)
ON CONFLICT (request_id) DO NOTHING
RETURNING {COLUMNS}
"""
ATTACH_EXPORT = f"""
UPDATE dataset_requests SET export_id = %(export_id)s, waiting = false, attempts = attempts + %(again)s,
                            updated_at = now()
WHERE request_id = %(request_id)s
RETURNING {COLUMNS}
"""
RESUBMIT = f"""
UPDATE dataset_requests SET export_id = NULL, waiting = %(waiting)s, attempts = attempts + 1,
                            submitted_at = now(), updated_at = now()
WHERE request_id = %(request_id)s AND export_id IS NOT DISTINCT FROM %(failed_export)s::uuid AND NOT waiting
RETURNING {COLUMNS}
"""
LIST_BY_TAG = f"""
SELECT {COLUMNS} FROM dataset_requests
WHERE tag = %(tag)s AND (%(requested_by)s::text IS NULL OR requested_by = %(requested_by)s)
ORDER BY submitted_at DESC, request_id
LIMIT %(limit)s
"""
WAITING = f"""
UPDATE dataset_requests SET waiting = false, updated_at = now()
WHERE request_id IN (SELECT request_id FROM dataset_requests WHERE waiting AND dataset = %s
                     ORDER BY submitted_at FOR UPDATE SKIP LOCKED)
RETURNING {COLUMNS}
"""


class DatasetRequestsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _rows(self, sql: str, params: Any) -> list[StoredRequest]:
        rows = self._db.run([(sql, params)], cursor_factory=psycopg2.extras.RealDictCursor)
        return [StoredRequest.model_validate(dict(row)) for row in rows]

    def get(self, request_id: str) -> StoredRequest | None:
        found = self._rows(SELECT_REQUEST, (request_id,))
        return found[0] if found else None

    def insert(self, request: StoredRequest) -> StoredRequest | None:
        """The new row; None when the request id is already there (the same request, submitted again)."""
        found = self._rows(
            INSERT_REQUEST,
            {
                "request_id": request.request_id,
                "tag": request.tag,
                "channel": request.requested_channel,
                "dataset": request.dataset,
                "requested_by": request.requested_by,
                "config": json.dumps(request.dataset_config),
                "waiting": request.waiting,
            },
        )
        return found[0] if found else None

    def resubmit(self, request_id: str, failed_export: UUID | None, *, waiting: bool) -> StoredRequest | None:
        """One more attempt of a failed request; None when another submission got there first."""
        failed = str(failed_export) if failed_export else None
        params = {"request_id": request_id, "failed_export": failed, "waiting": waiting}
        found = self._rows(RESUBMIT, params)
        return found[0] if found else None

    def attach(self, request_id: str, export_id: UUID) -> StoredRequest:
        found = self._rows(ATTACH_EXPORT, {"request_id": request_id, "export_id": str(export_id), "again": 0})
        return found[0]

    def list_by_tag(self, tag: str, *, requested_by: str | None, limit: int) -> list[StoredRequest]:
        return self._rows(LIST_BY_TAG, {"tag": tag, "requested_by": requested_by, "limit": limit})

    def take_waiting(self, dataset: str) -> list[StoredRequest]:
        """Every request waiting for ``dataset``'s batch run, no longer waiting."""
        return self._rows(WAITING, (dataset,))
