"""The lifecycle seam a new kind plugs into: a plain-file body (CSV.gz) and a body that waits on outside input.

The next kinds (datasets writing CSV.gz, application sources waiting on uploads) add a body and
a ``JobKind``; these tests hold the seam to what they will need, against real PostgreSQL and S3.
"""

from __future__ import annotations

import gzip
import uuid
from dataclasses import replace

import boto3
import pytest

from exporter.adapters.postgres import Database, connect_url
from exporter.adapters.s3 import S3Store
from exporter.captures.kind import CAPTURE
from exporter.exports.kind import QUERY_EXPORT
from exporter.exports.model import ExportMessage, ExportParameters
from exporter.jobs.kind import Artefact, JobRun, Output, Waiting
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts, Outcome, run_job
from exporter.jobs.repository import JobsRepository

CONFIG = LifecycleConfig(
    lease_seconds=60, progress_interval_seconds=0.1, part_size_bytes=5 * 1024 * 1024, expiration_days=7
)
PLAIN_FILE = replace(
    QUERY_EXPORT, output=Output(extension="csv.gz", content_type="application/gzip", filename_prefix="data")
)
PARAMETERS = ExportParameters(query={"method": "PLATFORM_EQUALS", "args": ["X"]}, fields=["observation_id"])


@pytest.fixture
def lifecycle(postgres, service_env) -> tuple[JobsRepository, LifecyclePorts]:
    jobs = JobsRepository(Database(lambda: connect_url(postgres.url)))
    return jobs, LifecyclePorts(jobs=jobs, store=S3Store(boto3.client("s3"), service_env.exports_bucket), queue=None)


def _job(jobs: JobsRepository) -> ExportMessage:
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id="alice",
        kind=QUERY_EXPORT.kind,
        dataset="x",
        parameters=PARAMETERS,
        max_retries=0,
    )
    return ExportMessage(
        export_id=export.export_id, creator_id="alice", export_parameters=PARAMETERS, attempt=1, max_retries=0
    )


def test_a_body_writes_a_plain_gzip_file_under_its_kinds_extension(lifecycle, s3, service_env) -> None:
    # GIVEN a kind whose one file is CSV.gz, and a body that streams gzip into its output
    jobs, ports = lifecycle
    message = _job(jobs)

    def body(run: JobRun) -> Artefact:
        with gzip.GzipFile(fileobj=run.output, mode="wb", mtime=0) as gz:  # type: ignore[call-overload]
            for n in range(1000):
                gz.write(f"{n},row {n}\r\n".encode())
                run.heartbeat(n + 1)
        return Artefact(rows=1000, details={"format": "csv.gz"})

    # WHEN the lifecycle runs it
    result = run_job(message, PLAIN_FILE, body, ports, CONFIG, owner="test")

    # THEN the job is completed with one .csv.gz object whose rows are all there
    assert result.outcome is Outcome.COMPLETED and result.rows == 1000
    export = jobs.get(message.export_id)
    assert export is not None and export.status.value == "completed" and export.details == {"format": "csv.gz"}
    assert export.s3_key is not None and export.s3_key.endswith(
        f"{message.export_id}_{export.created_at:%Y%m%d%H%M%S}.csv.gz"
    )
    head = s3.head_object(Bucket=service_env.exports_bucket, Key=export.s3_key)
    assert head["ContentType"] == "application/gzip"
    assert head["ContentDisposition"] == f'attachment; filename="data_{message.export_id}.csv.gz"'
    text = gzip.decompress(s3.get_object(Bucket=service_env.exports_bucket, Key=export.s3_key)["Body"].read())
    assert text.splitlines()[-1] == b"999,row 999" and len(text.splitlines()) == 1000


def test_a_body_that_waits_leaves_the_job_pending_at_the_same_attempt_with_nothing_written(
    lifecycle, s3, service_env
) -> None:
    # GIVEN a body that cannot finish yet (it waits on other services' uploads)
    jobs, ports = lifecycle
    message = _job(jobs)

    def body(run: JobRun) -> Waiting:
        run.output.write(b"half a file that must not survive")
        return Waiting("waiting for 2 of 3 sources")

    # WHEN the lifecycle runs it
    result = run_job(message, PLAIN_FILE, body, ports, CONFIG, owner="test")

    # THEN the job is pending again, same attempt, saying why, with no object and no open upload
    assert result.outcome is Outcome.WAITING
    export = jobs.get(message.export_id)
    assert export is not None
    assert (export.status.value, export.attempt, export.message) == ("pending", 1, "waiting for 2 of 3 sources")
    assert s3.list_objects_v2(Bucket=service_env.exports_bucket)["KeyCount"] == 0
    assert s3.list_multipart_uploads(Bucket=service_env.exports_bucket).get("Uploads", []) == []
    # AND the same attempt's next message runs it again
    done = run_job(message, PLAIN_FILE, lambda run: Artefact(rows=0), ports, CONFIG, owner="again")
    assert done.outcome is Outcome.COMPLETED


def test_a_message_for_another_kind_fails_the_job_instead_of_running_the_wrong_body(lifecycle) -> None:
    jobs, ports = lifecycle
    message = _job(jobs)
    result = run_job(message, CAPTURE, lambda run: Artefact(rows=0), ports, CONFIG, owner="test")
    export = jobs.get(message.export_id)
    assert result.outcome is Outcome.FAILED
    assert export is not None and export.message == "this job is not of kind capture"
