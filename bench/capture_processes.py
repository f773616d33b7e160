"""A capture's row formatting alone on 1..N processes, and what starting the children costs.

    python -m bench.capture_processes                  # processes 1, 2, 3; 20,000 messages
    BENCH_CAPTURE_PROCESSES=1,2,4,6 BENCH_CAPTURE_MESSAGES=50000 python -m bench.capture_processes

No Redis: the NEF messages (bench/nef_events.py) are made up front and fed as fast as the rows
take them, through the same path the run uses (``capture_rows``: in place for 1, batches to
N - 1 children otherwise), so the figure is the most the masking and CSV side can do with N
processes on this machine. Every run's CSV is compared with the one-process CSV. The start-up
figure is the time from asking for the children to all of them answering, and the end of the
window (stop and join), for ``fork`` and ``spawn``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import statistics
import time
from datetime import UTC, datetime

from bench.nef_events import messages, subscribers
from exporter.captures.masking import Masker
from exporter.captures.parallel import ParallelRows, capture_rows

KEY = b"bench-masking-key-0123456789abcdef"


def _masker() -> Masker:
    return Masker(KEY).for_capture("bench-capture", link_across_captures=False)


def start_up(method: str, workers: int, repeat: int = 5) -> dict:
    """Median milliseconds to start ``workers`` children (all answering) and to end them."""
    starts, stops = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        rows = ParallelRows(_masker(), lambda _: None, workers=workers, context=multiprocessing.get_context(method))
        starts.append(time.perf_counter() - began)
        began = time.perf_counter()
        rows.finish()
        stops.append(time.perf_counter() - began)
    return {
        "start_method": method,
        "children": workers,
        "start_ms": round(statistics.median(starts) * 1000, 1),
        "stop_ms": round(statistics.median(stops) * 1000, 1),
    }


def throughput(processes: int, batch: list[tuple[bytes, bytes, float]]) -> tuple[float, bytes]:
    """Messages per second through ``capture_rows`` with ``processes``, and the CSV written."""
    chunks: list[bytes] = []
    began = time.perf_counter()
    rows = capture_rows(_masker(), chunks.append, processes=processes, start_method="fork")
    try:
        for channel, data, received in batch:
            rows.add(channel, data, received)
            rows.tick()
        rows.finish()
    finally:
        rows.close()
    return len(batch) / (time.perf_counter() - began), b"".join(chunks)


def main() -> None:
    counts = [int(p) for p in os.environ.get("BENCH_CAPTURE_PROCESSES", "1,2,3").split(",") if p.strip()]
    total = int(os.environ.get("BENCH_CAPTURE_MESSAGES", "20000"))
    stream = messages(subscribers(500))
    batch = [(c.encode(), d.encode(), 1.8e9 + n / 1000) for n, (c, d) in zip(range(total), stream, strict=False)]
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}; {total} messages",
        flush=True,
    )
    for method in ("fork", "spawn"):
        for workers in sorted({max(1, n - 1) for n in counts}):
            print(json.dumps(start_up(method, workers)), flush=True)
    reference: bytes | None = None
    for processes in counts:
        rate, csv_bytes = throughput(processes, batch)
        reference = reference if reference is not None else csv_bytes
        same = csv_bytes == reference
        print(json.dumps({"processes": processes, "msg_per_s": round(rate), "same_csv": same}), flush=True)
        if not same:
            raise SystemExit(f"the CSV with {processes} processes differs from the one-process CSV")


if __name__ == "__main__":
    main()
