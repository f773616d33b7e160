"""Worker export throughput and memory against PostgreSQL ``COPY ... TO STDOUT``.

    python -m bench.export_bench               # 100,000 and 1,000,000 rows (also run by make bench)
    BENCH_ROWS=200000 python -m bench.export_bench

Starts its own PostgreSQL (pgserver) and a moto server in a separate process, loads a
synthetic observations table, then runs each measurement in a fresh child process so its
peak RSS is its own: one worker export through the real worker handler (default fields, no
images), and COPY of the same SELECT into a null sink.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import Goal, record
from exporter.adapters.postgres import apply_migrations, connect_url
from local.observations import insert_selected
from local.services import LOCAL_AWS_ENV, create_aws_resources, free_port, start_postgres

BASE_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z; row i is observed BASE_EPOCH + i seconds

# Rows start..stop of the synthetic dataset, built in the database rather than sent row by row.
GENERATED_ROWS = """
SELECT oid, observer, platform, to_timestamp(%(base)s + i),
       jsonb_build_object(
         'version', 2.0,
         'observer', jsonb_build_object(
           'uuid', observer,
           'device', jsonb_build_object('dimensions', jsonb_build_object('w', '1080', 'h', '2400'),
                                        'os_version', '5.15.148-android14-11', 'api_level', 35,
                                        'device', 'akita', 'model', 'Pixel 8a (akita)')),
         'observation', jsonb_build_object(
           'uuid', oid, 'observed_on_device_at', %(base)s + i, 'platform', platform,
           'ad_format', 'FEED_BASED',
           'keyframes', jsonb_build_array(jsonb_build_object(
             'observed_at', %(base)s + i, 'y_offset', 0,
             'screenshot_cropped', observer || '/temp-v2/' || oid || '/480.jpg',
             'ocr_data', jsonb_build_array(
               jsonb_build_object('x', 147, 'y', 25, 'w', 80, 'h', 38, 'text', 'Raiz', 'confidence', 0.99998),
               jsonb_build_object('x', 144, 'y', 76, 'w', 169, 'h', 43, 'text', 'Sponsored', 'confidence', 0.9998),
               jsonb_build_object('x', 32, 'y', 1728, 'w', 698, 'h', 48,
                                  'text', 'Paid for by Raiz Invest Australia Limited ' || i, 'confidence', 0.92))))),
         'media', jsonb_build_array(observer || '/temp-v2/' || oid || '/480.jpg'),
         'attributes', jsonb_build_object('starred', jsonb_build_object('value', i %% 7 = 0)),
         'tags', jsonb_build_array('finance', 'tag-' || (i %% 50)),
         'classifications', jsonb_build_array(jsonb_build_object('label', 'finance', 'score', 0.8)))
FROM (
  SELECT i,
         ((%(base)s::bigint + i) * 1000)::text || '.' || md5(i::text)::uuid::text AS oid,
         md5((i %% 997)::text)::uuid::text AS observer,
         (ARRAY['FACEBOOK', 'INSTAGRAM', 'TIKTOK', 'YOUTUBE'])[1 + i %% 4] AS platform
  FROM generate_series(%(start)s, %(stop)s) AS i
) AS g
"""


def query_for(rows: int) -> dict:
    return {"method": "DATETIME_BEFORE", "args": [str((BASE_EPOCH + rows) * 1000)]}


def load_dataset(url: str, rows: int) -> float:
    conn = connect_url(url)
    apply_migrations(conn)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM observations")
        (have,) = cur.fetchone() or (0,)
        step = 100_000
        for start in range(have, rows, step):
            insert_selected(
                cur, GENERATED_ROWS, {"base": BASE_EPOCH, "start": start, "stop": min(start + step, rows) - 1}
            )
        cur.execute("VACUUM ANALYZE observations")
    conn.close()
    return time.perf_counter() - started


def run_child(mode: str, rows: int, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.measure", mode, str(rows)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    sizes = sorted({int(x) for x in os.environ.get("BENCH_ROWS", "100000,1000000").split(",")})
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        pg = start_postgres(Path(tmp) / "pg")
        port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            endpoint = f"http://127.0.0.1:{port}"
            os.environ.update(LOCAL_AWS_ENV)
            for _ in range(100):
                try:
                    aws = create_aws_resources(endpoint, prefix="bench")
                    break
                except Exception:
                    time.sleep(0.1)
            load_seconds = load_dataset(pg.url, max(sizes))
            print(f"dataset: {max(sizes):,} observations loaded in {load_seconds:.1f} s", flush=True)
            env = {
                **os.environ,
                **LOCAL_AWS_ENV,
                "AWS_ENDPOINT_URL": endpoint,
                "DATABASE_URL": pg.url,
                "S3_BUCKET": aws.exports_bucket,
                "SOURCE_BUCKET": aws.source_bucket,
                "SQS_QUEUE_URL": aws.queue_url,
                "POWERTOOLS_SERVICE_NAME": "export-bench",
                "POWERTOOLS_METRICS_NAMESPACE": "ExportBench",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONPATH": os.pathsep.join(["layers", "functions", "."]),
            }
            results = {}
            for rows in sizes:
                worker = run_child("worker", rows, env)
                copy = run_child("copy", rows, env)
                pruned = run_child("copy-pruned", rows, env)
                results[rows] = (worker, copy)
                print_row(rows, worker, copy, pruned)
            if RUN_ROWS:  # the smallest size again, stopped and gone on from at every boundary
                rows = sizes[0]
                in_runs = run_child("worker", rows, {**env, **in_runs_of(RUN_ROWS)})
                print_runs(rows, in_runs, results[rows][0])
            if len(sizes) >= 2:
                print_growth(sizes[0], results[sizes[0]][0], sizes[-1], results[sizes[-1]][0])
        finally:
            moto.terminate()
            moto.wait(timeout=10)
            pg.stop()


# An export checkpointed at every boundary of this many rows and gone on from in a next run, against the
# same export in one run: the extra time per hand-over (BENCH_RUN_ROWS=0: not measured).
RUN_ROWS = int(os.environ.get("BENCH_RUN_ROWS", "10000"))


def in_runs_of(rows: int) -> dict[str, str]:
    """The worker's settings for runs so short that each one stops at its first boundary."""
    return {"CHECKPOINT_EVERY_ROWS": str(rows), "RUN_SECONDS": "0.001", "CHECKPOINT_RESERVE_SECONDS": "0"}


