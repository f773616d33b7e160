"""Fault injection for the local stack: a Lambda process SIGKILLs itself at a named point of a job.

Off unless the stack is started with ``LOCAL_FAULT_FILE`` set (the tests do). Then, at each
point below, the worker process checks that file; when it names the point, the file is
renamed to ``<file>.fired`` (so the restarted process does not fire it again) and the
process kills itself with SIGKILL, as a Lambda container is lost: no ``finally``, no abort,
no reply to the event source. ``hold:<point>`` instead makes the process wait at the point
(writing ``<file>.held``) until the file is removed, so a test can act on a job mid-run.

| point | where the process dies |
|---|---|
| ``before_claim`` | the batch is received, the handler has not run (the job is still pending) |
| ``mid_stream`` | the job is claimed and its upload open: at the first image read |
| ``after_upload`` | every part is uploaded, the multipart upload is not completed |
| ``before_complete`` | the object is in S3, the job row is still ``processing`` |
| ``after_complete`` | the job row is ``completed``, the message is not deleted yet |
| ``after_checkpoint`` | a run stored its checkpoint (the job is pending again) and has not sent the next message |

The hooks are boto3 event handlers on the process's default session and a wrapper around the
handler, so production code is not touched.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.inflight import default_session_events

log = logging.getLogger("local.faults")

FAULT_FILE_ENV = "LOCAL_FAULT_FILE"
HOLD_AT_MOST_SECONDS = 300.0
POINTS = ("before_claim", "mid_stream", "after_upload", "before_complete", "after_complete")
# Only an export that checkpoints reaches it (a retry's message is sent at the same call).
AFTER_CHECKPOINT = "after_checkpoint"
_BOTO_POINTS = {
    "after-call.s3.GetObject": "mid_stream",
    "before-call.s3.CompleteMultipartUpload": "after_upload",
    "after-call.s3.CompleteMultipartUpload": "before_complete",
    "before-call.sqs.SendMessage": AFTER_CHECKPOINT,
}

Handler = Callable[[dict[str, Any], Any], Any]


def _fault_file() -> Path | None:
    path = os.environ.get(FAULT_FILE_ENV)
    return Path(path) if path else None


def _hold(path: Path, name: str) -> None:
    """Wait here while the fault file exists (at most ``HOLD_AT_MOST_SECONDS``), then go on."""
    log.warning("fault injection: process %d holds at %s until %s is removed", os.getpid(), name, path)
    path.with_name(path.name + ".held").write_text(name)
    deadline = time.monotonic() + HOLD_AT_MOST_SECONDS
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    log.warning("fault injection: process %d goes on from %s", os.getpid(), name)


def point(name: str) -> None:
    """Die here if the fault file names this point; wait here if it says ``hold:<point>``."""
    path = _fault_file()
    if path is None or not path.exists():
        return
    try:
        wanted = path.read_text().strip()
    except OSError:
        return
    if wanted == f"hold:{name}":
        _hold(path, name)
        return
    if wanted != name:
        return
    try:
        path.replace(path.with_name(path.name + ".fired"))
    except OSError:
        return  # another thread fired it first
    log.warning("fault injection: SIGKILL of process %d at %s", os.getpid(), name)
    logging.shutdown()
    os.kill(os.getpid(), signal.SIGKILL)


def _boto_hook(name: str) -> Callable[..., None]:
    def hook(**_: Any) -> None:
        point(name)

    return hook


def wrap(handler: Handler) -> Handler:
    """The handler with the points around it; the handler itself when fault injection is off."""
    if _fault_file() is None:
        return handler

    def invoke(event: dict[str, Any], context: Any) -> Any:
        point("before_claim")
        result = handler(event, context)
        point("after_complete")
        return result

    return invoke


def install() -> None:
    """The boto3 points, on this process's default session; before any boto3 client is made."""
    if _fault_file() is None:
        return
    events = default_session_events()
    for event, name in _BOTO_POINTS.items():
        events.register(event, _boto_hook(name), unique_id=f"local-fault-{event}")
