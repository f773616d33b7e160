"""A ZIP entry deflated while the archive writes other entries, kept compressed until its turn.

The seed's layout puts ``all_data.csv`` after every ad's folder, but both come from the
same rows: the CSV lines are deflated as the rows go by (by a thread: zlib releases the GIL,
so the deflating overlaps the row work on a second core) and spooled, compressed, in memory
up to ``in_memory_bytes`` and in a temporary file beyond. The rows are then read once.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import zlib
from collections.abc import Iterator

_CHUNK = 1024 * 1024
_QUEUED = 4  # chunks waiting for the deflating thread: memory stays at a few CSV buffers


class DeflatedSpool:
    """``write`` bytes, ``finish()``, then read the raw deflate data back with ``chunks()``.

    The deflate stream is the one a single ``compressobj(6, DEFLATED, -15)`` gives for the
    same bytes, whatever the threads do: chunks are deflated in the order they were written.
    """

    def __init__(self, *, level: int = 6, in_memory_bytes: int = 8 * 1024 * 1024) -> None:
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._spool = tempfile.SpooledTemporaryFile(max_size=in_memory_bytes, prefix="zip-entry-")  # noqa: SIM115
        self.crc = 0
        self.size = 0
        self.compressed = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._deflate, name="deflate", daemon=True)
        self._thread.start()
        self._finished = False

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise self._error
        if data:
            self.size += len(data)
            self._queue.put(data)
        return len(data)

    def _deflate(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep draining so a writer never blocks on a full queue
            try:
                self.crc = zlib.crc32(data, self.crc)
                out = self._compressor.compress(data)
                if out:
                    self.compressed += len(out)
                    self._spool.write(out)
            except BaseException as error:  # raised in the writer's thread
                self._error = error

    def finish(self) -> None:
        """End the deflate stream; raises what the deflating thread met."""
        self._stop()
        if self._error is not None:
            raise self._error
        out = self._compressor.flush()
        self.compressed += len(out)
        self._spool.write(out)
        self._finished = True

    def chunks(self) -> Iterator[bytes]:
        if not self._finished:
            raise ValueError("the spool is not finished")
        self._spool.seek(0)
        while chunk := self._spool.read(_CHUNK):
            yield chunk

    def close(self) -> None:
        self._stop()
        self._spool.close()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def __enter__(self) -> DeflatedSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
