"""A capture's rows formatted on more than one core: child processes mask, the run's process reads Redis.

Masking is what caps a capture on one core. With ``CAPTURE_PROCESSES`` = N > 1 the run's own
process keeps subscribing, reading messages and taking each one's receive time; it gathers them
into batches (``batch_messages``, or whatever arrived within ``batch_seconds`` so a slow
channel's rows are not held) and hands the batches round-robin to N - 1 child processes. Each
child holds the same :class:`Masker` (the same key and per-capture salt) and answers a batch with
its CSV text; the run's process writes the answers in the order the batches were sent, so the
CSV is byte for byte the one the one-process run writes for the same messages and receive times.

Only ``Process`` and ``Pipe``: Lambda has no ``/dev/shm``, which ``Pool``, ``Queue``, managers and
shared memory need. At most ``in_flight`` batches wait per child, so memory stays bounded; a
reader that outruns its children waits for the oldest answer (Redis buffers meanwhile). A child
that dies fails the run with :class:`RowWorkerDied`: a batch is never silently missing.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, Protocol

from ..output.cells import CsvText
from .masking import Masker
from .rows import CSV_HEADER, capture_row

# (channel, payload, receive time in epoch seconds), as the run read it.
Message = tuple[bytes | str, bytes | str, float]

BATCH_MESSAGES = 500
BATCH_SECONDS = 0.05
IN_FLIGHT = 2  # batches sent to one child and not yet answered
STOP_SECONDS = 10.0
_READY = b"ready"


class RowWorkerDied(RuntimeError):
    """A child process formatting a capture's rows ended before answering; the capture is incomplete."""


def csv_text(rows: Iterable[Iterable[str]]) -> bytes:
    """Rows as the capture writes them: ``\\r\\n`` line ends, UTF-8."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def format_batches(connection: Connection, masker: Masker) -> None:
    """A child's life: answer each batch of messages with its masked CSV text until told to stop (None).

    A thread takes the batches off the pipe as they come, so the parent's send never waits on
    this child's answer (both ends of a full pipe writing at once would wait forever); the parent
    sends at most its in-flight limit ahead, which bounds what waits here.
    """
    batches: queue.SimpleQueue[list[Message] | None] = queue.SimpleQueue()

    def take() -> None:
        while True:
            try:
                batch = connection.recv()
            except EOFError:  # the parent is gone
                batch = None
            batches.put(batch)
            if batch is None:
                return

    threading.Thread(target=take, name="capture-batches", daemon=True).start()
    connection.send_bytes(_READY)
    while (batch := batches.get()) is not None:
        connection.send_bytes(csv_text(capture_row(masker, channel, data, at) for channel, data, at in batch))
    connection.close()


class CaptureRows(Protocol):
    """Where a run puts the messages it reads; the CSV (header first) goes to the run's output."""

    def add(self, channel: bytes | str, data: bytes | str, received: float) -> None: ...
    def due_in(self) -> float: ...
    def tick(self) -> None: ...
    def finish(self) -> None: ...
    def close(self) -> None: ...


def capture_rows(
    masker: Masker, write: Callable[[bytes], Any], *, processes: int, start_method: str, header: bool = True
) -> CaptureRows:
    """One process: rows written where they are read; more: formatted by ``processes - 1`` children.

    Without ``header``, the rows go on a CSV an earlier run started.
    """
    if processes <= 1:
        return InProcessRows(masker, write, header=header)
    context = multiprocessing.get_context(start_method)
    return ParallelRows(masker, write, workers=processes - 1, context=context, header=header)


class InProcessRows:
    """The one-process path: every message masked and written where it is read."""

    def __init__(self, masker: Masker, write: Callable[[bytes], Any], *, header: bool = True) -> None:
        self._masker = masker
        self._text = CsvText(write)
        if header:
            self._text.row(CSV_HEADER)

    def add(self, channel: bytes | str, data: bytes | str, received: float) -> None:
        self._text.row(capture_row(self._masker, channel, data, received))

    def due_in(self) -> float:
        return float("inf")

    def tick(self) -> None:
        """Nothing waits here: rows are written as they come."""

    def finish(self) -> None:
        self._text.flush()

    def close(self) -> None:
        """No processes to end."""


