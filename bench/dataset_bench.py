"""Dataset export throughput and memory against ``COPY (same select) TO STDOUT`` gzipped at the same level.

    python -m bench.dataset_bench    # 100,000 and 1,000,000 rows (also run by make bench)
    BENCH_DATASET_ROWS=200000 python -m bench.dataset_bench
    BENCH_PROFILE=/tmp/dataset.prof BENCH_DATASET_ROWS=1000000 python -m bench.dataset_bench

Starts its own PostgreSQL (pgserver) and a moto server, loads a synthetic table, then runs each
measurement in a fresh child process so its peak RSS is its own: a dataset job through the real
lifecycle and body (COPY → gzip → S3 multipart upload on moto), and the baseline, COPY of the same
SELECT as CSV with a header, deflated by zlib at the same level in 64 KiB writes (what a pipe into
gzip does) into a null sink.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path

from bench.measure import Goal, NullSink, peak_rss_mb, record
from exporter.adapters.postgres import apply_migrations, connect_url
from local.services import LOCAL_AWS_ENV, create_aws_resources, free_port, start_postgres

GZIP_LEVEL = 6
PIPE_BUFFER = 64 * 1024
SELECT = "SELECT id, kind, amount, note, created_at FROM bench_rows WHERE id <= %(last)s ORDER BY id"
TOML = '[[parameters]]\nname = "last"\ntype = "integer"\nrequired = true\n'
LOAD = """
INSERT INTO bench_rows (id, kind, amount, note, created_at)
SELECT i, (ARRAY['page', 'file', 'report', 'run'])[1 + i %% 4], (i * 37 %% 100000) / 100.0,
       'source ' || (i %% 997) || ' processed "ok", page ' || i, timestamptz '2025-01-01' + i * interval '1 second'
FROM generate_series(%s, %s) AS i
"""


def load(url: str, rows: int) -> float:
    conn = connect_url(url)
    apply_migrations(conn)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id bigint PRIMARY KEY, kind text, amount numeric, note text, "
            "created_at timestamptz)"
        )
        cur.execute("SELECT count(*) FROM bench_rows")
        (have,) = cur.fetchone() or (0,)
        for start in range(have + 1, rows + 1, 200_000):
            cur.execute(LOAD, (start, min(start + 199_999, rows)))
        cur.execute("VACUUM ANALYZE bench_rows")
    conn.close()
    return time.perf_counter() - started


def measure_copy(rows: int) -> dict:
    """The baseline: COPY of the same SELECT, CSV with header, gzip at the same level, bytes thrown away."""
    from exporter.datasets.sql import copy_csv, parse_select

    conn = connect_url(os.environ["DATABASE_URL"])
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    sink = NullSink()

    class Gzip:
        """A pipe into gzip: bytes gathered into 64 KiB writes (a pipe's buffer), each deflated."""

        def __init__(self) -> None:
            self.held = bytearray()

        def write(self, data: bytes) -> int:
            self.held += data
            if len(self.held) >= PIPE_BUFFER:
                sink.write(deflate.compress(bytes(self.held)))
                self.held.clear()
            return len(data)

    started = time.perf_counter()
    pipe = Gzip()
    with conn.cursor() as cur:
        cur.copy_expert(cur.mogrify(copy_csv(parse_select(SELECT)), {"last": rows}).decode(), pipe)
    sink.write(deflate.compress(bytes(pipe.held)) + deflate.flush())
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "bytes": sink.bytes, "peak_rss_mb": peak_rss_mb()}


