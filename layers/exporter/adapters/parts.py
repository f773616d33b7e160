"""The parts other services upload for an applications export: the port and its S3 adapter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from botocore.exceptions import ClientError


class PartStore(Protocol):
    """Put, size, stream and presigned uploads of part objects in one bucket."""

    bucket: str

    def put(self, key: str, body: bytes, *, content_type: str) -> None: ...
    def size(self, key: str) -> int | None:
        """The object's size, or ``None`` when there is no such object."""
        ...

    def chunks(self, key: str, *, chunk_bytes: int) -> Iterator[bytes]: ...
    def upload_url(self, key: str, *, content_type: str, ttl_seconds: int) -> str: ...


class S3PartStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self.bucket = s3, bucket

    def put(self, key: str, body: bytes, *, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def size(self, key: str) -> int | None:
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def chunks(self, key: str, *, chunk_bytes: int) -> Iterator[bytes]:
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()

    def upload_url(self, key: str, *, content_type: str, ttl_seconds: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=ttl_seconds,
        )
        return url
