"""The API function's cold start and its warm ``POST /exports``, against PostgreSQL and moto.

    make bench                                   # among the other benches
    python -m bench.api_cold_start               # alone (BENCH_COLD_RUNS, BENCH_WARM_REQUESTS)
    BENCH_PROFILE=/tmp/post.prof python -m bench.api_cold_start   # a pstats file of the warm POSTs

A cold start is measured as Lambda pays it: a new interpreter (``python -c``) that imports
``api.handler`` and answers one first request, an HTTP API (payload v2) ``GET /exports`` with
the JWT authorizer's claims, against a real PostgreSQL (pgserver) and a moto server. Its wall
time from spawn to the answer is the figure (Lambda keeps the process, so its exit is shown
apart); the process's own import and first-request times are printed beside it. The baseline,
in the same run: the wall time of ``python -c "import boto3"`` (what any function that talks to
AWS pays) and of a bare ``python -c pass``.

The warm figure is ``POST /exports`` in one process after a warm-up: p50 and p99 over
``BENCH_WARM_REQUESTS`` requests, each by its own user (so no per-user limit is reached).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import Goal, record
from exporter.adapters.postgres import apply_migrations, connect_url
from local.services import LOCAL_AWS_ENV, create_aws_resources, free_port, start_postgres

COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "7"))
WARM_REQUESTS = int(os.environ.get("BENCH_WARM_REQUESTS", "500"))
WARM_UP_REQUESTS = 50
COLD_GOAL_MS = 300
WARM_P99_GOAL_MS = 25
QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}

# The cold process: nothing imported before the clock starts but what the interpreter itself loads.
COLD_START = """
import time
started = time.perf_counter()
from api.handler import lambda_handler
imported = time.perf_counter()
import json, os
from local.lambda_context import LocalLambdaContext
reply = lambda_handler(json.loads(os.environ["BENCH_EVENT"]), LocalLambdaContext())
answered = time.perf_counter()
print(json.dumps({"import": imported - started, "first": answered - imported, "status": reply["statusCode"],
                  "answered_at": time.monotonic()}))
"""

# The warm process: the handler imported and warmed up, then POST /exports timed one by one.
WARM_POSTS = """
import json, os, sys, time
from api.handler import lambda_handler
from local.lambda_context import LocalLambdaContext
template = json.loads(os.environ["BENCH_EVENT"])
warm_up, requests = int(sys.argv[1]), int(sys.argv[2])

def post(user):
    event = json.loads(json.dumps(template))
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = user
    reply = lambda_handler(event, LocalLambdaContext())
    if reply["statusCode"] != 202:
        raise SystemExit(f"POST /exports answered {reply['statusCode']}: {reply.get('body')}")

for i in range(warm_up):
    post(f"warm-up-{i}")

def timed():
    seconds, cpu = [], []
    for i in range(requests):
        started, used = time.perf_counter(), time.process_time()
        post(f"bench-{i}")
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return seconds, cpu

profile_to = os.environ.get("BENCH_PROFILE")
if profile_to:
    import cProfile
    profiler = cProfile.Profile()
    seconds, cpu = profiler.runcall(timed)
    profiler.dump_stats(profile_to)
else:
    seconds, cpu = timed()
print(json.dumps({"seconds": seconds, "cpu": cpu}))
"""


def http_event(method: str, path: str, body: Any = None, user: str = "bench") -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event as the JWT authorizer passes it on."""
    now = time.time()
    claims = {"sub": user, "token_use": "access", "iss": "https://issuer.bench", "aud": "export-service"}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "api.bench"},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "bench",
            "domainName": "api.bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "b"},
            "requestId": f"bench-{now}",
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def wall(code: str, env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """When ``python -c code`` was spawned (``time.monotonic``), seconds to its exit, and what it printed last."""
    spawned = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True)
    seconds = time.monotonic() - spawned
    lines = out.stdout.strip().splitlines()
    return spawned, seconds, lines[-1] if lines else ""


