"""What a local Lambda process holds while it runs, kept on disk so the supervisor can clean up after it.

A Lambda container that dies mid-invocation leaves two things behind: the SQS messages it
had received (invisible until their visibility timeout ends) and the multipart uploads it
had started (kept until the bucket's abort-incomplete-multipart-uploads rule, a day in
AWS). Each local Lambda process writes both to a small JSON journal (``LOCAL_JOURNAL``);
when the supervisor finds the process dead it returns the messages to the queue at once
(``ChangeMessageVisibility`` 0) and aborts the uploads, so the job is picked up again in
seconds and nothing is left half-written in the bucket.

An upload a job's checkpoint holds (a long export handed on to a next run) is no longer the
process's: it is dropped from the journal when the checkpoint's last object is stored, so the
next run goes on with it even if this process dies afterwards.

Uploads are followed through boto3's event hooks on the process's default session, so the
handlers and the domain package are not touched.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from exporter.jobs.checkpoints import CHECKPOINTS_PREFIX

log = logging.getLogger("local.supervisor")

JOURNAL_ENV = "LOCAL_JOURNAL"


@dataclass
class Journal:
    """The in-flight messages and open uploads of this process, rewritten whole on every change."""

    path: Path
    messages: dict[str, str] = field(default_factory=dict)  # receipt handle → queue URL
    uploads: dict[str, tuple[str, str]] = field(default_factory=dict)  # upload id → (bucket, key)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def received(self, queue_url: str, receipt_handles: list[str]) -> None:
        with self._lock:
            self.messages.update(dict.fromkeys(receipt_handles, queue_url))
            self._write()

    def settled(self, receipt_handles: list[str]) -> None:
        with self._lock:
            for handle in receipt_handles:
                self.messages.pop(handle, None)
            self._write()

    def upload_started(self, bucket: str, key: str, upload_id: str) -> None:
        with self._lock:
            self.uploads[upload_id] = (bucket, key)
            self._write()

    def upload_ended(self, upload_id: str) -> None:
        with self._lock:
            if self.uploads.pop(upload_id, None) is not None:
                self._write()

    def handed_over(self, export_id: str) -> None:
        """The job's upload now belongs to its checkpoint: a next run goes on with it, so it is not aborted."""
        with self._lock:
            for upload_id in [u for u, (_b, key) in self.uploads.items() if export_id in key]:
                del self.uploads[upload_id]
            self._write()

    def _write(self) -> None:
        document = {
            "messages": [{"queue_url": q, "receipt_handle": h} for h, q in self.messages.items()],
            "uploads": [{"bucket": b, "key": k, "upload_id": u} for u, (b, k) in self.uploads.items()],
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document))
        temporary.replace(self.path)


_journal: Journal | None = None


def journal() -> Journal | None:
    """This process's journal, if the supervisor gave it one (``LOCAL_JOURNAL``)."""
    return _journal


def _remember_upload(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["local_upload"] = (params.get("Bucket"), params.get("Key"), params.get("UploadId"))


def _upload_created(parsed: dict[str, Any], **_: Any) -> None:
    if _journal is not None and parsed.get("UploadId"):
        _journal.upload_started(str(parsed.get("Bucket")), str(parsed.get("Key")), str(parsed["UploadId"]))


def _upload_ended(http_response: Any, context: dict[str, Any], **_: Any) -> None:
    bucket_key_id = context.get("local_upload")
    if _journal is not None and bucket_key_id and getattr(http_response, "status_code", 500) < 300:
        _journal.upload_ended(str(bucket_key_id[2]))


def _remember_put(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["local_put"] = str(params.get("Key", ""))


def _checkpoint_stored(http_response: Any, context: dict[str, Any], **_: Any) -> None:
    """A checkpoint's tail is the last object a run keeps before the job is handed on with its upload."""
    key = context.get("local_put", "")
    if _journal is None or getattr(http_response, "status_code", 500) >= 300:
        return
    if key.startswith(CHECKPOINTS_PREFIX) and key.endswith("/tail"):
        _journal.handed_over(key[len(CHECKPOINTS_PREFIX) :].split("/", 1)[0])


def default_session_events() -> Any:
    """The event emitter of boto3's default session, which every ``boto3.client(...)`` of this process copies."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    return session.events


def install() -> None:
    """Keep this process's journal, if ``LOCAL_JOURNAL`` names one; before any boto3 client is made."""
    global _journal
    path = os.environ.get(JOURNAL_ENV)
    if not path:
        return
    _journal = Journal(Path(path))
    _journal._write()
    events = default_session_events()
    events.register("after-call.s3.CreateMultipartUpload", _upload_created)
    for operation in ("CompleteMultipartUpload", "AbortMultipartUpload"):
        events.register(f"before-parameter-build.s3.{operation}", _remember_upload)
        events.register(f"after-call.s3.{operation}", _upload_ended)
    events.register("before-parameter-build.s3.PutObject", _remember_put)
    events.register("after-call.s3.PutObject", _checkpoint_stored)


def read(path: Path) -> dict[str, list[dict[str, str]]]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"messages": [], "uploads": []}
    return {"messages": list(document.get("messages", [])), "uploads": list(document.get("uploads", []))}


def release(path: Path, name: str) -> tuple[int, int]:
    """What the dead process ``name`` held: its messages back to the queue now, its uploads aborted."""
    held = read(path)
    path.unlink(missing_ok=True)
    returned = aborted = 0
    if held["messages"]:
        returned = _return_messages(held["messages"], name)
    if held["uploads"]:
        aborted = _abort_uploads(held["uploads"], name)
    return returned, aborted


def _return_messages(messages: list[dict[str, str]], name: str) -> int:
    sqs, returned = boto3.client("sqs"), 0
    for message in messages:
        try:
            sqs.change_message_visibility(
                QueueUrl=message["queue_url"], ReceiptHandle=message["receipt_handle"], VisibilityTimeout=0
            )
            returned += 1
        except (ClientError, BotoCoreError) as error:  # already deleted, or its receipt expired
            log.info("%s: a message it held was not returned (%s)", name, error)
    return returned


def _abort_uploads(uploads: list[dict[str, str]], name: str) -> int:
    s3, aborted = boto3.client("s3"), 0
    for upload in uploads:
        try:
            s3.abort_multipart_upload(Bucket=upload["bucket"], Key=upload["key"], UploadId=upload["upload_id"])
            aborted += 1
        except (ClientError, BotoCoreError) as error:  # completed or aborted just before the process died
            log.info("%s: upload %s not aborted (%s)", name, upload["key"], error)
    return aborted
