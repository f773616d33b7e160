"""The body of a capture's run: pattern-subscribe for the window, stream masked CSV rows into the output.

Seed 000's dataset exporter as a job kind. The claim, the lease and the upload are the
lifecycle's (:func:`exporter.jobs.lifecycle.run_job`); the window starts at the claim and
lasts ``duration_seconds``. Rows go through a small text buffer into the output, so memory
does not grow with the number of messages. A capture is never retried (its window is
gone): rows are created with ``max_retries = 0``, so a run that dies is failed by the
sweeper when its lease lapses. A Redis disconnect inside the window is survived: the run
resubscribes with backoff and records the gap it could not see. A window longer than one
run is handed over: the run checkpoints (the upload stays open, the window's account is
stored) and a next run goes on writing the same CSV; the time between the two is a gap.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from aws_lambda_powertools import Logger

from ..jobs.kind import Artefact, Continuing, JobRun
from .masking import Masker
from .model import CaptureParameters
from .parallel import CaptureRows, capture_rows
from .rows import rfc3339_ms
from .subscription import CONNECTION_ERRORS, Subscription, SubscriptionConfig

logger = Logger(child=True)

MAX_GAPS_LISTED = 100
# At a hand-over, what the connection already holds is read for at most this long (of the 60 s reserve).
HAND_OVER_DRAIN_SECONDS = 5.0


@dataclass
class Window:
    """What the run saw: rows, and the gaps it could not see."""

    start: float  # epoch seconds
    end: float
    rows: int = 0
    gaps: list[dict[str, str]] = field(default_factory=list)
    gaps_count: int = 0
    subscribed_once: bool = False
    open_since: float | None = None  # Redis is away right now, since then
    handovers: int = 0  # the gaps that were hand-overs from one run to the next
    handed_over_at: float | None = None  # the last run stopped reading then; the next run is not reading yet
    handing_over: bool = False  # the gap now open is a hand-over's

    def gap(self, start: float, end: float, *, handover: bool = False) -> None:
        self.open_since = None
        self.gaps_count += 1
        self.handovers += handover
        if len(self.gaps) < MAX_GAPS_LISTED:
            self.gaps.append({"start": rfc3339_ms(start), "end": rfc3339_ms(end)})

    def state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, state: dict[str, Any]) -> Window:
        return cls(**state)

    def details(self, parameters: CaptureParameters) -> dict[str, Any]:
        gaps: list[dict[str, str | None]] = [dict(g) for g in self.gaps]
        if self.open_since is not None:  # shown while it lasts, with no end yet
            gaps.append({"start": rfc3339_ms(self.open_since), "end": None})
        return {
            "channel": parameters.channel,
            "duration_seconds": parameters.duration_seconds,
            "window": {"start": rfc3339_ms(self.start), "end": rfc3339_ms(self.end)},
            "rows": self.rows,
            "gaps": gaps,
            "gaps_count": self.gaps_count + (self.open_since is not None),
        }

    def message(self) -> str | None:
        if self.open_since is not None and self.handing_over:
            return f"the capture goes on in a next run; nothing is captured since {rfc3339_ms(self.open_since)}"
        if self.open_since is not None:
            return f"Redis is unreachable since {rfc3339_ms(self.open_since)}; reconnecting"
        if not self.gaps_count:
            return None
        listed = ", ".join(f"{g['start']} to {g['end']}" for g in self.gaps[:3])
        more = f" and {self.gaps_count - 3} more" if self.gaps_count > 3 else ""
        disconnects = self.gaps_count - self.handovers
        causes = [f"Redis disconnected {disconnects} time(s)"] if disconnects else []
        if self.handovers:
            causes.append(f"the capture went on in {self.handovers} next run(s)")
        return f"{' and '.join(causes)}; messages in these gaps were not captured: {listed}{more}"


@dataclass
class CaptureRun:
    """Records one capture window; built once per container with its ports."""

    redis: Callable[[], redis.Redis]  # a new client, retries off: a disconnect must surface
    masker: Masker  # holds the key; salted per capture by the run
    max_seconds: int  # CAPTURE_MAX_SECONDS: a longer window (asked before a change of limit) is refused
    link_across_captures: bool = False
    subscription: SubscriptionConfig = field(default_factory=SubscriptionConfig)
    processes: int = 1  # CAPTURE_PROCESSES: more than one formats rows in processes - 1 children
    start_method: str = "fork"

    def __call__(self, run: JobRun) -> Artefact | Continuing:
        parameters = run.export.parameters
        assert isinstance(parameters, CaptureParameters)
        if parameters.duration_seconds > self.max_seconds:
            raise ValueError(
                f"the window of {parameters.duration_seconds} s is longer than CAPTURE_MAX_SECONDS ({self.max_seconds})"
            )
        resumed = Window.of(run.resumed["window"]) if run.resumed else None
        logger.info(
            "capture window goes on" if resumed else "capture window starts",
            extra={"duration_seconds": parameters.duration_seconds},
        )
        window = self._record(run, parameters, resumed)
        if window.handed_over_at is not None:  # the window goes on, whether this run could subscribe or not
            return run.suspend({"window": window.state()}, rows=window.rows)
        if not window.subscribed_once:
            raise ConnectionError("could not subscribe to Redis at any time during the window")
        return Artefact(
            rows=window.rows,
            details=window.details(parameters),
            message=window.message(),
            log={"gaps": window.gaps_count},
        )

    def _record(self, run: JobRun, parameters: CaptureParameters, resumed: Window | None) -> Window:
        """Subscribe for the window (or this run's share of it) and write its rows into the output; the
        window's account, with ``handed_over_at`` set when a next run is to go on."""
        masker = self.masker.for_capture(str(run.export.export_id), link_across_captures=self.link_across_captures)
        started = time.time()
        window = resumed or Window(start=started, end=started + parameters.duration_seconds)
        window_end = time.monotonic() + max(0.0, window.end - started)
        run_end = _run_end(run, window_end)
        beat = _GapReporter(run, window, parameters)
        subscription = Subscription(self.redis, parameters.channel, self.subscription)
        rows = capture_rows(
            masker, run.output.write, processes=self.processes, start_method=self.start_method, header=not resumed
        )
        with closing(rows):
            try:
                if self._subscribe(subscription, window, run_end, beat):
                    self._read(subscription, rows, window, run_end, beat)
                if run_end < window_end:  # the run's time ended before the window's: a next run goes on
                    self._hand_over(subscription, rows, window)
            finally:
                subscription.close()
            rows.finish()
        if run_end >= window_end and window.open_since is not None and window.subscribed_once:
            # unseen until the window ended: Redis away, or the hand-over to this run
            window.gap(window.open_since, window.end, handover=window.handing_over)
            window.handing_over = False
        return window

    @staticmethod
    def _hand_over(subscription: Subscription, rows: CaptureRows, window: Window) -> None:
        """What the connection already holds goes in, for a few seconds at most (a channel busier than the
        capture would never let it end); from the last message read until the next run reads is a gap."""
        last = time.time()
        if window.open_since is None and subscription.pubsub is not None:
            deadline = time.monotonic() + HAND_OVER_DRAIN_SECONDS
            with contextlib.suppress(*CONNECTION_ERRORS):
                while time.monotonic() < deadline:
                    reply = subscription.pubsub.get_message(timeout=0)
                    last = time.time()
                    if reply is None:
                        break
                    _take(reply, rows, window, last)
        window.handed_over_at = window.open_since or last
        window.handing_over = True
        window.open_since = None

    @staticmethod
    def _subscribe(subscription: Subscription, window: Window, run_end: float, beat: _GapReporter) -> bool:
        """The run's first subscription (False: the run's time ended first); the start of the window it did
        not see, or the hand-over, is a gap."""
        unseen_since = window.handed_over_at or time.time()
        window.handed_over_at = None
        window.open_since = unseen_since  # until the subscription is confirmed
        subscribed = subscription.reopen(run_end, while_waiting=beat)
        window.subscribed_once = window.subscribed_once or subscribed
        if not subscribed:
            return False  # the gap stays open
        window.open_since = None
        if window.handing_over or subscription.failures:  # the hand-over, or the start of the window, unseen
            window.gap(unseen_since, min(time.time(), window.end), handover=window.handing_over)
        window.handing_over = False
        return True

    def _read(
        self, subscription: Subscription, rows: CaptureRows, window: Window, end_monotonic: float, beat: _GapReporter
    ) -> None:
        """Every message of the window into ``rows``, its receive time taken as it is read."""
        while window.subscribed_once and (remaining := end_monotonic - time.monotonic()) > 0:
            try:
                reply = subscription.pubsub.get_message(
                    timeout=min(remaining, self.subscription.read_timeout_seconds, rows.due_in())
                )
            except CONNECTION_ERRORS as error:
                self._bridge(subscription, window, end_monotonic, error, beat)
                beat(force=True)
                continue
            if reply is not None:
                _take(reply, rows, window, time.time())
            rows.tick()
            beat()

    @staticmethod
    def _bridge(
        subscription: Subscription, window: Window, end_monotonic: float, error: Exception, beat: _GapReporter
    ) -> None:
        """Resubscribe after a lost connection, keeping the lease meanwhile, and record the gap it left."""
        gap_start = time.time()
        logger.warning("redis connection lost inside the window", extra={"error": type(error).__name__})
        subscription.close()
        window.open_since = gap_start
        beat(force=True)
        subscription.reopen(end_monotonic, while_waiting=beat)
        window.gap(gap_start, min(time.time(), window.end))


def _take(reply: dict[str, Any], rows: CaptureRows, window: Window, received: float) -> None:
    """A message of the pattern into the rows (replies of other types are not messages)."""
    if reply["type"] == "pmessage":
        rows.add(reply["channel"], reply["data"], received)
        window.rows += 1


def _run_end(run: JobRun, window_end: float) -> float:
    """When this run stops reading (monotonic): the window's end, or sooner when the run's time is shorter."""
    left = run.time_left()
    return window_end if left is None else min(window_end, time.monotonic() + max(0.0, left))


class _GapReporter:
    """The capture's heartbeat: progress at the interval, and new gaps (details and message) at once."""

    def __init__(self, run: JobRun, window: Window, parameters: CaptureParameters) -> None:
        self._run, self._window, self._parameters = run, window, parameters
        self._reported: tuple[int, float | None] = (0, None)

    def __call__(self, *, force: bool = False) -> None:
        window = self._window
        state = (window.gaps_count, window.open_since)
        if state == self._reported:
            self._run.heartbeat(window.rows, force=force)
            return
        self._run.heartbeat.report(window.rows, details=window.details(self._parameters), message=window.message())
        self._reported = state
