"""The local stack (``python -m local``) as a subprocess, once per session, and HTTP helpers for it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 90
HEALTH_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Stack:
    info: dict[str, Any]
    log_file: Path

    @property
    def api_url(self) -> str:
        return str(self.info["api_url"])

    def url(self, path: str) -> str:
        return self.api_url + path

    @property
    def state_dir(self) -> Path:
        return self.log_file.parent

    @property
    def fault_file(self) -> Path:
        """Names a point where the worker process SIGKILLs itself (``local.faults``)."""
        return self.state_dir / "fault"

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def _wait_for_stack_json(path: Path, process: subprocess.Popen[bytes], log_file: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"python -m local exited with {process.returncode}:\n{log_file.read_text()[-4000:]}")
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.2)
    raise TimeoutError(f"no {path} after {START_TIMEOUT_SECONDS}s:\n{log_file.read_text()[-4000:]}")


def _wait_for_health(api_url: str) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:  # the first request is the API's cold start: seconds on a busy machine
            if requests.get(f"{api_url}/health", timeout=30).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{api_url}/health never answered 200")


def _stack_environment(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for inherited in ("DATABASE_URL", "REDIS_SVC", "S3_BUCKET", "SQS_QUEUE_URL", "SOURCE_BUCKET", "DLQ_URL"):
        env.pop(inherited, None)  # the stack starts its own services
    env.update(
        {
            "LOCAL_STATE_DIR": str(state_dir),
            "API_PORT": "0",
            "PYTHONUNBUFFERED": "1",
            "LOCAL_FAULT_FILE": str(state_dir / "fault"),  # fault injection on; nothing fires until it exists
            "SWEEPER_INTERVAL_SECONDS": "5",
        }
    )
    return env


@contextmanager
def running_stack(state_dir: Path, log_name: str = "stack.log") -> Iterator[Stack]:
    """``python -m local`` with its state in ``state_dir`` on a free port; stopped with SIGINT, checked clean."""
    log_file = state_dir / log_name
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"], cwd=REPO, env=_stack_environment(state_dir), stdout=log, stderr=log
        )
    try:
        info = _wait_for_stack_json(state_dir / "stack.json", process, log_file)
        _wait_for_health(info["api_url"])
        yield Stack(info=info, log_file=log_file)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            returncode = process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    log_text = log_file.read_text(errors="replace")
    assert returncode == 0, f"python -m local exited with {returncode} on SIGINT:\n{log_text[-4000:]}"
    assert "local stopped" in log_text, "the stack did not report a clean shutdown"


def new_state_dir() -> Path:
    """A state directory outside pytest's ``/tmp/pytest-of-<user>``.

    As root, the embedded PostgreSQL runs as another user that must traverse the directory,
    and every pytest session that starts resets ``/tmp/pytest-of-<user>`` to mode 0700.
    """
    return Path(tempfile.mkdtemp(prefix="export-service-e2e-"))


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The local stack of the session, in a temporary state directory on a free port."""
    state_dir = new_state_dir()
    try:
        with running_stack(state_dir) as running:
            yield running
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def token(stack: Stack) -> Callable[..., str]:
    """An access token from the local identity provider, for a user and optional groups."""

    def issue(user_id: str, groups: list[str] | None = None) -> str:
        body: dict[str, Any] = {"user_id": user_id}
        if groups is not None:
            body["groups"] = groups
        response = requests.post(stack.info["token_url"], json=body, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    return issue


@pytest.fixture(scope="session")
def as_user(stack: Stack, token: Callable[..., str]) -> Callable[..., requests.Session]:
    """An HTTP session against the API that sends ``user_id``'s bearer token."""

    def session(user_id: str, groups: list[str] | None = None) -> requests.Session:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token(user_id, groups)}"
        return http

    return session


@pytest.fixture
def database(stack: Stack) -> Iterator[Any]:
    conn = psycopg2.connect(stack.info["database_url"])
    conn.autocommit = True
    yield conn
    conn.close()
