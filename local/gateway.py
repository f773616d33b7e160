"""An API Gateway (HTTP API) emulator: HTTP request → payload v2 event → the API Lambda → HTTP response.

Like the real JWT authorizer, it rejects a missing or invalid bearer token with 401 before the
Lambda runs, and passes the verified claims (flattened to strings) in
``requestContext.authorizer.jwt.claims``. ``/local/*`` is the local identity provider, served
here and never by the Lambda.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

import jwt

from api.public import PUBLIC_ROUTES
from local import static
from local.identity import LocalIssuer, TokenRequestError, gateway_claims
from local.lambda_context import LocalLambdaContext

log = logging.getLogger("local.api")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API request payload quota
DISCARD_AT_MOST = 64 * 1024 * 1024
OPEN_PATHS = frozenset(path for _, path in PUBLIC_ROUTES)
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml", "+json", "+xml")
# Connections the kernel queues before the server accepts them (capped by net.core.somaxconn).
LISTEN_BACKLOG = 1024
ACCOUNT_ID = "000000000000"
API_ID = "local"
# The internal API's routes (source applications, pre-shared keys): its own Lambda, no JWT authorizer.
INTERNAL_PREFIX = "/app/export/v1/"
INTERNAL_FUNCTION = "export-service-internal"

LambdaHandler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    user: str = "-"


def json_reply(status: int, payload: Any, user: str = "-") -> Reply:
    body = json.dumps(payload).encode()
    return Reply(status, [("Content-Type", "application/json")], body, user)


def is_open_route(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith("/local/")


def bearer_token(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "").strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return value or None


def is_text(content_type: str) -> bool:
    content_type = content_type.lower()
    return any(marker in content_type for marker in TEXT_TYPES)


def query_parameters(raw_query: str) -> dict[str, str] | None:
    """Repeated keys are comma-joined, as API Gateway does; ``None`` when there is no query."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params or None


def request_id() -> str:
    return base64.b64encode(secrets.token_bytes(10)).decode()


def http_api_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
    protocol: str,
    claims: dict[str, Any] | None,
    host: str,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event for one request."""
    now = time.time()
    cookie_header = headers.pop("cookie", "")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": unquote(raw_path),
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookie_header:
        event["cookies"] = [c.strip() for c in cookie_header.split(";") if c.strip()]
    if (params := query_parameters(raw_query)) is not None:
        event["queryStringParameters"] = params
    if claims is not None:
        scopes = claims.get("scope", "").split() or None
        event["requestContext"]["authorizer"] = {"jwt": {"claims": gateway_claims(claims), "scopes": scopes}}
    if body:
        if is_text(headers.get("content-type", "")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def reply_from_result(result: Any) -> Reply:
    """The HTTP response API Gateway makes of a Lambda result (payload format 2.0)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Reply(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    headers.extend(("Set-Cookie", cookie) for cookie in result.get("cookies") or [])
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    return Reply(int(result["statusCode"]), headers, body)


class ApiGateway:
    """Authorizes requests and invokes the API Lambda, one invocation at a time (one warm container)."""

    def __init__(
        self,
        issuer: LocalIssuer,
        handler: Callable[[], LambdaHandler],
        function_name: str,
        internal: Callable[[], LambdaHandler] | None = None,
    ) -> None:
        self.issuer = issuer
        self._load_handler = handler
        self._handler: LambdaHandler | None = None
        self._load_internal = internal
        self._internal: LambdaHandler | None = None
        self._container = threading.Lock()
        self.function_name = function_name

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes, client: tuple[str, str]) -> Reply:
        raw_path, _, raw_query = target.partition("?")
        if (page := static.serve(method, raw_path, headers)) is not None:  # the web UI, as CloudFront serves it
            return Reply(*page)
        if raw_path.startswith("/local/"):
            return self.identity(method, raw_path, body)
        internal = self._load_internal is not None and raw_path.startswith(INTERNAL_PREFIX)
        claims: dict[str, Any] | None = None
        if not internal and not is_open_route(raw_path):
            claims = self.authorize(headers)
            if claims is None:
                return json_reply(401, {"message": "Unauthorized"})
        event = http_api_event(
            method=method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=headers,
            body=body,
            source_ip=client[0],
            protocol=client[1],
            claims=claims,
            host=headers.get("host", "localhost"),
        )
        reply = self.invoke_internal(event) if internal else self.invoke(event)
        reply.headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        reply.user = (claims or {}).get("sub", "-")
        return reply

    def authorize(self, headers: dict[str, str]) -> dict[str, Any] | None:
        token = bearer_token(headers)
        if token is None:
            return None
        try:
            return self.issuer.verify(token)
        except jwt.InvalidTokenError as error:
            log.info("token rejected: %s", error)
            return None

    def identity(self, method: str, path: str, body: bytes) -> Reply:
        if path == "/local/token" and method == "POST":
            try:
                return json_reply(200, self.issuer.token_response(body))
            except TokenRequestError as error:
                return json_reply(400, {"message": str(error)})
        if path == "/local/.well-known/jwks.json" and method == "GET":
            return json_reply(200, self.issuer.jwks())
        if path == "/local/.well-known/openid-configuration" and method == "GET":
            issuer = self.issuer.issuer
            return json_reply(200, {"issuer": issuer, "jwks_uri": f"{issuer}/.well-known/jwks.json"})
        return json_reply(404, {"message": "Not Found"})

    def invoke(self, event: dict[str, Any]) -> Reply:
        context = LocalLambdaContext(function_name=self.function_name, timeout_seconds=29.0)
        with self._container:
            try:
                if self._handler is None:
                    self._handler = self._load_handler()
                return reply_from_result(self._handler(event, context))
            except Exception:  # the Lambda failed: API Gateway answers 500 and the logs have the trace
                log.error("API Lambda raised:\n%s", traceback.format_exc())
                return json_reply(500, {"message": "Internal Server Error"})

    def invoke_internal(self, event: dict[str, Any]) -> Reply:
        """The internal API's Lambda, which checks the application's key itself; in turn with the API's."""
        context = LocalLambdaContext(function_name=INTERNAL_FUNCTION, timeout_seconds=29.0)
        with self._container:
            try:
                if self._internal is None and self._load_internal is not None:
                    self._internal = self._load_internal()
                assert self._internal is not None
                return reply_from_result(self._internal(event, context))
            except Exception:
                log.error("internal API Lambda raised:\n%s", traceback.format_exc())
                return json_reply(500, {"message": "Internal Server Error"})


