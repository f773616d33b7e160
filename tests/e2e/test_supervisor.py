"""The supervisor of the local Lambda processes: a process that keeps dying is restarted ever more slowly."""

from __future__ import annotations

import logging
import re
import sys
import time

import pytest

from local.supervisor import LambdaProcess, Supervisor

pytestmark = pytest.mark.e2e

DEATHS = 4


def test_a_process_that_dies_at_once_is_restarted_with_a_growing_delay(tmp_path, caplog):
    # GIVEN a Lambda process whose cold start fails every time
    crashing = LambdaProcess(
        "broken", [sys.executable, "-c", "raise SystemExit(3)"], {}, tmp_path / "lambda" / "broken.json"
    )
    supervisor = Supervisor()
    caplog.set_level(logging.INFO, logger="local.supervisor")

    # WHEN the supervisor watches it through four deaths (bounded in time)
    supervisor.start(crashing)
    deadline = time.monotonic() + 60
    while crashing.restarts < DEATHS and time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.05)
    crashing.process.wait(timeout=30)
    supervisor.check()

    # THEN each death was logged with its exit code and it was started again after 0, 1, 2, 4 seconds
    delays = [int(d) for d in re.findall(r"exited with 3 after \d+s; .* restarting in (\d+)s", caplog.text)]
    assert delays[:DEATHS] == [0, 1, 2, 4]
    assert crashing.restarts == DEATHS
