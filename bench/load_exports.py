"""Concurrent POST /exports through the local gateway, with no client retries, then the jobs drained.

``python -m bench.load_exports --clients 200`` starts the local stack in a temporary
directory (or uses a running one: ``--stack-json .local/stack.json``), opens ``--clients``
connections to the gateway at the same moment, sends one ``POST /exports`` on each (one user per client) and
prints what came back: accepted (202), 5xx, other codes, connection errors. It then waits
(bounded by ``--drain-seconds``) until no accepted export is pending or processing and
prints how they ended: completed exactly once (one object in S3, no upload left open),
failed, still pending. Loopback addresses only.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import psycopg2
import requests

LOOPBACK = ("127.0.0.1", "localhost", "::1")
START_TIMEOUT_SECONDS = 300
POLL_SECONDS = 2.0


@dataclass
class Answers:
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    export_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0


@contextmanager
def local_stack(stack_json: str | None) -> Iterator[dict[str, Any]]:
    """The stack described by ``stack_json``, or one started here (stopped with SIGINT at the end)."""
    if stack_json:
        yield json.loads(Path(stack_json).read_text())
        return
    state = Path(tempfile.mkdtemp(prefix="export-service-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("DATABASE_URL", "REDIS_SVC")}
    env.update({"LOCAL_STATE_DIR": str(state), "API_PORT": "0", "PYTHONUNBUFFERED": "1"})
    with (state / "stack.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "local"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (state / "stack.json").exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start; see {state / 'stack.log'}")
            time.sleep(0.2)
        yield json.loads((state / "stack.json").read_text())
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def one_observation(database_url: str) -> str:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT observation_id FROM observations ORDER BY observation_id LIMIT 1")
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        raise RuntimeError("the stack has no observations")
    return str(row[0])


async def exchange(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes, timeout: float
) -> tuple[int, bytes]:
    """One request on an open connection, no retry: (status, body)."""
    reader, writer = connection
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        lines = head.split(b"\r\n")
        length = next((int(h.split(b":", 1)[1]) for h in lines if h.lower().startswith(b"content-length:")), 0)
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return status, body
    finally:
        writer.close()


async def burst(api_url: str, tokens: list[str], body: bytes, timeout: float) -> Answers:
    """Open ``clients`` connections at once, then send the request on every one that opened."""
    address = urlsplit(api_url)
    host, port = address.hostname or "", address.port or 80
    if host not in LOOPBACK:
        raise SystemExit(f"refusing {host}: this load test targets loopback addresses only")
    requests_ = [
        (
            f"POST /exports HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + body
        for token in tokens
    ]
    answers = Answers()
    started = time.monotonic()
    opened = await asyncio.gather(
        *(asyncio.wait_for(asyncio.open_connection(host, port), timeout) for _ in requests_),
        return_exceptions=True,
    )
    exchanges = []
    for outcome, request in zip(opened, requests_, strict=True):
        if isinstance(outcome, BaseException):
            answers.errors[f"connect: {type(outcome).__name__}"] += 1
        else:
            exchanges.append(exchange(outcome, request, timeout))
    replies = await asyncio.gather(*exchanges, return_exceptions=True)
    for reply in replies:
        if isinstance(reply, BaseException):
            answers.errors[type(reply).__name__] += 1
            continue
        status, payload = reply
        answers.statuses[status] += 1
        if status == 202:
            answers.export_ids.append(json.loads(payload)["export_id"])
    answers.seconds = time.monotonic() - started
    return answers


def statuses_of(database_url: str, export_ids: list[str]) -> dict[str, str]:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT export_id::text, status FROM exports WHERE export_id::text = ANY(%s)", (export_ids,))
            return {export_id: status for export_id, status in cur.fetchall()}
    finally:
        conn.close()


def drain(database_url: str, export_ids: list[str], seconds: float) -> tuple[dict[str, str], float]:
    started = time.monotonic()
    deadline = started + seconds
    while True:
        statuses = statuses_of(database_url, export_ids)
        open_jobs = sum(1 for s in statuses.values() if s in ("pending", "processing"))
        if open_jobs == 0 or time.monotonic() > deadline:
            return statuses, time.monotonic() - started
        time.sleep(POLL_SECONDS)


def s3_state(info: dict[str, Any], export_ids: list[str]) -> tuple[collections.Counter[str], int]:
    """Objects per export id, and uploads left open for any of them."""
    s3 = boto3.client(
        "s3",
        endpoint_url=info["aws_endpoint_url"],
        region_name=info["aws_region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    wanted = set(export_ids)
    objects: collections.Counter[str] = collections.Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=info["exports_bucket"]):
        for item in page.get("Contents", []):
            objects.update(i for i in wanted if i in item["Key"])
    uploads = s3.list_multipart_uploads(Bucket=info["exports_bucket"]).get("Uploads", [])
    return objects, sum(1 for u in uploads if any(i in u["Key"] for i in wanted))


def report(clients: int, answers: Answers, statuses: dict[str, str], drained: float, info: dict[str, Any]) -> None:
    fivexx = sum(n for code, n in answers.statuses.items() if code >= 500)
    others = {code: n for code, n in sorted(answers.statuses.items()) if code != 202 and code < 500}
    print(f"clients: {clients} concurrent POST /exports, no retries, answered in {answers.seconds:.1f}s")
    print(f"accepted (202): {answers.statuses.get(202, 0)}")
    print(f"5xx: {fivexx}")
    print(f"other codes: {others or 0}")
    print(f"connection errors: {dict(answers.errors) or 0}")
    ids = answers.export_ids
    objects, open_uploads = s3_state(info, ids)
    ended = collections.Counter(statuses.values())
    once = sum(1 for i in ids if statuses.get(i) == "completed" and objects[i] == 1)
    print(f"drained in {drained:.1f}s")
    print(f"completed exactly once (one object, no open upload): {once}")
    print(f"completed with other than one object: {ended.get('completed', 0) - once}")
    print(f"failed: {ended.get('failed', 0)}")
    print(f"still pending or processing: {ended.get('pending', 0) + ended.get('processing', 0)}")
    print(f"accepted ids without a row: {len(set(ids) - statuses.keys())}, duplicate ids: {len(ids) - len(set(ids))}")
    print(f"uploads left open: {open_uploads}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--stack-json", help="a running stack's stack.json (default: start one)")
    parser.add_argument("--request-timeout", type=float, default=300.0)
    parser.add_argument("--drain-seconds", type=float, default=1200.0)
    args = parser.parse_args()
    with local_stack(args.stack_json) as info:
        # one user per client: the per-user quotas are not what this measures
        with requests.Session() as http:
            tokens = [
                http.post(info["token_url"], json={"user_id": f"load-{n:04d}"}, timeout=30).json()["access_token"]
                for n in range(args.clients)
            ]
        query = {"method": "OBSERVATION_ID_CONTAINS", "args": [one_observation(info["database_url"])]}
        body = json.dumps({"query": query, "include_images": False}).encode()
        answers = asyncio.run(burst(info["api_url"], tokens, body, args.request_timeout))
        statuses, drained = drain(info["database_url"], answers.export_ids, args.drain_seconds)
        report(args.clients, answers, statuses, drained, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
