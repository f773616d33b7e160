"""Demo tables for the datasets in ``datasets/``: the Common Knowledge Base's five export tasks (seed 004).

They live in a schema of their own, ``ckb``, created here and never by the service's migrations:
in a deployment these tables belong to the database a dataset reads, not to the export service.
Each table is filled when it is empty, so exporting a task (which deletes what it exported) and
starting the stack again gives the demo rows back.
"""

from __future__ import annotations

import psycopg2.extensions

DEMO_ROWS = 250

TABLES = {
    "agency": """
        CREATE TABLE IF NOT EXISTS ckb.agency (
            id bigserial PRIMARY KEY, name text NOT NULL, country text NOT NULL, website text,
            created_at timestamptz NOT NULL DEFAULT now())""",
    "source": """
        CREATE TABLE IF NOT EXISTS ckb.source (
            id bigserial PRIMARY KEY, agency_id bigint NOT NULL, url text NOT NULL, status text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now())""",
    "source_file": """
        CREATE TABLE IF NOT EXISTS ckb.source_file (
            id bigserial PRIMARY KEY, source_id bigint NOT NULL, file_name text NOT NULL,
            mime_type text NOT NULL, size_bytes bigint NOT NULL, processing_status text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now())""",
    "source_run_page": """
        CREATE TABLE IF NOT EXISTS ckb.source_run_page (
            id bigserial PRIMARY KEY, source_id bigint NOT NULL, run_id uuid NOT NULL, page_url text NOT NULL,
            http_status integer NOT NULL, scraped_at timestamptz NOT NULL DEFAULT now())""",
    "source_run_report": """
        CREATE TABLE IF NOT EXISTS ckb.source_run_report (
            id bigserial PRIMARY KEY, source_id bigint NOT NULL, run_id uuid NOT NULL, pages integer NOT NULL,
            errors integer NOT NULL, report jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())""",
}

# Deterministic rows, built in the database: row i of each table.
ROWS = {
    "agency": """
        INSERT INTO ckb.agency (name, country, website, created_at)
        SELECT 'Agency ' || i, (ARRAY['EE', 'FI', 'LV', 'LT'])[1 + i %% 4], 'https://agency' || i || '.example',
               timestamptz '2025-01-01' + i * interval '1 hour'
        FROM generate_series(1, %(n)s) AS i""",
    "source": """
        INSERT INTO ckb.source (agency_id, url, status, updated_at)
        SELECT 1 + i %% 50, 'https://agency' || (1 + i %% 50) || '.example/feed/' || i,
               (ARRAY['active', 'paused', 'failing'])[1 + i %% 3], timestamptz '2025-01-01' + i * interval '1 hour'
        FROM generate_series(1, %(n)s) AS i""",
    "source_file": """
        INSERT INTO ckb.source_file (source_id, file_name, mime_type, size_bytes, processing_status, created_at)
        SELECT 1 + i %% 100, 'document-' || i || '.pdf', 'application/pdf', 10000 + i * 37,
               (ARRAY['done', 'queued', 'error'])[1 + i %% 3], timestamptz '2025-01-01' + i * interval '1 hour'
        FROM generate_series(1, %(n)s) AS i""",
    "source_run_page": """
        INSERT INTO ckb.source_run_page (source_id, run_id, page_url, http_status, scraped_at)
        SELECT 1 + i %% 100, md5('run' || (i / 10))::uuid, 'https://agency' || (1 + i %% 50) || '.example/p/' || i,
               CASE WHEN i %% 17 = 0 THEN 404 ELSE 200 END, timestamptz '2025-01-01' + i * interval '1 minute'
        FROM generate_series(1, %(n)s) AS i""",
    "source_run_report": """
        INSERT INTO ckb.source_run_report (source_id, run_id, pages, errors, report, created_at)
        SELECT 1 + i %% 100, md5('run' || i)::uuid, 10, i %% 3,
               jsonb_build_object('pages', 10, 'errors', i %% 3, 'note', 'run ' || i || ' done'),
               timestamptz '2025-01-01' + i * interval '10 minutes'
        FROM generate_series(1, %(n)s) AS i""",
}


def seed_ckb_tables(conn: psycopg2.extensions.connection, rows: int = DEMO_ROWS) -> dict[str, int]:
    """Create the ``ckb`` demo tables if needed and fill each empty one; rows inserted per table."""
    inserted: dict[str, int] = {}
    with conn.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS ckb")
        for table, ddl in TABLES.items():
            cur.execute(ddl)
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM ckb.{table})")
            if not (cur.fetchone() or (False,))[0]:
                cur.execute(ROWS[table], {"n": rows})
                inserted[table] = cur.rowcount
    return inserted