def print_runs(rows: int, in_runs: dict, one_run: dict) -> None:
    """What one hand-over between runs costs: the extra time of the export in runs, per hand-over."""
    figure, base = in_runs["rows"] / in_runs["seconds"], one_run["rows"] / one_run["seconds"]
    per_hand_over = (in_runs["seconds"] - one_run["seconds"]) / max(1, in_runs["runs"] - 1)
    print(
        f"{rows:>9,} rows  export in {in_runs['runs']} runs of {RUN_ROWS:,} rows  figure {figure:>9,.0f} rows/s  "
        f"baseline (one run) {base:>9,.0f} rows/s  ratio {figure / base:.2f}  "
        f"({in_runs['bytes'] / 1e6:,.1f} MB out, one run {one_run['bytes'] / 1e6:,.1f} MB); "
        f"{per_hand_over:.2f} s per hand-over",
        flush=True,
    )
    record(Goal.EXPORT_RUNS, f"{rows:,} rows in {in_runs['runs']} runs", per_hand_over, None, "s")


def print_growth(small_rows: int, small: dict, large_rows: int, large: dict) -> None:
    """The worker's peak RSS from the smallest to the largest size: the figure is the large one's."""
    growth = large["peak_rss_mb"] / small["peak_rss_mb"] - 1
    verdict = "flat (within 20%)" if abs(growth) <= 0.20 else "NOT flat (over 20%)"
    print(
        f"worker peak RSS {small_rows:,} → {large_rows:,} rows: "
        f"{small['peak_rss_mb']:.0f} → {large['peak_rss_mb']:.0f} MB ({growth:+.1%}), {verdict}",
        flush=True,
    )
    record(Goal.EXPORT_RSS, f"{small_rows:,} → {large_rows:,} rows", large["peak_rss_mb"], small["peak_rss_mb"], "MB")


def print_row(rows: int, worker: dict, copy: dict, pruned: dict) -> None:
    for name, r in (("worker export", worker), ("COPY rdo", copy), ("COPY projected", pruned)):
        print(
            f"{rows:>9,} rows  {name:<15} {r['seconds']:7.2f} s  {r['rows'] / r['seconds']:>10,.0f} rows/s  "
            f"{r['bytes'] / r['seconds'] / 1e6:7.1f} MB/s  ({r['bytes'] / 1e6:,.1f} MB out)  "
            f"peak RSS {r['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    # The goal's baseline is COPY of the whole documents the export selects (what a dump of the
    # same rows costs); COPY of the projection the worker now reads is shown as a second baseline.
    for name, baseline in (("COPY rdo", copy), ("COPY projected", pruned)):
        figure, base = worker["rows"] / worker["seconds"], baseline["rows"] / baseline["seconds"]
        print(
            f"{rows:>9,} rows  export vs {name:<15} figure {figure:>9,.0f} rows/s  baseline {base:>9,.0f} rows/s  "
            f"ratio {figure / base:.2f}  (goal >= 0.80)",
            flush=True,
        )
    record(Goal.EXPORT, f"{rows:,} rows", worker["rows"] / worker["seconds"], copy["rows"] / copy["seconds"], "rows/s")


if __name__ == "__main__":
    main()
