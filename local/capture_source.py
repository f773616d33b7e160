"""The capture function's side of AWS, emulated: its own event source mapping on the capture queue.

``python -m local.capture_source <n>`` is one warm container of the capture function: it
long-polls the capture queue with batch size 1 and runs ``capture.handler.lambda_handler``
on each record. A capture blocks its container for its window, or a run's share of a longer
one, so the stack starts ``CAPTURE_CONCURRENCY`` of these processes,
as Lambda would scale the function out, apart from the worker's process: a running capture
never holds up an export job, and Powertools' process-wide metric store and logger keys
never mix between concurrent captures.

Around each invocation it prints lines a person can follow: the window starting (duration,
channel, expected end), progress every ``CAPTURE_PROGRESS_LOG_SECONDS``, Redis gaps as the
run records them, and the outcome (rows, gaps, size, or why it failed). Those come from the
job row, read on a connection of the emulator's own; the handler's Powertools JSON logs
appear next to them, as in CloudWatch.

Stopping (SIGTERM/SIGINT) while a capture runs waits ``STOP_GRACE_SECONDS`` and then ends
the process, as Lambda ends a container: the row stays ``processing`` until its lease lapses
and the sweeper fails it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import boto3

from exporter.jobs.model import Export, Status
from local import inflight
from local.event_source import EventSourceMapping, Handler, job_id

log = logging.getLogger("local.capture")

CAPTURE_FUNCTION = "export-service-capture"
CAPTURE_BATCH_SIZE = 1  # one window per invocation
CAPTURE_TIMEOUT_SECONDS = 900.0  # the function's timeout in AWS (15 minutes)
PROGRESS_LOG_SECONDS = 10.0
STOP_GRACE_SECONDS = 5.0


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M:%S")


class CaptureLog:
    """Wraps the handler with readable start, progress, gap and outcome lines, from the job row."""

    def __init__(
        self, get_export: Callable[[UUID], Export | None], progress_seconds: float = PROGRESS_LOG_SECONDS
    ) -> None:
        self._get = get_export
        self._progress_seconds = progress_seconds
        self.running: str | None = None  # the capture in this container, if any
        self.gaps_logged = 0  # of the running capture, by watch()

    def _export(self, export_id: str) -> Export | None:
        try:
            return self._get(UUID(export_id))
        except (ValueError, TypeError):
            return None
        except Exception as error:  # the log must never break the invocation
            log.warning("capture %s: could not read its row (%s)", export_id, type(error).__name__)
            return None

    def wrap(self, handler: Handler) -> Handler:
        def invoke(event: dict[str, Any], context: Any) -> Any:
            export_id = job_id(event["Records"][0]["body"]) if event.get("Records") else "?"
            self.running, self.gaps_logged = export_id, 0
            self.started(export_id)
            stop = threading.Event()
            watcher = threading.Thread(target=self.watch, args=(export_id, stop), name="capture-progress", daemon=True)
            watcher.start()
            try:
                return handler(event, context)
            finally:
                stop.set()
                watcher.join(timeout=5)
                self.finished(export_id)
                self.running = None

        return invoke

    def started(self, export_id: str) -> None:
        export = self._export(export_id)
        parameters: Any = getattr(export, "parameters", None)
        seconds = getattr(parameters, "duration_seconds", None)
        if export is None or seconds is None:
            log.info("capture %s: received (no capture row found; the handler will skip it)", export_id)
            return
        ends = datetime.now().astimezone() + timedelta(seconds=seconds)
        log.info(
            "capture %s started: %d s on %s for %s, window ends ~%s",
            export_id,
            seconds,
            parameters.channel,
            export.creator_id,
            _clock(ends),
        )

    def log_gaps(self, export_id: str, export: Export) -> None:
        """The gaps the run has recorded that were not logged yet."""
        closed = [gap for gap in export.details.get("gaps") or [] if gap.get("end")]
        for gap in closed[self.gaps_logged :]:
            log.warning("capture %s: Redis gap %s to %s (not captured)", export_id, gap["start"], gap["end"])
        self.gaps_logged = max(self.gaps_logged, len(closed))

    def watch(self, export_id: str, stop: threading.Event) -> None:
        while not stop.wait(self._progress_seconds):
            export = self._export(export_id)
            if export is None or export.status is not Status.PROCESSING:
                continue
            self.log_gaps(export_id, export)
            left = ""
            seconds = getattr(export.parameters, "duration_seconds", None)
            if export.started_at is not None and seconds:
                remaining = export.started_at + timedelta(seconds=seconds) - datetime.now(export.started_at.tzinfo)
                if remaining.total_seconds() < 1:
                    continue  # the outcome line follows
                left = f", {int(remaining.total_seconds())} s left"
            log.info("capture %s: %d message(s) so far%s", export_id, export.progress.rows_written, left)

    def finished(self, export_id: str) -> None:
        export = self._export(export_id)
        if export is None:
            log.info("capture %s: no row after the run (deleted?)", export_id)
            return
        if export.status is Status.COMPLETED:
            window = export.details.get("window", {})
            self.log_gaps(export_id, export)
            log.info(
                "capture %s completed: window %s to %s, %d message(s), %d gap(s), %s bytes",
                export_id,
                window.get("start", "?"),
                window.get("end", "?"),
                export.progress.rows_written,
                int(export.details.get("gaps_count", 0) or 0),
                export.size_bytes,
            )
        elif export.status is Status.FAILED:
            log.warning("capture %s failed: %s", export_id, export.message)
        else:
            log.info("capture %s: %s after the run (skipped: already claimed or finished)", export_id, export.status)


def run_capture_side(stop: threading.Event, container: int = 1) -> None:
    """Poll the capture queue until ``stop`` is set; the environment is the stack's plus the capture's."""
    from capture.handler import lambda_handler  # after the environment is set, as a cold start
    from exporter.adapters.postgres import Database, connect_url
    from exporter.jobs.repository import JobsRepository

    database_url = os.environ["DATABASE_URL"]
    rows = JobsRepository(Database(lambda: connect_url(database_url)))
    region = os.environ.get("AWS_REGION", "us-east-1")
    capture_log = CaptureLog(rows.get, float(os.environ.get("CAPTURE_PROGRESS_LOG_SECONDS", PROGRESS_LOG_SECONDS)))
    mapping = EventSourceMapping(
        sqs=boto3.client("sqs", region_name=region),
        queue_url=os.environ["LOCAL_CAPTURE_QUEUE_URL"],
        queue_arn=os.environ["LOCAL_CAPTURE_QUEUE_ARN"],
        region=region,
        handler=capture_log.wrap(lambda_handler),
        container=threading.Lock(),
        stop=stop,
        batch_size=CAPTURE_BATCH_SIZE,
        function_name=CAPTURE_FUNCTION,
        timeout_seconds=CAPTURE_TIMEOUT_SECONDS,
        label="capture",
        logger=log,
    )
    poller = threading.Thread(target=mapping.run, name="capture-event-source", daemon=True)
    poller.start()
    log.info("capture container %d polling %s (batch %d)", container, mapping.queue_url, mapping.batch_size)
    while not stop.wait(0.5):
        pass
    poller.join(timeout=STOP_GRACE_SECONDS + mapping.wait_seconds)
    if poller.is_alive() and capture_log.running:
        log.warning(
            "capture %s interrupted by the shutdown; the sweeper fails it once its lease lapses",
            capture_log.running,
        )
        logging.shutdown()
        os._exit(0)  # as Lambda ends a container mid-invocation: nothing else runs


def main() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # first: a Ctrl-C during start-up is a clean stop too
        signal.signal(sig, lambda *_: stop.set())
    from local.stack import configure_logging

    configure_logging()
    inflight.install()  # before the handler makes its boto3 clients
    container = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    run_capture_side(stop, container)


if __name__ == "__main__":
    main()
