"""Running one capture: claim, pattern-subscribe for the window, stream masked CSV rows to S3.

Seed 000's dataset exporter as a job of the one job model (kind = capture). The claim and
the lease are the export worker's (a conditional UPDATE on status and attempt); the window
starts at the claim and lasts ``duration_seconds``. Rows go through a small text buffer into
the S3 multipart sink, so memory does not grow with the number of messages. A capture is
never retried (its window is gone): rows are created with ``max_retries = 0``, so a run
that dies is failed by the sweeper when its lease lapses. A Redis disconnect inside the
window is survived: the run resubscribes with backoff and records the gap it could not see.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from aws_lambda_powertools import Logger

from .archive import csv_cell, neutralise
from .export_job import LeaseLost, Outcome, RunResult, short_error
from .masking import Masker
from .models import CaptureMessage, CaptureParameters, Export
from .repository import ExportsRepository
from .storage import MultipartSink

logger = Logger(child=True)

CSV_HEADER = ("timestamp", "channel", "event", "user", "data")
# Where a NEF event-exposure message names its event type and its subscriber, in that order.
EVENT_KEYS = ("event", "eventType", "type", "monitoringType", "notificationType")
USER_KEYS = ("supi", "gpsi", "pei", "imsi", "msisdn", "externalId", "imei", "ueIpv4Addr", "ueIpv6Addr")
_CSV_FLUSH_BYTES = 256 * 1024
MAX_GAPS_LISTED = 100
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


@dataclass(frozen=True)
class CaptureConfig:
    exports_bucket: str
    lease_seconds: int
    progress_interval_seconds: float
    part_size_bytes: int
    expiration_days: int
    link_across_captures: bool = False
    read_timeout_seconds: float = 0.25
    reconnect_initial_seconds: float = 0.05
    reconnect_max_seconds: float = 2.0
    subscribe_timeout_seconds: float = 5.0


@dataclass
class CapturePorts:
    jobs: ExportsRepository
    s3: Any
    redis: Callable[[], redis.Redis]  # a new client, retries off: a disconnect must surface
    masker: Masker  # holds the key; salted per capture by the run


def capture_key(export: Export) -> str:
    """``outputs/{creator_id}_{export_id}_{YYYYMMDDHHMMSS}.csv``, from the creation time."""
    creator = _KEY_UNSAFE.sub("-", export.creator_id)
    return f"outputs/{creator}_{export.export_id}_{export.created_at.astimezone(UTC):%Y%m%d%H%M%S}.csv"


def rfc3339_ms(epoch_seconds: float) -> str:
    """``2026-11-22T10:00:00.123Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def capture_row(masker: Masker, channel: bytes | str, payload: bytes | str, received: float) -> list[str]:
    """One CSV row (timestamp, channel, event, user, data) with every identity masked.

    A JSON object gives its event type and subscriber from the first of ``EVENT_KEYS`` and
    ``USER_KEYS`` present; the rest of it, masked, is ``data``. Anything else is kept, masked,
    with an empty event.
    """
    channel_text = masker.mask_text(_text(channel))
    event, user, data = "", "", None
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        document = _NOT_JSON
    if document is _NOT_JSON:
        text = _text(payload)
        user = masker.first_identity(text) or ""
        data = masker.mask_text(text)
    elif isinstance(document, dict):
        rest = dict(document)
        for key in EVENT_KEYS:
            if isinstance(rest.get(key), str):
                event = masker.mask_text(rest.pop(key))
                break
        for key in USER_KEYS:
            value = rest.get(key)
            if value not in (None, "") and not isinstance(value, dict | list):
                user = masker.mask_whole(rest.pop(key), key)
                break
        else:
            user = masker.first_identity(_text(payload)) or ""
        data = masker.mask_json(rest)
    else:
        user = masker.first_identity(_text(payload)) or ""
        data = masker.mask_json(document)
    return [rfc3339_ms(received), neutralise(channel_text), neutralise(event), neutralise(user), csv_cell(data)]


