"""S3 access: the multipart sink the archive streams into, source images, download URLs.

The clients are passed in; nothing here reads the environment.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

# S3 allows at most 10,000 parts; grow the part size so a large export never runs out.
_MAX_PARTS = 10_000
_GROW_EVERY = 1_000


class MultipartSink:
    """A write-only file that uploads itself to S3 in parts; ``complete()`` or ``abort()`` ends it.

    At most one part (``part_size`` bytes) is held in memory at a time.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        part_size: int,
        content_type: str,
        content_disposition: str | None = None,
    ) -> None:
        self._s3, self.bucket, self.key = s3, bucket, key
        self._part_size = part_size
        extra = {"ContentDisposition": content_disposition} if content_disposition else {}
        self.upload_id: str = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type, **extra)[
            "UploadId"
        ]
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
        etag = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=chunk
        )["ETag"]
        self._parts.append({"PartNumber": number, "ETag": etag})
        if number % _GROW_EVERY == 0:
            self._part_size *= 2

    def complete(self) -> int:
        if self._buffer or not self._parts:
            self._upload(bytes(self._buffer))
            self._buffer.clear()
        self._s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self._parts}
        )
        return self.size

    def abort(self) -> None:
        self._buffer.clear()
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except ClientError as error:  # already gone: nothing left to abort
            if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise


class SourceImages:
    """Read-only access to the observation images in the source bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self._bucket = s3, bucket

    def get(self, key: str) -> bytes | None:
        """The image bytes, or ``None`` when there is no such object."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        body: bytes = response["Body"].read()
        return body


class ExportStore:
    """The exports bucket as the API sees it: mint download URLs and delete artefacts."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self.bucket = s3, bucket

    def download_url(self, key: str, *, filename: str, ttl_seconds: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=ttl_seconds,
        )
        return url

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)
