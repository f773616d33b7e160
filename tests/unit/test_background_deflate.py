"""BackgroundDeflate: the same bytes as one compressobj, errors of the deflating thread reach the writer."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest

from exporter.output.deflater import BackgroundDeflate

_NOISE = os.urandom(1 << 12)
_CHUNKS = [(b"row %d,%s\n" % (i, _NOISE[i % 1000 : i % 1000 + 40].hex().encode())) * 50 for i in range(400)]


def _chunks() -> list[bytes]:
    return list(_CHUNKS)


def test_given_chunks_when_deflated_on_the_thread_then_the_gzip_is_byte_identical_to_one_compressobj() -> None:
    out = io.BytesIO()
    deflate = BackgroundDeflate(out, level=6, wbits=31, queued=2)
    for chunk in _chunks():
        deflate.write(chunk)
    deflate.finish()

    expected = zlib.compressobj(6, zlib.DEFLATED, 31)
    reference = b"".join(expected.compress(c) for c in _chunks()) + expected.flush()
    assert out.getvalue() == reference
    assert gzip.decompress(out.getvalue()) == b"".join(_chunks())
    assert deflate.compressed == len(reference)


def test_given_crc_asked_then_it_is_the_crc_of_the_raw_bytes() -> None:
    deflate = BackgroundDeflate(io.BytesIO(), level=1, wbits=-15, crc=True)
    for chunk in _chunks():
        deflate.write(chunk)
    deflate.finish()
    assert deflate.crc == zlib.crc32(b"".join(_chunks()))


class _Broken:
    def write(self, data: bytes) -> int:
        raise OSError("disk full")


def test_given_the_target_fails_then_the_writer_sees_the_error_and_never_blocks() -> None:
    deflate = BackgroundDeflate(_Broken(), level=1, wbits=31, queued=1)
    with pytest.raises(OSError, match="disk full"):
        for chunk in _chunks() * 10:  # far more than the queue holds: a stuck thread would hang here
            deflate.write(chunk)
        deflate.finish()
    deflate.stop()