def measure_dataset(rows: int, datasets: str) -> dict:
    import boto3

    from exporter.adapters.postgres import Database
    from exporter.adapters.s3 import S3Store
    from exporter.datasets.catalogue import load_catalogue
    from exporter.datasets.kind import DATASET
    from exporter.datasets.model import DatasetMessage
    from exporter.datasets.request import check_dataset_request
    from exporter.datasets.run import DatasetRun
    from exporter.datasets.sources import DatasetSources
    from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts, Outcome, run_job
    from exporter.jobs.model import Caller
    from exporter.jobs.repository import JobsRepository
    from exporter.settings import DatabaseSettings

    url = os.environ["DATABASE_URL"]
    catalogue = load_catalogue(datasets)
    jobs = JobsRepository(Database(lambda: connect_url(url)))
    caller = Caller(user_id="bench", is_admin=True)
    parameters = check_dataset_request("bench", {"last": rows}, caller, catalogue=catalogue)
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id="bench",
        kind=DATASET.kind,
        dataset="bench",
        parameters=parameters,
        max_retries=0,
    )
    message = DatasetMessage(export_id=export.export_id, creator_id="bench", dataset="bench", attempt=1, max_retries=0)
    body = DatasetRun(catalogue, DatasetSources.from_settings(DatabaseSettings(DATABASE_URL=url), "{}").connection)
    ports = LifecyclePorts(jobs=jobs, store=S3Store(boto3.client("s3"), os.environ["S3_BUCKET"]), queue=None)
    config = LifecycleConfig(
        lease_seconds=600, progress_interval_seconds=5, part_size_bytes=8 * 1024 * 1024, expiration_days=7
    )
    started = time.perf_counter()
    result = run_job(message, DATASET, body, ports, config, owner="bench")
    seconds = time.perf_counter() - started
    assert result.outcome is Outcome.COMPLETED and result.rows == rows, result
    return {"rows": result.rows, "seconds": seconds, "bytes": result.bytes, "peak_rss_mb": peak_rss_mb()}


def run_child(mode: str, rows: int, env: dict[str, str], datasets: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.dataset_bench", mode, str(rows), datasets],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_moto(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    sizes = sorted({int(x) for x in os.environ.get("BENCH_DATASET_ROWS", "100000,1000000").split(",")})
    with tempfile.TemporaryDirectory(prefix="dataset-bench-") as tmp:
        folder = Path(tmp) / "datasets" / "bench"
        folder.mkdir(parents=True)
        (folder / "select.sql").write_text(SELECT)
        (folder / "dataset.toml").write_text(TOML)
        pg = start_postgres(Path(tmp) / "pg")
        port = free_port()
        moto = start_moto(port)
        try:
            endpoint = f"http://127.0.0.1:{port}"
            os.environ.update(LOCAL_AWS_ENV)
            aws = None
            for _ in range(100):
                try:
                    aws = create_aws_resources(endpoint, prefix="dsbench")
                    break
                except Exception:
                    time.sleep(0.1)
            assert aws is not None, "the moto server did not start"
            print(f"dataset bench: {max(sizes):,} rows loaded in {load(pg.url, max(sizes)):.1f} s", flush=True)
            env = {
                **os.environ,
                **LOCAL_AWS_ENV,
                "AWS_ENDPOINT_URL": endpoint,
                "DATABASE_URL": pg.url,
                "S3_BUCKET": aws.exports_bucket,
                "POWERTOOLS_SERVICE_NAME": "dataset-bench",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONPATH": os.pathsep.join(["layers", "functions", "."]),
            }
            for rows in sizes:
                dataset = run_child("dataset", rows, env, str(folder.parent))
                copy = run_child("copy", rows, env, str(folder.parent))
                print_row(rows, dataset, copy)
        finally:
            moto.terminate()
            moto.wait(timeout=10)
            pg.stop()


def print_row(rows: int, dataset: dict, copy: dict) -> None:
    for name, r in (("dataset export", dataset), ("COPY | gzip", copy)):
        print(
            f"{rows:>9,} rows  {name:<15} {r['seconds']:7.2f} s  {r['rows'] / r['seconds']:>10,.0f} rows/s  "
            f"{r['bytes'] / r['seconds'] / 1e6:7.2f} MB/s gz  ({r['bytes'] / 1e6:,.1f} MB out)  "
            f"peak RSS {r['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    figure, base = dataset["rows"] / dataset["seconds"], copy["rows"] / copy["seconds"]
    print(
        f"{rows:>9,} rows  dataset vs COPY | gzip (level {GZIP_LEVEL}): figure {figure:,.0f} rows/s  "
        f"baseline {base:,.0f} rows/s  ratio {figure / base:.2f}  (goal >= 0.80)",
        flush=True,
    )
    record(Goal.DATASET, f"{rows:,} rows", figure, base, "rows/s")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        mode, count, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        profile_to = os.environ.get("BENCH_PROFILE")  # a pstats file of the dataset run's main thread
        if profile_to and mode == "dataset":
            import cProfile

            profiler = cProfile.Profile()
            result = profiler.runcall(measure_dataset, count, where)
            profiler.dump_stats(profile_to)
        else:
            result = measure_dataset(count, where) if mode == "dataset" else measure_copy(count)
        print(json.dumps(result))
    else:
        main()
