"""What a request body must be before anything parses it: small enough, JSON in UTF-8, shallow enough.

The resolver asks ``refusal`` first; a body refused here never reaches a JSON parser or a validator,
so no input can exhaust the recursion limit or fail to decode inside the framework.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON = "application/json"
# Deep enough for any request this API takes (a query tree of the compiler's depth is about 20 levels).
MAX_JSON_DEPTH = 64

_STRING = re.compile(rb'"(?:[^"\\]|\\.?)*+"?', re.DOTALL)  # an unterminated string runs to the end
_BRACKET = re.compile(rb"[\[\]{}]")


class PayloadTooLarge(Exception):
    """The request body is larger than ``MAX_BODY_BYTES``: 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")


class UnsupportedBody(Exception):
    """The body is not declared as JSON in UTF-8: 415."""


class UnreadableBody(Exception):
    """The body is declared as JSON but cannot be read as such before parsing: 400."""


def body_bytes(event: Mapping[str, Any]) -> int:
    """The size of the request body as the client sent it."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body.rstrip("=")) * 3 // 4
    return len(body.encode("utf-8", "surrogatepass"))


def content_type(event: Mapping[str, Any]) -> str:
    headers = event.get("headers") or {}
    return next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")


def check_content_type(value: str) -> None:
    """Nothing, or ``application/json`` with no charset but UTF-8: 415 otherwise."""
    if not value.strip():
        return
    media, *params = (part.strip() for part in value.split(";"))
    if media.lower() != JSON:
        raise UnsupportedBody(f"the request body must be {JSON}")
    for param in params:
        name, _, charset = param.partition("=")
        charset = charset.strip().strip('"')
        if name.strip().lower() == "charset" and charset.lower() not in ("utf-8", "utf8"):
            raise UnsupportedBody(f"the request body must be {JSON} in UTF-8, not charset={charset}")


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The body's bytes, which must be UTF-8."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise UnreadableBody("request body is not valid base64") from None
    else:
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError:
            raise UnreadableBody("request body is not valid UTF-8") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableBody("request body is not valid UTF-8") from None
    return data


def depth(data: bytes, limit: int) -> int:
    """How deep ``data``'s arrays and objects nest (strings skipped), counted no further than ``limit + 1``."""
    level = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b"", data)):
        if bracket in b"[{":
            level += 1
            if level > deepest:
                deepest = level
                if deepest > limit:
                    break
        else:
            level -= 1
    return deepest


def refusal(event: Mapping[str, Any], *, max_bytes: int) -> Exception | None:
    """Why the request's body cannot be taken, or None. Only methods with a body are checked."""
    method = event.get("requestContext", {}).get("http", {}).get("method", "")
    if method not in BODY_METHODS:
        return None
    if body_bytes(event) > max_bytes:
        return PayloadTooLarge(max_bytes)
    try:
        check_content_type(content_type(event))
        if depth(raw_body(event), MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            return UnreadableBody(f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
    except (UnsupportedBody, UnreadableBody) as error:
        return error
    return None
