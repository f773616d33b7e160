"""A new API container loads only what its first request needs: no X-Ray SDK without tracing, no boto3
before a route calls AWS, no OpenAPI models before the document is asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys

XRAY = "aws_xray_sdk.core"
BOTO3 = "boto3"
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"
WATCHED = (XRAY, BOTO3, OPENAPI_MODELS)

# A new interpreter: each request in turn, then which of WATCHED it has loaded so far.
CONTAINER = """
import json, sys
from api.handler import lambda_handler
from tests.support import context, http_event
print(json.dumps({"request": None, "loaded": [m for m in WATCHED if m in sys.modules]}))
for method, path, body, user in json.loads(sys.argv[1]):
    reply = lambda_handler(http_event(method, path, body=body, user=user), context())
    print(json.dumps({"request": [method, path], "status": reply["statusCode"],
                      "loaded": [m for m in WATCHED if m in sys.modules]}))
"""


def container(requests: list[tuple[str, str, object, str | None]], **env: str) -> list[dict]:
    """What a new process answered and had loaded: after the import, then after each request."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(["layers", "functions", "."]), **env}
    code = f"WATCHED = {WATCHED!r}\n{CONTAINER}"
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(requests)],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{"request"')]


def test_a_first_listing_loads_no_aws_sdk_and_a_request_that_queues_loads_it(service_env) -> None:
    imported, listed, requested, documented = container(
        [
            ("GET", "/exports", None, "alice"),
            ("POST", "/exports", {"query": {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}}, "alice"),
            ("GET", "/openapi.json", None, None),
        ]
    )
    assert imported["loaded"] == []
    assert (listed["status"], listed["loaded"]) == (200, [])
    assert (requested["status"], requested["loaded"]) == (202, [BOTO3])
    assert (documented["status"], documented["loaded"]) == (200, [BOTO3, OPENAPI_MODELS])


def test_the_xray_sdk_loads_when_tracing_is_on_in_lambda(service_env) -> None:
    traced = {
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": ".",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }
    imported, listed = container([("GET", "/exports", None, "alice")], **traced)
    assert XRAY in imported["loaded"]
    assert listed["status"] == 200
