"""The API under schemathesis: generated requests for every documented operation against the local stack.

Each answer must not be a 5xx, must be a documented status with the documented content type and
schema, and must not leak a stack trace, SQL or a file path. Derandomized, so a run is repeatable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# What an error body must never show a caller.
LEAKS = re.compile(r'Traceback|psycopg2|SELECT |INSERT |/work/|site-packages|\.py"|File "')


@pytest.fixture(scope="session")
def fuzz_session(stack: Stack, token: Callable[..., str]) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token('fuzzer')}"
    return http


def fuzz_operation(operation, run: Callable[[schemathesis.Case], None]) -> None:
    """Run ``run`` on the operation's generated cases (a fixed seed: the same cases every run)."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def each(case: schemathesis.Case) -> None:
        run(case)

    each()


def test_every_generated_request_gets_a_documented_answer_without_internals(
    stack: Stack, fuzz_session: requests.Session
) -> None:
    schema = schemathesis.openapi.from_url(stack.url("/openapi.json"))
    cases: list[str] = []
    failures: dict[str, str] = {}

    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=stack.api_url, session=fuzz_session, timeout=30)
        cases.append(f"{case.method} {case.path} {response.status_code}")
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400:
            leaked = LEAKS.search(response.text)
            assert leaked is None, f"{response.status_code} with {response.text[:500]}"

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        try:
            fuzz_operation(operation, run)
        except (Exception, BaseExceptionGroup) as error:  # one operation's failure must not hide another's
            failures[operation.label] = str(error)[:2000]
    print(f"schemathesis: {len(cases)} cases over {len(operations)} operations, {len(failures)} failing operations")
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
