"""A streaming ZIP64 writer with bounded memory.

Entries go straight to a write-only sink (an S3 multipart upload); nothing seeks back.
Small entries (JSON, images) are written whole with their sizes up front; a large entry
(``all_data.csv``) streams through :meth:`ZipStream.open` with a ZIP64 data descriptor.
The central directory, which grows with the number of entries, is spooled to a temporary
file rather than kept in memory, so memory stays flat however many ads an export holds.
"""

from __future__ import annotations

import struct
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, Protocol

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_ZIP64_EXTRA_LOCAL = struct.Struct("<HHQQ")
_DATA_DESCRIPTOR64 = struct.Struct("<IIQQ")
_ZIP64_END = struct.Struct("<IQHHIIQQQQ")
_ZIP64_LOCATOR = struct.Struct("<IIQI")
_END = struct.Struct("<IHHHHIIH")

_VERSION = 45  # ZIP64
_FLAG_DESCRIPTOR = 0x08
_FLAG_UTF8 = 0x0800
_STORED, _DEFLATED = 0, 8
_MAX32 = 0xFFFFFFFF
_CHUNK = 1024 * 1024
_HAND_ON = 256 * 1024  # bytes gathered before one write to the sink
_CENTRAL_BATCH = 4096  # directory records gathered before one write to its spool file


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class Deflated(Protocol):
    """Raw deflate data with the CRC-32 and sizes of what it holds."""

    @property
    def crc(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def compressed(self) -> int: ...

    def chunks(self) -> Iterator[bytes]: ...


def _dos_time(epoch: float) -> tuple[int, int]:
    t = time.gmtime(epoch)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((t.tm_year - 1980) << 9) | (
        t.tm_mon << 5
    ) | t.tm_mday


class _Framing:
    """The local header and central record of one kind of entry, each packed in one call.

    The fields every entry of the kind shares (signature, versions, flags, method, time,
    date) are packed once, as a prefix; a kind is its flags, method and name length, so
    the name is packed with the fields around it.
    """

    def __init__(self, flags: int, method: int, length: int, dos_time: int, dos_date: int) -> None:
        self.local_prefix = struct.pack("<IHHHHH", 0x04034B50, _VERSION, flags, method, dos_time, dos_date)
        self.central_prefix = struct.pack(
            "<IHHHHHH", 0x02014B50, (3 << 8) | _VERSION, _VERSION, flags, method, dos_time, dos_date
        )
        # the local header from the CRC on, the name and the ZIP64 extra with the sizes
        self.local = struct.Struct(f"<14sIIIHH{length}sHHQQ").pack
        # the central record from the CRC on, the fixed middle, the name and the ZIP64 extra with the offset
        self.central = struct.Struct(f"<16sIIIH16s{length}sHHQQQ").pack


# A central record's fields between the name length and the name: extra length (28), comment
# length, disk, internal attributes, external attributes (a regular file, rw-r--r--), offset (in the extra).
_CENTRAL_MIDDLE = struct.pack("<HHHHII", 28, 0, 0, 0, 0o100644 << 16, _MAX32)


class _Entry:
    """A write handle for one streamed entry (deflated, sizes in a data descriptor)."""

    def __init__(self, zip_: ZipStream) -> None:
        self._zip = zip_
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.crc = 0
        self.size = 0
        self.compressed = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self._compressor.compress(data)
        if out:
            self.compressed += len(out)
            self._zip._emit(out)
        return len(data)

    def finish(self) -> None:
        out = self._compressor.flush()
        self.compressed += len(out)
        self._zip._emit(out)


class ZipStream:
    """Write a ZIP64 archive to ``sink`` in one forward pass."""

    def __init__(
        self,
        sink: Sink,
        *,
        now: float | None = None,
        resumed: tuple[dict[str, Any], Iterable[bytes]] | None = None,
    ) -> None:
        """A new archive; with ``resumed`` (a :meth:`suspend`'s state and the directory records written before
        it, read when the archive closes), the same archive goes on where it stopped."""
        self._sink = sink
        self._offset = 0
        self._count = 0
        self._time, self._date = _dos_time(now if now is not None else time.time())
        self._central_before: Iterable[bytes] = ()
        if resumed is not None:
            state, self._central_before = resumed
            self._offset, self._count = int(state["offset"]), int(state["count"])
            self._time, self._date = int(state["time"]), int(state["date"])
        self._central: IO[bytes] = tempfile.TemporaryFile(prefix="zip-central-")  # noqa: SIM115
        self._central_buffer: list[bytes] = []  # records not yet in the spool file
        self._central_buffered = 0
        self._pending: list[bytes] = []  # small writes not yet handed to the sink
        self._pending_bytes = 0
        self._open = False
        self._closed = False
        self._framings: dict[tuple[int, int, int], _Framing] = {}  # by (flags, method, name length)

    def _new_framing(self, flags: int, method: int, length: int) -> _Framing:
        """The framing of a kind of entry met for the first time, kept for the next ones."""
        framing = self._framings[flags, method, length] = _Framing(flags, method, length, self._time, self._date)
        return framing

    @property
    def bytes_written(self) -> int:
        return self._offset

    @property
    def entries(self) -> int:
        return self._count

    def _emit(self, data: bytes) -> None:
        """Small writes are gathered and handed on together; the sink sees the same bytes in order."""
        self._offset += len(data)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= _HAND_ON:
            self._hand_on()

    def _hand_on(self) -> None:
        if self._pending:
            self._sink.write(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0

    def _local_header(self, name: bytes, flags: int, method: int, crc: int, extra: bytes) -> None:
        self._emit(
            _LOCAL_HEADER.pack(
                0x04034B50, _VERSION, flags, method, self._time, self._date, crc, _MAX32, _MAX32, len(name), len(extra)
            )
            + name
            + extra
        )

    def _record(self, name: bytes, flags: int, method: int, crc: int, compressed: int, size: int, offset: int) -> None:
        framing = self._framings.get((flags, method, len(name))) or self._new_framing(flags, method, len(name))
        self._central_buffer.append(
            framing.central(
                framing.central_prefix,
                crc,
                _MAX32,
                _MAX32,
                len(name),
                _CENTRAL_MIDDLE,
                name,
                1,
                24,
                size,
                compressed,
                offset,
            )
        )
        self._central_buffered += 1
        if self._central_buffered >= _CENTRAL_BATCH:
            self._spool_central()
        self._count += 1

    def _spool_central(self) -> None:
        self._central.write(b"".join(self._central_buffer))
        self._central_buffer.clear()
        self._central_buffered = 0

    def write_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        """Add a whole entry (JSON documents, images)."""
        self._check_writable()
        encoded = name.encode("utf-8")
        crc = zlib.crc32(data)
        if compress:
            payload, method = zlib.compress(data, 6, wbits=-15), _DEFLATED
        else:
            payload, method = data, _STORED
        offset = self._offset
        length = len(encoded)
        framing = self._framings.get((_FLAG_UTF8, method, length)) or self._new_framing(_FLAG_UTF8, method, length)
        size, stored = len(data), len(payload)
        self._emit(
            framing.local(framing.local_prefix, crc, _MAX32, _MAX32, length, 20, encoded, 1, 16, size, stored) + payload
        )
        self._record(encoded, _FLAG_UTF8, method, crc, stored, size, offset)

    def write_deflated(self, name: str, entry: Deflated) -> None:
        """Add an entry deflated beforehand (spooled while other entries were written).

        The bytes are those :meth:`open` writes for the same content: a ZIP64 data descriptor
        after the data.
        """
        self._check_writable()
        encoded = name.encode("utf-8")
        offset = self._offset
        flags = _FLAG_UTF8 | _FLAG_DESCRIPTOR
        self._local_header(encoded, flags, _DEFLATED, 0, _ZIP64_EXTRA_LOCAL.pack(0x0001, 16, 0, 0))
        for chunk in entry.chunks():
            self._emit(chunk)
        self._emit(_DATA_DESCRIPTOR64.pack(0x08074B50, entry.crc, entry.compressed, entry.size))
        self._record(encoded, flags, _DEFLATED, entry.crc, entry.compressed, entry.size, offset)

    @contextmanager
    def open(self, name: str) -> Iterator[_Entry]:
        """Stream one large entry: ``with zip.open("all_data.csv") as f: f.write(...)``."""
        self._check_writable()
        encoded = name.encode("utf-8")
        offset = self._offset
        flags = _FLAG_UTF8 | _FLAG_DESCRIPTOR
        self._local_header(encoded, flags, _DEFLATED, 0, _ZIP64_EXTRA_LOCAL.pack(0x0001, 16, 0, 0))
        entry = _Entry(self)
        self._open = True
        try:
            yield entry
            entry.finish()
            self._emit(_DATA_DESCRIPTOR64.pack(0x08074B50, entry.crc, entry.compressed, entry.size))
            self._record(encoded, flags, _DEFLATED, entry.crc, entry.compressed, entry.size, offset)
        finally:
            self._open = False

    def suspend(self) -> tuple[dict[str, Any], IO[bytes]]:
        """Hand every byte on to the sink and stop: the state a resumed archive needs, and the directory
        records of the entries written since the start (or the last resume), to read from the start."""
        self._check_writable()
        self._hand_on()
        self._spool_central()
        self._central.seek(0)
        self._closed = True
        state = {"offset": self._offset, "count": self._count, "time": self._time, "date": self._date}
        return state, self._central

    def close(self) -> None:
        """Write the central directory and the ZIP64 end records."""
        self._check_writable()
        start = self._offset
        self._spool_central()
        for chunk in self._central_before:
            self._emit(chunk)
        self._central.seek(0)
        while chunk := self._central.read(_CHUNK):
            self._emit(chunk)
        size = self._offset - start
        self._central.close()
        zip64_end = self._offset
        self._emit(
            _ZIP64_END.pack(0x06064B50, 44, (3 << 8) | _VERSION, _VERSION, 0, 0, self._count, self._count, size, start)
        )
        self._emit(_ZIP64_LOCATOR.pack(0x07064B50, 0, zip64_end, 1))
        self._emit(
            _END.pack(
                0x06054B50,
                0,
                0,
                min(self._count, 0xFFFF),
                min(self._count, 0xFFFF),
                min(size, _MAX32),
                min(start, _MAX32),
                0,
            )
        )
        self._hand_on()
        self._closed = True

    def discard(self) -> None:
        """Drop the spooled directory without writing it (the upload is being aborted)."""
        if not self._central.closed:
            self._central.close()
        self._central_buffer.clear()
        self._pending.clear()
        self._closed = True

    def _check_writable(self) -> None:
        if self._closed:
            raise ValueError("archive is closed")
        if self._open:
            raise ValueError("another entry is still being written")
