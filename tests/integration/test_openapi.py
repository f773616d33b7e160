"""The checked-in OpenAPI document is the one the API serves (regenerate: `make openapi`)."""

from __future__ import annotations

import json
from pathlib import Path

DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_checked_in_openapi_matches_the_routes(api) -> None:
    served = api("GET", "/openapi.json", user=None).body
    assert json.loads(DOCUMENT.read_text()) == served, "docs/openapi.json is stale: run `make openapi`"
