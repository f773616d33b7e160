"""A write-only file that uploads itself in parts: the sink every artefact streams into."""

from __future__ import annotations

from typing import Any

from ..adapters.ports import ObjectStore

# S3 allows at most 10,000 parts; grow the part size so a large export never runs out.
_MAX_PARTS = 10_000
_GROW_EVERY = 1_000


class MultipartSink:
    """``write`` bytes; ``complete()`` or ``abort()`` ends it. At most one part is held in memory."""

    def __init__(
        self,
        store: ObjectStore,
        key: str,
        *,
        part_size: int,
        content_type: str,
        content_disposition: str | None = None,
    ) -> None:
        self._store, self.key = store, key
        self._part_size = part_size
        self.upload_id = store.start_upload(key, content_type=content_type, content_disposition=content_disposition)
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self._part_size:
            chunk = bytes(self._buffer[: self._part_size])
            del self._buffer[: self._part_size]
            self._upload(chunk)
        return len(data)

    def _upload(self, chunk: bytes) -> None:
        number = len(self._parts) + 1
        if number > _MAX_PARTS:
            raise RuntimeError("export exceeds the largest object a multipart upload can hold")
        etag = self._store.upload_part(self.key, self.upload_id, number, chunk)
        self._parts.append({"PartNumber": number, "ETag": etag})
        if number % _GROW_EVERY == 0:
            self._part_size *= 2

    def complete(self) -> int:
        if self._buffer or not self._parts:
            self._upload(bytes(self._buffer))
            self._buffer.clear()
        self._store.complete_upload(self.key, self.upload_id, self._parts)
        return self.size

    def abort(self) -> None:
        self._buffer.clear()
        self._store.abort_upload(self.key, self.upload_id)