def spread(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"min {min(ms):6.0f}  median {statistics.median(ms):6.0f}  max {max(ms):6.0f} ms"


# Tracing as the deployed function has it (Tracing.ACTIVE): inside Lambda, a sampled trace header,
# segments sent over UDP to a daemon address nobody listens on.
XRAY_ENV = {
    "LAMBDA_TASK_ROOT": ".",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}


@dataclass
class ColdRuns:
    """One configuration's cold processes: spawn to answer, spawn to exit, import, first request."""

    answers: list[float] = field(default_factory=list)
    exits: list[float] = field(default_factory=list)
    imports: list[float] = field(default_factory=list)
    firsts: list[float] = field(default_factory=list)

    def run(self, env: dict[str, str]) -> None:
        spawned, seconds, printed = wall(COLD_START, env)
        result = json.loads(printed)
        if result["status"] != 200:
            raise SystemExit(f"the first request answered {result['status']}")
        self.answers.append(result["answered_at"] - spawned)  # CLOCK_MONOTONIC is the same in every process
        self.exits.append(seconds)
        self.imports.append(result["import"])
        self.firsts.append(result["first"])

    def print(self, title: str) -> None:
        print(f"  {title}:")
        print(f"    wall, spawn to answer    {spread(self.answers)}")
        print(f"    wall, spawn to exit      {spread(self.exits)}")
        print(f"    import api.handler       {spread(self.imports)}")
        print(f"    first request            {spread(self.firsts)}")


def cold_starts(env: dict[str, str]) -> None:
    """Cold processes interleaved with the baselines, so a busy moment costs each the same."""
    untraced = {**env, "BENCH_EVENT": json.dumps(http_event("GET", "/exports"))}
    traced = {k: v for k, v in untraced.items() if k != "POWERTOOLS_TRACE_DISABLED"} | XRAY_ENV
    wall(COLD_START, untraced)  # bytecode compiled and files cached, as in a deployed package
    plain, xray = ColdRuns(), ColdRuns()
    boto3s: list[float] = []
    bares: list[float] = []
    for _ in range(COLD_RUNS):
        plain.run(untraced)
        xray.run(traced)
        boto3s.append(wall("import boto3", env)[1])
        bares.append(wall("pass", env)[1])
    print(f"API cold start, {COLD_RUNS} new processes each (GET /exports):", flush=True)
    plain.print("tracing off (POWERTOOLS_TRACE_DISABLED, or outside Lambda)")
    xray.print("X-Ray tracing on (in Lambda with Tracing.ACTIVE)")
    print(f"  baseline: import boto3     {spread(boto3s)}")
    print(f"  baseline: python -c pass   {spread(bares)}")
    boto3 = statistics.median(boto3s)
    for name, runs in (("tracing off", plain), ("X-Ray on", xray)):
        cold = statistics.median(runs.answers)
        print(
            f"  {name:<12} figure {cold * 1000:.0f} ms (median spawn to answer)  baseline {boto3 * 1000:.0f} ms "
            f"(import boto3)  ratio {cold / boto3:.2f}  (goal <= {COLD_GOAL_MS} ms)",
            flush=True,
        )
        record(Goal.COLD_START, name, cold * 1000, boto3 * 1000, "ms")


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return ms[len(ms) // 2], ms[min(len(ms) - 1, round(len(ms) * 0.99) - 1)], ms[-1]


def warm_posts(env: dict[str, str]) -> None:
    """Wall time per request is the figure; the process's own CPU per request shows what is not waiting.

    Most of the rest is the answer of the SQS stand-in (moto, on the same cores) and PostgreSQL.
    """
    body = {"query": QUERY}
    warm_env = {**env, "BENCH_EVENT": json.dumps(http_event("POST", "/exports", body))}
    _, _, printed = wall(WARM_POSTS, warm_env, str(WARM_UP_REQUESTS), str(WARM_REQUESTS))
    result = json.loads(printed)
    p50, p99, top = percentiles(result["seconds"])
    cpu50, cpu99, _ = percentiles(result["cpu"])
    print(
        f"warm POST /exports in process, {len(result['seconds'])} requests after {WARM_UP_REQUESTS}: "
        f"p50 {p50:.1f} ms  p99 {p99:.1f} ms  max {top:.1f} ms  (goal p99 <= {WARM_P99_GOAL_MS} ms); "
        f"the process's CPU per request p50 {cpu50:.1f} ms  p99 {cpu99:.1f} ms",
        flush=True,
    )
    record(Goal.WARM_POST, f"{len(result['seconds'])} requests", p99, None, "ms")


def start_moto(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def aws_resources(endpoint: str) -> Any:
    deadline = time.monotonic() + 30
    while True:
        try:
            return create_aws_resources(endpoint, prefix="bench")
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        pg = start_postgres(Path(tmp) / "pg")
        port = free_port()
        moto = start_moto(port)
        try:
            conn = connect_url(pg.url)
            apply_migrations(conn)
            conn.close()
            endpoint = f"http://127.0.0.1:{port}"
            os.environ.update(LOCAL_AWS_ENV)
            aws = aws_resources(endpoint)
            env = {
                **os.environ,
                **LOCAL_AWS_ENV,
                "AWS_ENDPOINT_URL": endpoint,
                "DATABASE_URL": pg.url,
                "S3_BUCKET": aws.exports_bucket,
                "SQS_QUEUE_URL": aws.queue_url,
                "POWERTOOLS_SERVICE_NAME": "export-bench",
                "POWERTOOLS_METRICS_NAMESPACE": "ExportBench",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONPATH": os.pathsep.join(["layers", "functions", "."]),
            }
            cold_starts(env)
            warm_posts(env)
        finally:
            moto.terminate()
            moto.wait(timeout=10)
            pg.stop()


if __name__ == "__main__":
    main()
