"""Deflating on a second core: what is written is compressed by a thread, in order, into a target.

zlib releases the GIL while it compresses, so the writer (a COPY callback, the row loop) goes on
while the previous chunk deflates. The output is the one a single ``compressobj`` gives for the
same bytes written in the same order, whatever the threads do. At most ``queued`` chunks wait.
"""

from __future__ import annotations

import queue
import threading
import zlib
from typing import Protocol


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


# Queued in place of data (a write never queues empty bytes): the stream so far is flushed to a byte
# boundary with the history reset (Z_FULL_FLUSH), so what follows deflates as a new compressor would.
_FULL_FLUSH = b""


class BackgroundDeflate:
    """``write`` raw bytes, ``finish()`` to end the stream; errors of the thread surface in the writer.

    ``wbits`` picks the container (``-15`` raw deflate for a ZIP entry, ``31`` gzip). With
    ``crc=True`` the CRC-32 and size of the raw bytes are kept (a ZIP entry's header needs them),
    starting from ``crc`` and ``compressed`` when the stream goes on from an earlier one.
    """

    def __init__(
        self,
        target: Writable,
        *,
        level: int,
        wbits: int,
        queued: int = 4,
        crc: bool = False,
        start: tuple[int, int] = (0, 0),
    ) -> None:
        self._target = target
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, wbits)
        self._with_crc = crc
        self.crc, self.compressed = start
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=queued)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._deflate, name="deflate", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise self._error
        if data:
            self._queue.put(data)
        return len(data)

    def full_flush(self) -> None:
        """End what is written so far on a byte boundary with no history kept (in order, by the thread).

        A new compressor fed the bytes written after this gives the bytes this one gives, so a stream
        stopped here can go on in another process and still read as one.
        """
        if self._error is not None:
            raise self._error
        self._queue.put(_FULL_FLUSH)

    def _deflate(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep draining so a writer never blocks on a full queue
            try:
                if not data:  # _FULL_FLUSH
                    self._emit(self._compressor.flush(zlib.Z_FULL_FLUSH))
                    continue
                if self._with_crc:
                    self.crc = zlib.crc32(data, self.crc)
                self._emit(self._compressor.compress(data))
            except BaseException as error:  # raised in the writer's thread
                self._error = error

    def _emit(self, out: bytes) -> None:
        if out:
            self.compressed += len(out)
            self._target.write(out)

    def finish(self) -> None:
        """End the stream (the thread first, then the compressor's tail); raises what the thread met."""
        self.stop()
        if self._error is not None:
            raise self._error
        self._emit(self._compressor.flush())

    def suspend(self) -> None:
        """Stop after what is queued without ending the stream (a :meth:`full_flush` came last)."""
        self.stop()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Let the thread end after what is queued (on an error path too)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
