"""The gateway under a burst of clients, and the answers http.server would give by itself."""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = pytest.mark.e2e

CLIENTS = 200


def _get_health(host: str, port: int, start: threading.Barrier, results: list[object], slot: int) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=120)
    try:
        start.wait(timeout=60)
        connection.request("GET", "/health")
        results[slot] = connection.getresponse().status
    except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as error:
        results[slot] = type(error).__name__
    finally:
        connection.close()


def test_200_clients_connecting_at_once_are_all_answered(stack):
    # GIVEN 200 clients that connect at the same moment, without retries
    address = urlsplit(stack.api_url)
    assert address.hostname == "127.0.0.1"
    start = threading.Barrier(CLIENTS)
    results: list[object] = [None] * CLIENTS
    threads = [
        threading.Thread(target=_get_health, args=(address.hostname, address.port, start, results, n))
        for n in range(CLIENTS)
    ]

    # WHEN each asks for /health
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    # THEN every one got an answer: none was reset or refused
    failures = [r for r in results if r != 200]
    assert failures == [], f"{len(failures)} of {CLIENTS} not answered 200: {sorted(set(map(str, failures)))}"


def _is_api_error(response: requests.Response, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers["Content-Type"].startswith("application/json")
        and response.json()["status"] == status
        and isinstance(response.json()["message"], str)
    )


def test_an_unknown_method_is_a_json_501_not_an_html_page(stack):
    response = requests.request("BREW", stack.url("/exports"), timeout=10)
    assert _is_api_error(response, 501), response.text


def test_a_uri_too_long_is_a_json_414_not_an_html_page(stack):
    response = requests.get(stack.url("/exports?q=" + "a" * 70_000), timeout=10)
    assert _is_api_error(response, 414), response.text


def test_the_gateway_keeps_serving_after_the_errors_it_answers_itself(stack):
    requests.request("BREW", stack.url("/health"), timeout=10)
    assert requests.get(stack.url("/health"), timeout=10).status_code == 200
