"""Headless Debian Chromium (Playwright) against ``python -m local``, once per session.

Skipped, with the reason, on a machine without /usr/bin/chromium (``apt-get install chromium``).
Every test gets a fresh browser context per user (its own sessionStorage, so its own sign-in),
and fails if a page logs a JavaScript error or a Content-Security-Policy violation.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
START_TIMEOUT_SECONDS = 180
STOP_TIMEOUT_SECONDS = 90
DESKTOP = {"width": 1100, "height": 800}
# Chromium reports every non-2xx fetch as a console error; the UI shows those itself.
LEAKED_VALUES = re.compile(r"(?<![A-Za-z])(undefined|null|NaN|false|true)|\[object Object\]")
EXPECTED_CONSOLE = ("Failed to load resource: the server responded with a status of",)


@dataclass(frozen=True)
class LocalStack:
    info: dict[str, Any]
    log_file: Path

    @property
    def url(self) -> str:
        return str(self.info["api_url"])

    def token(self, user_id: str, groups: list[str] | None = None) -> str:
        body = {"user_id": user_id, "groups": groups or []}
        response = requests.post(self.info["token_url"], json=body, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def api(self, user_id: str) -> requests.Session:
        http = requests.Session()
        http.headers.update({"Authorization": f"Bearer {self.token(user_id)}", "Accept": "application/json"})
        return http

    def wait_finished(self, user_id: str, export_id: str, timeout: float = 60) -> dict[str, Any]:
        http = self.api(user_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = http.get(f"{self.url}/exports/{export_id}", timeout=10).json()
            if status["status"] in ("completed", "failed"):
                return dict(status)
            time.sleep(0.3)
        raise TimeoutError(f"export {export_id} still {status['status']} after {timeout}s")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _environment(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for inherited in ("DATABASE_URL", "REDIS_SVC", "S3_BUCKET", "SQS_QUEUE_URL", "SOURCE_BUCKET", "DLQ_URL"):
        env.pop(inherited, None)  # the stack starts its own services
    env.update({"LOCAL_STATE_DIR": str(state_dir), "API_PORT": "0", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture(scope="session")
def local_stack(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """``python -m local`` on a free port with fresh state (started after Chromium is known to exist)."""
    state_dir = tmp_path_factory.mktemp("browser-stack")
    log_file = state_dir / "stack.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"], cwd=REPO, env=_environment(state_dir), stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (state_dir / "stack.json").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"python -m local did not start:\n{log_file.read_text()[-4000:]}")
            time.sleep(0.2)
        stack = LocalStack(info=json.loads((state_dir / "stack.json").read_text()), log_file=log_file)
        # The first signed-in call loads the API's code; let that happen here, not in a test's sign-in.
        warm_up = stack.api("warm-up").get(f"{stack.url}/exports", timeout=START_TIMEOUT_SECONDS)
        assert warm_up.status_code == 200, warm_up.text
        yield stack
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Problems(list[str]):
    """JavaScript errors and CSP violations a page reported."""

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                self.append(f"console.{message.type}: {message.text}")
                if message.type == "error" and not message.text.startswith(EXPECTED_CONSOLE)
                else None
            ),
        )


@pytest.fixture
def signed_in(browser: Any, local_stack: LocalStack) -> Iterator[Callable[..., Any]]:
    """``signed_in("alice")`` → a page in a context of its own, signed in through the sign-in page.

    ``email=`` signs in with that address in the token (the local sign-in's optional e-mail).
    """
    contexts: list[Any] = []
    problems = Problems()

    def sign_in(
        user_id: str, *, admin: bool = False, viewport: dict[str, int] | None = None, email: str | None = None
    ) -> Any:
        context = browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        page.goto(f"{local_stack.url}/exports")
        page.wait_for_url("**/signin?next=%2Fexports")
        page.get_by_label("User name").fill(user_id)
        if email is not None:
            page.get_by_label("E-mail (optional)").fill(email)
        if admin:
            page.get_by_label("Sign in as an admin").check()
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/exports")
        page.get_by_role("heading", name="My exports").wait_for()
        return page

    yield sign_in
    for context in contexts:
        context.close()
    assert not problems, "the pages reported errors:\n" + "\n".join(problems)


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """Save the whole page as test-artifacts/screenshots/<name>.png (a CI artefact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        text = page.locator("main").inner_text()
        leaked = LEAKED_VALUES.search(text)
        assert leaked is None, f"the {name} page shows a raw {leaked.group(0)!r}:\n{text}"
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        return path

    return take


class Mailbox:
    """The e-mails the local stack sent through SES, read from its moto server (nothing leaves the machine)."""

    def __init__(self, endpoint_url: str) -> None:
        self.url = f"{endpoint_url}/moto-api/data.json"

    def to(self, address: str) -> list[dict[str, Any]]:
        """Every e-mail SES accepted for ``address``, oldest first."""
        deadline = time.monotonic() + 30
        response = requests.get(self.url, timeout=10)
        while response.status_code == 500 and time.monotonic() < deadline:
            time.sleep(0.3)  # moto answers 500 while an S3 multipart upload is in progress
            response = requests.get(self.url, timeout=10)
        response.raise_for_status()
        sent = response.json().get("ses", {}).get("Message", [])
        return [m for m in sent if address in m["destinations"].get("ToAddresses", [])]

    def wait_for(self, address: str, timeout: float = 60) -> list[dict[str, Any]]:
        """The e-mails to ``address`` once there is at least one; raises after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not (sent := self.to(address)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no e-mail to {address} after {timeout}s")
            time.sleep(0.5)
        return sent


@pytest.fixture
def mailbox(local_stack: LocalStack) -> Mailbox:
    return Mailbox(str(local_stack.info["aws_endpoint_url"]))