class _Child:
    """One child process and its end of the pipe; any failure to reach it is :class:`RowWorkerDied`."""

    def __init__(self, context: BaseContext, masker: Masker, number: int) -> None:
        self._connection, child_end = context.Pipe()
        self.process = context.Process(  # type: ignore[attr-defined]
            target=format_batches, args=(child_end, masker), name=f"capture-rows-{number}", daemon=True
        )
        self.process.start()
        child_end.close()
        self.in_flight = 0

    def wait_ready(self) -> None:
        if self._receive() != _READY:
            raise RowWorkerDied(f"capture worker {self.process.name} did not start")

    def send(self, batch: list[Message]) -> None:
        try:
            self._connection.send(batch)
        except OSError as error:
            raise self.died() from error
        self.in_flight += 1

    def ready(self) -> bool:
        """An answer (or the child's end) is waiting."""
        return self._connection.poll()

    def receive(self) -> bytes:
        answer = self._receive()
        self.in_flight -= 1
        return answer

    def _receive(self) -> bytes:
        try:
            return self._connection.recv_bytes()
        except (EOFError, OSError) as error:
            raise self.died() from error

    def stop(self) -> None:
        """Tell the child to end and wait for it; an unclean end is :class:`RowWorkerDied`."""
        try:
            self._connection.send(None)
        except OSError as error:
            raise self.died() from error
        self.process.join(STOP_SECONDS)
        if self.process.exitcode != 0:
            raise self.died()
        self._connection.close()

    def died(self) -> RowWorkerDied:
        self.process.join(1.0)
        code = self.process.exitcode
        how = "is not answering" if code is None else f"ended with exit code {code}"
        return RowWorkerDied(
            f"capture worker process {self.process.name} (pid {self.process.pid}) {how} "
            "before all its rows were written; the capture is incomplete"
        )

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(1.0)
        self._connection.close()


class ParallelRows:
    """Messages batched to ``workers`` child processes; their CSV written back in the order read."""

    def __init__(
        self,
        masker: Masker,
        write: Callable[[bytes], Any],
        *,
        workers: int,
        context: BaseContext,
        batch_messages: int = BATCH_MESSAGES,
        batch_seconds: float = BATCH_SECONDS,
        in_flight: int = IN_FLIGHT,
        header: bool = True,
    ) -> None:
        self._write, self._batch_messages, self._batch_seconds = write, batch_messages, batch_seconds
        self._in_flight = in_flight
        self._children: list[_Child] = []
        try:
            for number in range(workers):
                self._children.append(_Child(context, masker, number))
            for child in self._children:
                child.wait_ready()
        except BaseException:
            self.close()
            raise
        self._sent: deque[_Child] = deque()  # the child of every unanswered batch, oldest first
        self._next = 0
        self._batch: list[Message] = []
        self._batch_since = 0.0
        self._collect_at = 0.0
        if header:
            write(csv_text([CSV_HEADER]))

    @property
    def pids(self) -> list[int | None]:
        return [child.process.pid for child in self._children]

    def add(self, channel: bytes | str, data: bytes | str, received: float) -> None:
        if not self._batch:
            self._batch_since = time.monotonic()
        self._batch.append((channel, data, received))
        if len(self._batch) >= self._batch_messages:
            self._send()

    def due_in(self) -> float:
        """Seconds until the open batch is sent whatever its size (infinity when none is open)."""
        if not self._batch:
            return float("inf")
        return max(0.0, self._batch_since + self._batch_seconds - time.monotonic())

    def tick(self) -> None:
        """Send the open batch once it waited long enough; write the answers back (looked at that often)."""
        if self._batch and self.due_in() == 0.0:
            self._send()
        elif self._sent and time.monotonic() >= self._collect_at:
            self._collect()

    def finish(self) -> None:
        """Every message written, in order, and the children ended cleanly."""
        if self._batch:
            self._send()
        while self._sent:
            self._write_oldest()
        for child in self._children:
            child.stop()
        self._children = []

    def close(self) -> None:
        """End whatever child is still running (after ``finish``, none is)."""
        for child in self._children:
            child.kill()
        self._children = []

    def _send(self) -> None:
        child = self._children[self._next]
        self._next = (self._next + 1) % len(self._children)
        while child.in_flight >= self._in_flight:
            self._write_oldest()
        child.send(self._batch)
        self._sent.append(child)
        self._batch = []
        self._collect()

    def _collect(self) -> None:
        """Write the answers already back, in order (a poll per batch, not per message)."""
        while self._sent and self._sent[0].ready():
            self._write_oldest()
        self._collect_at = time.monotonic() + self._batch_seconds

    def _write_oldest(self) -> None:
        self._write(self._sent.popleft().receive())
