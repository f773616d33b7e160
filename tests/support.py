"""Helpers shared by the test suites: API Gateway events, a Lambda context, observation documents."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from local.lambda_context import LocalLambdaContext


def http_event(
    method: str,
    path: str,
    *,
    user: str | None = "alice",
    groups: list[str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event, as the JWT authorizer passes it on."""
    claims: dict[str, Any] = {}
    if user is not None:
        claims = {"sub": user, "token_use": "access", "iss": "https://issuer.test", "aud": "export-service"}
        if groups:
            claims["cognito:groups"] = "[" + " ".join(groups) + "]"
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    query = query or {}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "queryStringParameters": query or None,
        "headers": {"content-type": "application/json", "host": "api.test"},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "api.test",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
        },
        "body": text,
        "isBase64Encoded": False,
    }


def context() -> LocalLambdaContext:
    return LocalLambdaContext()


def observation(
    n: int,
    *,
    observer: str | None = None,
    platform: str = "FACEBOOK",
    observed_at: int = 1_759_583_019,
    media: int = 1,
    ocr_text: str = "Sponsored",
) -> dict[str, Any]:
    """A small observation document shaped like the seed's RDO, deterministic in ``n``."""
    observer = observer or f"observer-{n % 3:04d}-0000-0000-0000-000000000000"
    obs_id = f"{observed_at * 1000 + n}.{uuid.UUID(int=n)}"
    keys = [f"{observer}/temp-v2/{obs_id}/{i}.jpg" for i in range(media)]
    return {
        "version": 2.0,
        "observer": {
            "uuid": observer,
            "device": {
                "dimensions": {"w": "1080", "h": "2400"},
                "os_version": "14",
                "api_level": 35,
                "device": "akita",
                "model": "Pixel 8a (akita)",
            },
        },
        "observation": {
            "uuid": obs_id,
            "observed_on_device_at": observed_at + n,
            "platform": platform,
            "ad_format": "FEED_BASED",
            "keyframes": [
                {
                    "observed_at": observed_at,
                    "y_offset": 0,
                    "screenshot_cropped": keys[0] if keys else None,
                    "ocr_data": [{"x": 1, "y": 2, "w": 3, "h": 4, "text": ocr_text, "confidence": 0.9}],
                }
            ],
        },
        "media": keys,
        "attributes": {"starred": {"value": n % 2 == 0}},
        "tags": ["finance", f"tag-{n}"],
        "classifications": [{"label": "finance", "score": 0.8}],
    }
