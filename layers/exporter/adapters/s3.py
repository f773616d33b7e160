"""S3 behind the :class:`~exporter.adapters.ports.ObjectStore` port: one bucket per instance.

The boto3 client is passed in; nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import IO, Any

from botocore.exceptions import ClientError

_MISSING = ("NoSuchKey", "404", "NotFound")
_READ_CHUNK = 1024 * 1024


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store:
    """The exports bucket (uploads, download URLs, deletes) or the source bucket (image reads)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self.bucket = s3, bucket

    def start_upload(self, key: str, *, content_type: str, content_disposition: str | None) -> str:
        extra = {"ContentDisposition": content_disposition} if content_disposition else {}
        response = self._s3.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type, **extra)
        return str(response["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        response = self._s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        return str(response["ETag"])

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[dict[str, Any]]) -> None:
        self._s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": list(parts)}
        )

    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:  # already gone: nothing left to abort
            if _code(error) != "NoSuchUpload":
                raise

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or ``None`` when there is no such object."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise
        body: bytes = response["Body"].read()
        return body

    def put(self, key: str, body: bytes | IO[bytes]) -> None:
        """One whole object (a file is read as it is sent)."""
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def chunks(self, key: str) -> Iterator[bytes]:
        response = self._s3.get_object(Bucket=self.bucket, Key=key)
        yield from response["Body"].iter_chunks(_READ_CHUNK)

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)

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
