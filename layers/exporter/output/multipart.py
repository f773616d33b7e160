"""A write-only file that uploads itself in parts: the sink every artefact streams into."""

from __future__ import annotations

import queue
import threading
from typing import Any

from ..adapters.ports import ObjectStore

# S3 allows at most 10,000 parts; grow the part size so a large export never runs out.
_MAX_PARTS = 10_000
_GROW_EVERY = 1_000
# Parts waiting while one uploads: the writer goes on while S3 answers, memory stays bounded.
_QUEUED_PARTS = 1


class MultipartSink:
    """``write`` bytes; ``complete()`` or ``abort()`` ends it.

    Full parts are uploaded by a thread while the writer goes on; at most one part being
    filled, ``_QUEUED_PARTS`` waiting and one uploading are held in memory. An upload that
    fails is raised by the next ``write`` or by ``complete``.
    """

    def __init__(
        self,
        store: ObjectStore,
        key: str,
        *,
        part_size: int,
        content_type: str,
        content_disposition: str | None = None,
        resumed: tuple[dict[str, Any], bytes] | None = None,
    ) -> None:
        """A new upload of ``key``; with ``resumed`` (a :meth:`suspend`'s state and tail), the same upload goes on."""
        self._store, self.key = store, key
        self._part_size = part_size
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._numbered = 0
        self.size = 0
        if resumed is None:
            self.upload_id = store.start_upload(key, content_type=content_type, content_disposition=content_disposition)
        else:
            state, tail = resumed
            self.upload_id = str(state["upload_id"])
            self._part_size = int(state["part_size"])
            self._parts = [{"PartNumber": int(p["PartNumber"]), "ETag": str(p["ETag"])} for p in state["parts"]]
            self._numbered = int(state["numbered"])
            self.size = int(state["size"])
            self._buffer += tail
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=_QUEUED_PARTS)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self._part_size:
            chunk = bytes(self._buffer[: self._part_size])
            del self._buffer[: self._part_size]
            self._send(chunk)
        return len(data)

    def _send(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        number = self._numbered + 1
        if number > _MAX_PARTS:
            raise RuntimeError("export exceeds the largest object a multipart upload can hold")
        self._numbered = number
        if number % _GROW_EVERY == 0:
            self._part_size *= 2
        if self._thread is None:
            self._thread = threading.Thread(target=self._upload_parts, name="upload-parts", daemon=True)
            self._thread.start()
        self._queue.put((number, chunk))

    def _upload_parts(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the writer is told on its next write
            number, chunk = item
            try:
                etag = self._store.upload_part(self.key, self.upload_id, number, chunk)
            except BaseException as error:
                self._error = error
                continue
            self._parts.append({"PartNumber": number, "ETag": etag})

    def _drain(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def complete(self) -> int:
        if self._buffer or not self._numbered:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        self._drain()
        if self._error is not None:
            raise self._error
        self._store.complete_upload(self.key, self.upload_id, self._parts)
        return self.size

    def suspend(self) -> tuple[dict[str, Any], bytes]:
        """Upload every full part and stop: the state a resumed sink needs, and the bytes not yet in a part.

        The upload stays open; a sink made with ``resumed=`` (in another process) goes on with it.
        """
        self._drain()
        if self._error is not None:
            raise self._error
        state = {
            "key": self.key,
            "upload_id": self.upload_id,
            "part_size": self._part_size,
            "parts": sorted(self._parts, key=lambda part: int(part["PartNumber"])),
            "numbered": self._numbered,
            "size": self.size,
        }
        return state, bytes(self._buffer)

    def abort(self) -> None:
        self._buffer.clear()
        self._drain()
        self._store.abort_upload(self.key, self.upload_id)
