"""Images in the archive: a bounded pool fetching ahead vs one image at a time.

    python -m bench.images_bench      # BENCH_IMAGE_ROWS (default 400), BENCH_IMAGE_LATENCY_MS (default 20)
                                      # (also run by make bench)

The source bucket is stood in for by a small HTTP server on loopback that answers each GET
after a fixed first-byte latency (S3's is typically 10-30 ms); moto on the same cores would
answer both too fast (no network) and too slowly (its own CPU). The same rows and images go
through ``write_ads`` into a ZIP stream twice: with one fetcher, then with the pool.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.measure import Goal, NullSink, record
from exporter.exports.archive import IMAGE_FETCHERS, ArchiveStats, write_ads
from exporter.output.zipstream import ZipStream

IMAGE = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 160  # ~40 kB, a small JPEG's size


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no delayed-ACK stall: the latency is the one set below
    latency = 0.02

    def do_GET(self) -> None:
        time.sleep(self.latency)
        self.send_response(200)
        self.send_header("Content-Length", str(len(IMAGE)))
        self.end_headers()
        self.wfile.write(IMAGE)

    def log_message(self, *args: Any) -> None:
        pass


class HttpImages:
    """``get(key)`` over HTTP with one kept-alive connection per thread, as a boto3 client pools them."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._local = threading.local()

    def get(self, key: str) -> bytes | None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self._port)
        conn.request("GET", "/" + key)
        response = conn.getresponse()
        return response.read() if response.status == 200 else None


def _run(rows: list[tuple[str, dict[str, Any]]], images: HttpImages, fetchers: int) -> tuple[float, int]:
    zip_ = ZipStream(NullSink())
    stats = ArchiveStats()
    started = time.perf_counter()
    fields = ["observation.uuid"]
    write_ads(zip_, rows, fields, images=images.get, stats=stats, on_row=lambda _n: None, image_fetchers=fetchers)
    zip_.close()
    return time.perf_counter() - started, stats.images


def main() -> None:
    count = int(os.environ.get("BENCH_IMAGE_ROWS", "400"))
    _Slow.latency = int(os.environ.get("BENCH_IMAGE_LATENCY_MS", "20")) / 1000
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rows = [(f"obs-{i}", {"observation": {"uuid": f"obs-{i}"}, "media": [f"k/{i}.jpg"]}) for i in range(count)]
        images = HttpImages(server.server_address[1])
        one_seconds, one_images = _run(rows, images, fetchers=1)
        pool_seconds, pool_images = _run(rows, images, fetchers=IMAGE_FETCHERS)
        assert one_images == pool_images == count, (one_images, pool_images)
        figure, baseline = count / pool_seconds, count / one_seconds
        print(
            f"images ({count} rows, 1 image each, {_Slow.latency * 1000:.0f} ms first byte): "
            f"pool of {IMAGE_FETCHERS} {figure:,.0f} images/s ({pool_seconds:.2f} s)  baseline one at a time "
            f"{baseline:,.0f} images/s ({one_seconds:.2f} s)  ratio {figure / baseline:.1f}x  (goal >= 5x)",
            flush=True,
        )
        record(Goal.IMAGES, f"{count} rows, {_Slow.latency * 1000:.0f} ms first byte", figure, baseline, "images/s")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
