"""local/static.py: which requests the local gateway answers with the UI, and which reach the API."""

from __future__ import annotations

import json

import pytest

from local.static import serve

PAGE = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
FETCH = {"accept": "application/json"}


@pytest.mark.parametrize("path", ["/", "/exports", "/exports/new", "/exports/0b6f4c1e", "/captures", "/signin"])
def test_given_a_browser_navigation_then_the_app_page_answers(path) -> None:
    status, headers, body = serve("GET", path, PAGE)
    assert status == 200
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="/ui/app.js">' in body
    assert "frame-ancestors 'none'" in dict(headers)["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/exports", FETCH),  # the UI's own fetch()
        ("GET", "/exports/new", {}),  # curl
        ("POST", "/exports", PAGE),
        ("DELETE", "/exports/abc", PAGE),
        ("GET", "/docs", PAGE),  # Swagger UI is the API's
        ("GET", "/health", PAGE),
        ("GET", "/openapi.json", PAGE),
        ("GET", "/local/.well-known/jwks.json", PAGE),
    ],
)
def test_given_an_api_request_then_it_is_left_to_the_api(method, path, headers) -> None:
    assert serve(method, path, headers) is None


def test_given_a_ui_asset_then_it_is_served_with_its_type_and_nothing_outside_web_ui_is() -> None:
    status, headers, body = serve("GET", "/ui/app.js", {})
    assert (status, dict(headers)["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    assert b"navigate" in body
    assert dict(headers)["X-Content-Type-Options"] == "nosniff"
    assert serve("GET", "/ui/style.css", {})[1][0] == ("Content-Type", "text/css; charset=utf-8")
    for escape in ("/ui/../index.html", "/ui/../../pyproject.toml", "/ui/%2e%2e/index.html", "/ui/missing.js"):
        assert serve("GET", escape, {})[0] == 404, escape


def test_given_config_json_then_it_points_the_ui_at_the_local_issuer_on_the_same_origin() -> None:
    status, headers, body = serve("GET", "/config.json", FETCH)
    assert status == 200 and dict(headers)["Content-Type"] == "application/json"
    assert json.loads(body) == {"apiUrl": "", "auth": {"mode": "local", "tokenUrl": "/local/token"}}