_NOT_JSON = object()


@dataclass
class _Window:
    """What the run saw: rows, and the gaps it could not see."""

    start: float  # epoch seconds
    end: float
    rows: int = 0
    gaps: list[dict[str, str]] = field(default_factory=list)
    gaps_count: int = 0
    subscribed_once: bool = False

    def gap(self, start: float, end: float) -> None:
        self.gaps_count += 1
        if len(self.gaps) < MAX_GAPS_LISTED:
            self.gaps.append({"start": rfc3339_ms(start), "end": rfc3339_ms(end)})

    def details(self, parameters: CaptureParameters) -> dict[str, Any]:
        return {
            "channel": parameters.channel,
            "duration_seconds": parameters.duration_seconds,
            "window": {"start": rfc3339_ms(self.start), "end": rfc3339_ms(self.end)},
            "rows": self.rows,
            "gaps": self.gaps,
            "gaps_count": self.gaps_count,
        }

    def message(self) -> str | None:
        if not self.gaps_count:
            return None
        listed = ", ".join(f"{g['start']} to {g['end']}" for g in self.gaps[:3])
        more = f" and {self.gaps_count - 3} more" if self.gaps_count > 3 else ""
        return f"Redis disconnected {self.gaps_count} time(s); messages in these gaps were not captured: {listed}{more}"


class _Subscription:
    """A pattern subscription that can be re-made; every failure surfaces as a connection error."""

    def __init__(self, connect: Callable[[], redis.Redis], pattern: str, config: CaptureConfig) -> None:
        self._connect, self._pattern, self._config = connect, pattern, config
        self._client: redis.Redis | None = None
        self.pubsub: Any = None
        self.failures = 0  # failed attempts of the last reopen()

    def open(self) -> None:
        self.close()
        self._client = self._connect()
        self.pubsub = self._client.pubsub()
        self.pubsub.psubscribe(self._pattern)
        deadline = time.monotonic() + self._config.subscribe_timeout_seconds
        while True:  # subscribed only once the server confirms it
            reply = self.pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if reply is not None and reply["type"] == "psubscribe":
                return
            if time.monotonic() >= deadline:
                raise redis.TimeoutError("no psubscribe confirmation")

    def close(self) -> None:
        for closeable in (self.pubsub, self._client):
            if closeable is not None:
                with contextlib.suppress(Exception):  # a broken connection may fail to close; dropped anyway
                    closeable.close()
        self.pubsub, self._client = None, None

    def reopen(self, until_monotonic: float) -> bool:
        """Resubscribe with backoff until it works (True) or the window ends (False)."""
        delay = self._config.reconnect_initial_seconds
        self.failures = 0
        while time.monotonic() < until_monotonic:
            try:
                self.open()
                return True
            except _CONNECTION_ERRORS as error:
                self.failures += 1
                self.close()
                logger.warning("redis subscribe failed; retrying", extra={"error": type(error).__name__})
                time.sleep(max(0.0, min(delay, until_monotonic - time.monotonic())))
                delay = min(delay * 2, self._config.reconnect_max_seconds)
        return False


