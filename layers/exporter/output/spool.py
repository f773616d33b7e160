"""A ZIP entry deflated while the archive writes other entries, kept compressed until its turn.

The seed's layout puts ``all_data.csv`` after every ad's folder, but both come from the
same rows: the CSV lines are deflated as the rows go by (by a thread: zlib releases the GIL,
so the deflating overlaps the row work on a second core) and spooled, compressed, in memory
up to ``in_memory_bytes`` and in a temporary file beyond. The rows are then read once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from .deflater import BackgroundDeflate

_CHUNK = 1024 * 1024
_QUEUED = 4  # chunks waiting for the deflating thread: memory stays at a few CSV buffers


class DeflatedSpool:
    """``write`` bytes, ``finish()``, then read the raw deflate data back with ``chunks()``.

    The deflate stream is the one a single ``compressobj(6, DEFLATED, -15)`` gives for the
    same bytes, whatever the threads do: chunks are deflated in the order they were written.
    """

    def __init__(
        self,
        *,
        level: int = 6,
        in_memory_bytes: int = 8 * 1024 * 1024,
        resumed: tuple[dict[str, Any], Iterable[bytes]] | None = None,
    ) -> None:
        """A new entry; with ``resumed`` (a :meth:`suspend`'s state and the deflate data written before it,
        read when the entry is copied), the same entry goes on."""
        self._spool = tempfile.SpooledTemporaryFile(max_size=in_memory_bytes, prefix="zip-entry-")  # noqa: SIM115
        self.size = 0
        self._before: Iterable[bytes] = ()
        start = (0, 0)
        if resumed is not None:
            state, self._before = resumed
            self.size, start = int(state["size"]), (int(state["crc"]), int(state["compressed"]))
        self._deflate = BackgroundDeflate(self._spool, level=level, wbits=-15, queued=_QUEUED, crc=True, start=start)
        self._finished = False

    @property
    def crc(self) -> int:
        return self._deflate.crc

    @property
    def compressed(self) -> int:
        return self._deflate.compressed

    def write(self, data: bytes) -> int:
        self._deflate.write(data)
        self.size += len(data)
        return len(data)

    def full_flush(self) -> None:
        """A point the entry may stop at and go on from (see :meth:`BackgroundDeflate.full_flush`)."""
        self._deflate.full_flush()

    def suspend(self) -> tuple[dict[str, Any], IO[bytes]]:
        """Stop at the last :meth:`full_flush`: the state a resumed spool needs, and this run's deflate data."""
        self._deflate.suspend()
        self._spool.seek(0)
        state = {"size": self.size, "crc": self.crc, "compressed": self.compressed}
        return state, self._spool  # type: ignore[return-value]

    def finish(self) -> None:
        """End the deflate stream; raises what the deflating thread met."""
        self._deflate.finish()
        self._finished = True

    def chunks(self) -> Iterator[bytes]:
        if not self._finished:
            raise ValueError("the spool is not finished")
        yield from self._before
        self._spool.seek(0)
        while chunk := self._spool.read(_CHUNK):
            yield chunk

    def close(self) -> None:
        self._deflate.stop()
        self._spool.close()

    def __enter__(self) -> DeflatedSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