class GatewayRequestHandler(BaseHTTPRequestHandler):
    gateway: ApiGateway  # set on the subclass built by ``serve``
    protocol_version = "HTTP/1.1"
    server_version = "local-apigateway"

    def _serve(self) -> None:
        started = time.monotonic()
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        length = int(headers.get("content-length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self._discard(length)
            self.close_connection = True
            reply = json_reply(413, {"message": "Request Entity Too Large"})
        else:
            body = self.rfile.read(length) if length else b""
            client = (self.client_address[0], self.request_version)
            reply = self.gateway.handle(self.command, self.path, headers, body, client)
        self._send(reply)
        elapsed_ms = (time.monotonic() - started) * 1000
        path = self.path.partition("?")[0]
        log.info("%s %s %d %.0fms user=%s", self.command, path, reply.status, elapsed_ms, reply.user)

    def _discard(self, length: int) -> None:
        """Read and drop an oversize body (up to a limit), so the client hears the 413 instead of a reset."""
        remaining = min(length, DISCARD_AT_MOST)
        while remaining > 0 and (chunk := self.rfile.read(min(remaining, 1 << 20))):
            remaining -= len(chunk)

    def _send(self, reply: Reply) -> None:
        self.send_response_only(reply.status)
        self.send_header("Date", self.date_time_string())
        for name, value in reply.headers:
            if name.lower() not in ("content-length", "connection", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server answers itself (501 unknown method, 414 long URI, 400, 431, 505), as the API's JSON."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self.close_connection = True
        reply = json_reply(code, {"message": message or phrase, "status": code})
        self.send_response_only(code)
        self.send_header("Date", self.date_time_string())
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            self.wfile.write(reply.body)
        path = str(getattr(self, "path", "") or "-").partition("?")[0][:200]
        log.info("%s %s %d user=-", self.command or "-", path, code)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: ``_serve`` logs one line per request instead."""


class GatewayServer(ThreadingHTTPServer):
    """A thread per connection, and a listen backlog a burst of clients fits in (``socketserver``'s is 5)."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


def bind(port: int) -> ThreadingHTTPServer:
    """A server socket on 127.0.0.1:``port`` (0 picks a free port); ``start`` serves it."""
    return GatewayServer(("127.0.0.1", port), GatewayRequestHandler)


def start(server: ThreadingHTTPServer, gateway: ApiGateway) -> threading.Thread:
    server.RequestHandlerClass = type("BoundGatewayRequestHandler", (GatewayRequestHandler,), {"gateway": gateway})
    thread = threading.Thread(target=server.serve_forever, name="api-gateway", daemon=True)
    thread.start()
    return thread


def base_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"
