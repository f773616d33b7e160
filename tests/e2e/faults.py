"""Helpers of the fault tests: the stack's S3 as a user would check it, waiting on conditions, its processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import psutil
import requests

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

FINISHED = ("completed", "failed")


def wait_for(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.2) -> Any:
    """``condition()`` once it is truthy; fails after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(poll)
    raise AssertionError(f"{what}: not within {timeout:.0f}s")


def stack_s3(stack: Stack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.info["aws_endpoint_url"],
        region_name=stack.info["aws_region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def objects_of(stack: Stack, export_id: str) -> list[str]:
    listing = stack_s3(stack).list_objects_v2(Bucket=stack.info["exports_bucket"])
    return [o["Key"] for o in listing.get("Contents", []) if export_id in o["Key"]]


def open_uploads_of(stack: Stack, export_id: str) -> list[str]:
    listing = stack_s3(stack).list_multipart_uploads(Bucket=stack.info["exports_bucket"])
    return [u["Key"] for u in listing.get("Uploads", []) if export_id in u["Key"]]


def finished_status(http: requests.Session, url: str, timeout: float) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        status: dict[str, Any] = http.get(url, timeout=10).json()
        return status if status.get("status") in FINISHED else None

    return dict(wait_for(finished, timeout, f"{url} finished", poll=0.5))


def completions_logged(stack: Stack, export_id: str) -> int:
    """How many times a worker logged this export as completed."""
    return sum(
        1
        for line in stack.log_text().splitlines()
        if '"message":"export completed"' in line and f'"correlation_id":"{export_id}"' in line
    )


def lambda_processes(stack: Stack, module: str) -> list[psutil.Process]:
    """The stack's child processes running ``python -m <module>``."""
    parent = psutil.Process(int(stack.info["pid"]))
    found = []
    for child in parent.children():
        try:
            if module in child.cmdline():
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found