def _record(export: Export, ports: CapturePorts, config: CaptureConfig, owner: str, sink: MultipartSink) -> _Window:
    """Subscribe for the window and write its rows into ``sink``; the window's account."""
    parameters = export.parameters
    assert isinstance(parameters, CaptureParameters)
    masker = ports.masker.for_capture(str(export.export_id), link_across_captures=config.link_across_captures)
    started = time.time()
    end_monotonic = time.monotonic() + parameters.duration_seconds
    window = _Window(start=started, end=started + parameters.duration_seconds)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    next_beat = time.monotonic() + config.progress_interval_seconds
    reported_gaps = 0

    def heartbeat() -> None:
        nonlocal next_beat, reported_gaps
        next_beat = time.monotonic() + config.progress_interval_seconds
        new_gaps = window.gaps_count != reported_gaps
        if not ports.jobs.renew(
            export.export_id,
            owner=owner,
            lease_seconds=config.lease_seconds,
            rows_written=window.rows,
            rows_total=None,
            details=window.details(parameters) if new_gaps else None,
            message=window.message() if new_gaps else None,
        ):
            raise LeaseLost(str(export.export_id))
        reported_gaps = window.gaps_count

    subscription = _Subscription(ports.redis, parameters.channel, config)
    try:
        window.subscribed_once = subscription.reopen(end_monotonic)
        if subscription.failures:  # the start of the window was not seen
            window.gap(started, min(time.time(), window.end))
        while window.subscribed_once and (remaining := end_monotonic - time.monotonic()) > 0:
            try:
                reply = subscription.pubsub.get_message(timeout=min(remaining, config.read_timeout_seconds))
            except _CONNECTION_ERRORS as error:
                gap_start = time.time()
                logger.warning("redis connection lost inside the window", extra={"error": type(error).__name__})
                subscription.close()
                subscription.reopen(end_monotonic)
                window.gap(gap_start, min(time.time(), window.end))
                heartbeat()
                continue
            if reply is not None and reply["type"] == "pmessage":
                writer.writerow(capture_row(masker, reply["channel"], reply["data"], time.time()))
                window.rows += 1
                if buffer.tell() >= _CSV_FLUSH_BYTES:
                    sink.write(buffer.getvalue().encode("utf-8"))
                    buffer.seek(0)
                    buffer.truncate()
            if time.monotonic() >= next_beat:
                heartbeat()
    finally:
        subscription.close()
    sink.write(buffer.getvalue().encode("utf-8"))
    return window


def run_capture(message: CaptureMessage, ports: CapturePorts, config: CaptureConfig, *, owner: str) -> RunResult:
    """Run the one attempt of a capture. Raises only when the outcome could not be recorded."""
    export_id = message.export_id
    if not ports.jobs.claim(export_id, message.attempt, owner=owner, lease_seconds=config.lease_seconds):
        logger.info("capture message skipped: the capture is gone, already claimed, or finished")
        return RunResult(Outcome.SKIPPED)
    export = ports.jobs.get(export_id)
    if export is None:
        return RunResult(Outcome.SKIPPED)
    if not isinstance(export.parameters, CaptureParameters):
        ports.jobs.fail(export_id, owner=owner, message="not a capture")
        return RunResult(Outcome.FAILED)
    logger.info("capture claimed", extra={"duration_seconds": export.parameters.duration_seconds})
    key = capture_key(export)
    try:
        sink = MultipartSink(
            ports.s3,
            config.exports_bucket,
            key,
            part_size=config.part_size_bytes,
            content_type="text/csv; charset=utf-8",
            content_disposition=f'attachment; filename="capture_{export.export_id}.csv"',
        )
        try:
            window = _record(export, ports, config, owner, sink)
            if not window.subscribed_once:
                raise ConnectionError("could not subscribe to Redis at any time during the window")
            size = sink.complete()
        except BaseException:
            sink.abort()
            raise
    except LeaseLost:
        logger.warning("lease lost: the capture was failed by the sweeper or deleted")
        return RunResult(Outcome.LEASE_LOST)
    except Exception as error:
        logger.exception("capture failed")
        ports.jobs.fail(export_id, owner=owner, message=f"capture failed: {short_error(error)}")
        return RunResult(Outcome.FAILED)
    if not ports.jobs.complete(
        export_id,
        owner=owner,
        s3_key=key,
        size_bytes=size,
        rows_written=window.rows,
        details=window.details(export.parameters),
        expiration_days=config.expiration_days,
        message=window.message(),
    ):
        if ports.jobs.get(export_id) is None:  # deleted while running: leave nothing behind
            ports.s3.delete_object(Bucket=config.exports_bucket, Key=key)
        return RunResult(Outcome.LEASE_LOST)
    logger.info("capture completed", extra={"rows": window.rows, "bytes": size, "gaps": window.gaps_count})
    return RunResult(Outcome.COMPLETED, rows=window.rows, bytes=size)
