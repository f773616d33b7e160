"""Stopping an archive at a boundary and going on in another process gives the bytes of one run."""

from __future__ import annotations

import io
import random
import zipfile
import zlib

from exporter.output.deflater import BackgroundDeflate
from exporter.output.spool import DeflatedSpool
from exporter.output.zipstream import ZipStream

NOW = 1_759_583_019.0


def csv_like(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = ["FACEBOOK", "Sponsored", "observer-0001", "2025-10-04T12:00:00Z", '"a,b"', "12.5", "ünïcode"]
    return "".join(",".join(rng.choice(words) for _ in range(6)) + "\r\n" for _ in range(n)).encode()


def test_a_deflate_stream_gone_on_after_a_full_flush_is_the_stream_of_one_compressor() -> None:
    first, second = csv_like(20_000, 1), csv_like(30_000, 2)
    # One stream, flushed at the boundary and going on
    whole = io.BytesIO()
    one = BackgroundDeflate(whole, level=6, wbits=-15, crc=True)
    one.write(first)
    one.full_flush()
    one.write(second)
    one.finish()
    # The same, stopped at the boundary and gone on from by a new compressor
    before, after = io.BytesIO(), io.BytesIO()
    stopped = BackgroundDeflate(before, level=6, wbits=-15, crc=True)
    stopped.write(first)
    stopped.full_flush()
    stopped.suspend()
    resumed = BackgroundDeflate(after, level=6, wbits=-15, crc=True, start=(stopped.crc, stopped.compressed))
    resumed.write(second)
    resumed.finish()

    assert before.getvalue() + after.getvalue() == whole.getvalue()
    assert zlib.decompress(whole.getvalue(), -15) == first + second
    assert resumed.crc == one.crc == zlib.crc32(first + second)
    assert resumed.compressed == one.compressed == len(whole.getvalue())


def test_an_archive_suspended_and_resumed_is_byte_for_byte_the_archive_of_one_run() -> None:
    ads = [(f"ads/{n}/data.json", b'{"n": %d, "text": "%s"}' % (n, b"x" * (n % 50))) for n in range(300)]
    table_rows = [csv_like(50, n) for n in range(300)]

    def run(stop_at: int | None) -> bytes:
        out = io.BytesIO()
        zip_, table = ZipStream(out, now=NOW), DeflatedSpool()
        for n, (name, data) in enumerate(ads):
            if n == stop_at:
                # Stop: what a next run is handed is the state and the bytes kept, nothing else
                zip_state, central = zip_.suspend()
                table_state, deflated = table.suspend()
                kept_central, kept_table = central.read(), deflated.read()
                table.close()
                zip_ = ZipStream(out, now=NOW + 3600, resumed=(zip_state, iter([kept_central])))
                table = DeflatedSpool(resumed=(table_state, iter([kept_table])))
            zip_.write_bytes(name, data, compress=n % 2 == 0)
            table.write(table_rows[n])
            if (n + 1) % 100 == 0:
                table.full_flush()
        table.finish()
        zip_.write_deflated("all_data.csv", table)
        zip_.close()
        table.close()
        return out.getvalue()

    whole, resumed = run(None), run(200)
    assert resumed == whole
    archive = zipfile.ZipFile(io.BytesIO(resumed))
    assert archive.testzip() is None
    assert archive.read("all_data.csv") == b"".join(table_rows)
    assert archive.read("ads/299/data.json") == ads[299][1]
    assert len(archive.namelist()) == 301
