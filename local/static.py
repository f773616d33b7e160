"""The web UI on the API's origin, as CloudFront serves it in AWS: ``web/index.html`` for browser
navigations, ``web/ui/*`` as files, and a generated ``/config.json``.

A GET whose ``Accept`` includes ``text/html`` is a page load (``/exports/new`` is both a page and,
for ``fetch`` with ``Accept: application/json``, an API path); the UI's own calls always ask for
JSON, so they reach the API Lambda as before. ``serve`` answers what is the UI's and returns
``None`` for everything else.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from webpolicy import content_security_policy

WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
ASSET_PREFIX = "/ui/"
API_PAGES = frozenset({"/health", "/openapi.json", "/docs"})  # HTML-capable API routes stay the API's
LOCAL_CONFIG = {"apiUrl": "", "auth": {"mode": "local", "tokenUrl": "/local/token"}}
# What the CloudFront response-headers policy sends (infra/web.py), with the API on the same origin.
SECURITY_HEADERS = [
    ("Content-Security-Policy", content_security_policy()),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
]
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}

Answer = tuple[int, list[tuple[str, str]], bytes]


def serve(method: str, path: str, headers: dict[str, str], *, root: Path = WEB_ROOT) -> Answer | None:
    """The UI's answer to a request (``headers`` keys lower-case), or ``None`` when it is the API's."""
    if method not in ("GET", "HEAD"):
        return None
    if path == "/config.json":
        return _answer(200, "application/json", json.dumps(LOCAL_CONFIG).encode())
    if path.startswith(ASSET_PREFIX):
        return _asset(root / "ui", path[len(ASSET_PREFIX) :])
    if "text/html" in headers.get("accept", "") and path not in API_PAGES and not path.startswith("/local/"):
        return _answer(200, "text/html; charset=utf-8", (root / "index.html").read_bytes())
    return None


def _asset(directory: Path, name: str) -> Answer:
    target = (directory / name).resolve()
    if not target.is_relative_to(directory.resolve()) or not target.is_file():
        return _answer(404, "text/plain; charset=utf-8", b"Not Found")
    content_type = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return _answer(200, content_type, target.read_bytes())


def _answer(status: int, content_type: str, body: bytes) -> Answer:
    headers = [("Content-Type", content_type), ("Cache-Control", "no-cache"), *SECURITY_HEADERS]
    return status, headers, body
