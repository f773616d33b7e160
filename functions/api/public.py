"""The routes open without a token: the liveness probe and the API's own documentation.

Nothing else is imported here, so the local gateway can tell them apart without loading the API.
"""

from __future__ import annotations

HEALTH = "/health"
OPENAPI = "/openapi.json"
DOCS = "/docs"

PUBLIC_ROUTES = frozenset({("GET", HEALTH), ("GET", OPENAPI), ("GET", DOCS)})
