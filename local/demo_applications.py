"""The two demo source applications of the local stack, each a process polling its own queue.

``inventory`` serves ``hosts``: it generates a list of hosts, keeps those whose name contains
the ``name`` filter, and uploads them as CSV or JSON (the export's format). ``advisor`` serves
``recommendations`` and always answers with an error. Both call the internal API through the
local gateway with their pre-shared key, as a real application would:
``python -m local.demo_applications <name>`` with ``LOCAL_API_URL``, ``LOCAL_APP_QUEUE_URL`` and
``LOCAL_APP_KEY_FILE`` set by the stack.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import requests

log = logging.getLogger("local.apps")

PSK_HEADER = "x-rh-exports-psk"
WAIT_SECONDS = 5
HOST_FIELDS = ("id", "name", "os", "ip", "last_seen")
_ROLES = ("web", "db", "cache", "queue", "batch")
_OSES = ("RHEL 9.4", "RHEL 8.10", "Fedora 40")


def hosts(name_filter: str | None = None) -> list[dict[str, str]]:
    """The demo inventory: 20 hosts, those whose name contains ``name_filter`` when it is given."""
    everything = [
        {
            "id": f"host-{n:03d}",
            "name": f"{_ROLES[n % len(_ROLES)]}-{n:02d}.example.internal",
            "os": _OSES[n % len(_OSES)],
            "ip": f"10.0.{n // 10}.{n}",
            "last_seen": f"2026-11-{1 + n % 28:02d}T08:00:00Z",
        }
        for n in range(1, 21)
    ]
    return [host for host in everything if not name_filter or name_filter in host["name"]]


def hosts_part(filters: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    rows = hosts(filters.get("name"))
    if fmt == "json":
        return json.dumps(rows).encode(), "application/json"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=HOST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode(), "text/csv"


Answer = Callable[[requests.Session, str, dict[str, Any]], requests.Response]


def answer_inventory(http: requests.Session, api_url: str, detail: dict[str, Any]) -> requests.Response:
    body, content_type = hosts_part(detail.get("filters") or {}, detail.get("format", "csv"))
    return http.post(api_url + detail["upload_path"], data=body, headers={"Content-Type": content_type}, timeout=30)


def answer_advisor(http: requests.Session, api_url: str, detail: dict[str, Any]) -> requests.Response:
    error = {"message": "recommendations are not available from the demo advisor", "error": 503}
    return http.post(api_url + detail["error_path"], json=error, timeout=30)


APPLICATIONS: dict[str, Answer] = {"inventory": answer_inventory, "advisor": answer_advisor}


def handle(message: dict[str, Any], answer: Answer, http: requests.Session, api_url: str) -> bool:
    """Answer one ``Export Requested`` event; True when the message is done with (answered, or refused for good)."""
    detail = json.loads(message["Body"]).get("detail") or {}
    if "upload_path" not in detail:
        log.warning("not an export request; dropped: %s", message["Body"][:200])
        return True
    response = answer(http, api_url, detail)
    log.info("%s %s → %d", detail.get("application"), detail.get("source_id"), response.status_code)
    return response.status_code < 500  # 4xx will not change on a retry (409: already answered)


def run(name: str, stop: threading.Event) -> None:
    answer = APPLICATIONS[name]
    api_url, queue_url = os.environ["LOCAL_API_URL"], os.environ["LOCAL_APP_QUEUE_URL"]
    http = requests.Session()
    http.headers[PSK_HEADER] = Path(os.environ["LOCAL_APP_KEY_FILE"]).read_text().strip()
    sqs = boto3.client("sqs")
    log.info("demo application %s polling %s", name, queue_url)
    while not stop.is_set():
        try:
            received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=WAIT_SECONDS)
            for message in received.get("Messages", []):
                if handle(dict(message), answer, http, api_url):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception:  # a broken poll or call: the message reappears after its visibility timeout
            log.exception("demo application %s", name)
            stop.wait(1)


def main() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    from local.stack import configure_logging

    configure_logging()
    run(sys.argv[1], stop)


if __name__ == "__main__":
    main()
