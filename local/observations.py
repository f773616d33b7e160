"""Loading ``observations``: the one INSERT the demo data, the benchmark and the tests go through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg2.extras import Json, execute_values

INSERT_INTO = "INSERT INTO observations (observation_id, observer_id, platform, observed_at, rdo)"
INSERT_DOCUMENTS = f"{INSERT_INTO} VALUES %s ON CONFLICT (observation_id) DO NOTHING RETURNING observation_id"
PAGE_ROWS = 500


def observation_row(doc: Mapping[str, Any]) -> tuple[str, str, str, datetime, Json]:
    """The row of one observation document (seed 003's RDO shape)."""
    observation = doc["observation"]
    observed_at = datetime.fromtimestamp(observation["observed_on_device_at"], tz=UTC)
    return observation["uuid"], doc["observer"]["uuid"], observation["platform"], observed_at, Json(doc)


def insert_observations(conn: Any, docs: Sequence[Mapping[str, Any]]) -> int:
    """Insert the documents (existing observation ids are left alone); returns the rows inserted."""
    with conn.cursor() as cur:
        rows = [observation_row(doc) for doc in docs]
        inserted = len(execute_values(cur, INSERT_DOCUMENTS, rows, page_size=PAGE_ROWS, fetch=True))
    if not conn.autocommit:
        conn.commit()
    return inserted


def insert_selected(cur: Any, select: str, params: Mapping[str, Any]) -> None:
    """Insert what ``select`` yields, built in the database: columns in ``INSERT_INTO``'s order."""
    cur.execute(f"{INSERT_INTO}\n{select}", params)


def has_observations(conn: Any) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM observations)")
        (has_rows,) = cur.fetchone()
    return bool(has_rows)
