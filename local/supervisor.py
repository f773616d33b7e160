"""Lambda processes that come back: a local function process that dies is started again, like a new container.

The stack runs each Lambda process (the worker, each capture container) under a
:class:`Supervisor`. When one exits while the stack runs (a crash, an out-of-memory kill, a
SIGKILL), the supervisor logs it, returns the SQS messages the process held to their queue
and aborts the multipart uploads it left open (see :mod:`local.inflight`), and starts it
again: at once the first time, then after a delay that doubles (up to
``MAX_BACKOFF_SECONDS``) while it keeps dying within ``STABLE_SECONDS`` of its start.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from local import inflight

log = logging.getLogger("local.supervisor")

STABLE_SECONDS = 30.0  # a process that ran this long before dying is restarted at once
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0


def exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with {returncode}"


@dataclass
class LambdaProcess:
    """One local function process: its command, its environment and its journal of what it holds."""

    name: str
    command: list[str]
    env: dict[str, str]
    journal: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    quick_deaths: int = 0  # deaths in a row, each within STABLE_SECONDS of its start
    restart_at: float | None = None  # when a dead process is due to start again

    def start(self) -> None:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        self.journal.unlink(missing_ok=True)
        env = {**self.env, inflight.JOURNAL_ENV: str(self.journal)}
        self.process = subprocess.Popen(self.command, env=env)  # noqa: S603 - this interpreter, a fixed module
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def died(self, now: float) -> bool:
        """True once, when the process is found dead: its leftovers are released and a restart is scheduled."""
        if self.process is None or self.restart_at is not None or self.process.poll() is None:
            return False
        lived = now - self.started_at
        self.quick_deaths = self.quick_deaths + 1 if lived < STABLE_SECONDS else 0
        backoff = FIRST_BACKOFF_SECONDS * 2 ** max(self.quick_deaths - 2, 0)
        delay = 0.0 if self.quick_deaths <= 1 else min(backoff, MAX_BACKOFF_SECONDS)
        returned, aborted = inflight.release(self.journal, self.name)
        log.error(
            "%s process %d %s after %.0fs; %d message(s) returned to the queue, %d upload(s) aborted; "
            "restarting in %.0fs",
            self.name,
            self.process.pid,
            exit_description(self.process.returncode),
            lived,
            returned,
            aborted,
            delay,
        )
        self.restart_at = now + delay
        return True

    def restart_if_due(self, now: float) -> bool:
        if self.restart_at is None or now < self.restart_at:
            return False
        self.restarts += 1
        self.start()
        log.info("%s process restarted as %d (restart #%d)", self.name, self.pid, self.restarts)
        return True


@dataclass
class Supervisor:
    processes: list[LambdaProcess] = field(default_factory=list)

    def start(self, process: LambdaProcess) -> LambdaProcess:
        process.start()
        self.processes.append(process)
        return process

    def check(self) -> None:
        """Notice dead processes and start the ones whose delay has passed; called every half second."""
        now = time.monotonic()
        for process in self.processes:
            process.died(now)
            process.restart_if_due(now)

    def children(self) -> list[subprocess.Popen[bytes]]:
        """The current process of each, to stop them."""
        return [p.process for p in self.processes if p.process is not None]
