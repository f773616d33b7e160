"""What the benches share, and one export measurement in its own process (so peak RSS is its own).

``record`` hands a bench's figures to ``bench.summary``: when ``BENCH_RESULTS`` names a file,
each measurement is appended to it as one JSON line (goal, case, figure, baseline, ratio,
unit). ``python -m bench.measure MODE ROWS`` runs one export measurement and prints one JSON
line.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

RESULTS_ENV = "BENCH_RESULTS"


class Goal(StrEnum):
    """The goals of ``make bench``, as each bench records them and ``bench.summary`` reads them."""

    EXPORT = "export"
    EXPORT_RSS = "export_rss"
    CAPTURE = "capture"
    COLD_START = "cold_start"
    WARM_POST = "warm_post"
    IMAGES = "images"
    DATASET = "dataset"
    EXPORT_RUNS = "export_runs"


def record(goal: Goal, case: str, figure: float, baseline: float | None, unit: str) -> None:
    """Appends one measurement to the ``BENCH_RESULTS`` file; nothing when it is not set.

    ``ratio`` is ``figure / baseline`` (none without a baseline), the same ratio the benches print.
    """
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    ratio = figure / baseline if baseline else None
    line = {"goal": goal.value, "case": case, "figure": figure, "baseline": baseline, "ratio": ratio, "unit": unit}
    with Path(path).open("a", encoding="utf-8") as results:
        results.write(json.dumps(line) + "\n")


class NullSink:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: str | bytes) -> int:
        self.bytes += len(data)
        return len(data)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def default_fields() -> list[str]:
    from exporter.adapters.postgres import Database, connect_url
    from exporter.exports.fields import FieldsRepository

    db = Database(lambda: connect_url(os.environ["DATABASE_URL"]))
    return [f.path for f in FieldsRepository(db).catalogue() if f.is_default]


def measure_copy(rows: int, *, pruned: bool = False) -> dict:
    """COPY of the export's SELECT: whole documents, or (``pruned``) only what the default fields reach."""
    from bench.export_bench import query_for
    from exporter.adapters.postgres import connect_url
    from exporter.exports.observations import select_observations
    from exporter.exports.query import compile_query

    compiled = compile_query(query_for(rows))
    paths = default_fields() if pruned else None
    conn = connect_url(os.environ["DATABASE_URL"])
    sink = NullSink()
    started = time.perf_counter()
    with conn.cursor() as cur:
        select = cur.mogrify(select_observations(compiled.sql, paths), compiled.params).decode()
        cur.copy_expert(f"COPY ({select}) TO STDOUT", sink)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "bytes": sink.bytes, "peak_rss_mb": peak_rss_mb()}


def measure_worker(rows: int) -> dict:
    import boto3

    from bench.export_bench import query_for
    from exporter.adapters.postgres import Database, connect_url
    from exporter.exports.fields import FieldsRepository
    from exporter.exports.kind import QUERY_EXPORT
    from exporter.exports.model import ExportMessage, ExportParameters
    from exporter.jobs.model import Status
    from exporter.jobs.repository import JobsRepository
    from local.event_source import sqs_event_of
    from local.lambda_context import LocalLambdaContext
    from worker.handler import lambda_handler

    db = Database(lambda: connect_url(os.environ["DATABASE_URL"]))
    fields = [f.path for f in FieldsRepository(db).catalogue() if f.is_default]
    parameters = ExportParameters(query=query_for(rows), fields=fields, include_images=False)
    export = JobsRepository(db).create(
        export_id=uuid.uuid4(),
        creator_id="bench",
        kind=QUERY_EXPORT.kind,
        dataset=QUERY_EXPORT.dataset,
        parameters=parameters,
        max_retries=0,
        query_string="bench",
        fields=fields,
    )
    message = ExportMessage(
        export_id=export.export_id, creator_id="bench", export_parameters=parameters, attempt=1, max_retries=0
    )
    sqs = boto3.client("sqs")
    started = time.perf_counter()
    body: str | None = message.model_dump_json()
    runs = 0
    while body:  # with RUN_SECONDS set, each run checkpoints and queues the next run's message
        response = lambda_handler(sqs_event_of(body), LocalLambdaContext())
        runs += 1
        if response["batchItemFailures"]:
            raise SystemExit(f"export run {runs} failed: {response}")
        body = _next_message(sqs, os.environ["SQS_QUEUE_URL"])
    seconds = time.perf_counter() - started
    done = JobsRepository(db).get(export.export_id)
    if done is None or done.status is not Status.COMPLETED or done.s3_key is None:
        raise SystemExit(f"export did not complete: {done}")
    assert done.progress.rows_written == rows, (done.progress, rows)
    head = boto3.client("s3").head_object(Bucket=os.environ["S3_BUCKET"], Key=done.s3_key)
    return {
        "rows": rows,
        "seconds": seconds,
        "bytes": head["ContentLength"],
        "peak_rss_mb": peak_rss_mb(),
        "runs": runs,
    }


def _next_message(sqs: Any, queue_url: str) -> str | None:
    """The message a run that checkpointed queued for the next run, taken off the queue; None when none."""
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0)
    for item in got.get("Messages", []):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=item["ReceiptHandle"])
        return str(item["Body"])
    return None


if __name__ == "__main__":
    mode, count = sys.argv[1], int(sys.argv[2])
    modes = {
        "worker": lambda: measure_worker(count),
        "copy": lambda: measure_copy(count),
        "copy-pruned": lambda: measure_copy(count, pruned=True),
    }
    profile_to = os.environ.get("BENCH_PROFILE")  # a pstats file of the main thread, for docs/performance.md
    if profile_to and mode == "worker":
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(modes[mode])
        profiler.dump_stats(profile_to)
    else:
        result = modes[mode]()
    print(json.dumps(result))
