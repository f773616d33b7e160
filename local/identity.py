"""A local identity provider standing in for Cognito: RS256 access tokens and their JWKS.

The signing key is kept in the state directory, so tokens minted before a restart stay valid.
Verification follows the API Gateway JWT authorizer: signature against the JWKS, ``exp``,
``iss`` and ``aud``; the claims it passes on are flattened to strings, as API Gateway does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from exporter.notifications.recipients import usable_address

AUDIENCE = "export-service-local"
TOKEN_TTL_SECONDS = 3600
KEY_FILE = "jwt-signing-key.pem"
KEY_ID = "local-1"
MAX_USER_ID = 256


class TokenRequestError(ValueError):
    """The body of a token request is not ``{"user_id": str, "groups"?: [str], "email"?: str}``."""


@dataclass(frozen=True)
class TokenRequest:
    user_id: str
    groups: list[str]
    email: str | None = None  # the verified ``email`` claim Cognito's pre-token-generation trigger adds


def load_or_create_key(state_dir: Path) -> rsa.RSAPrivateKey:
    path = state_dir / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    path.chmod(0o600)
    return key


@dataclass
class LocalIssuer:
    key: rsa.RSAPrivateKey
    issuer: str
    audience: str = AUDIENCE

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}

    def mint(
        self, user_id: str, groups: list[str], *, email: str | None = None, ttl_seconds: int = TOKEN_TTL_SECONDS
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": user_id,
            "username": user_id,
            "cognito:groups": groups,
            "iss": self.issuer,
            "aud": self.audience,
            "client_id": self.audience,
            "token_use": "access",
            "scope": "openid",
            "iat": now,
            "exp": now + ttl_seconds,
        }
        if email is not None:
            claims.update(email=email, email_verified=True)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def token_response(self, body: bytes) -> dict[str, Any]:
        request = parse_token_request(body)
        token = self.mint(request.user_id, request.groups, email=request.email)
        return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_SECONDS}

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims if the JWT authorizer would accept it; raises ``jwt.InvalidTokenError``."""
        return jwt.decode(
            token,
            self.key.public_key(),
            algorithms=["RS256"],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iss", "sub"]},
        )


def parse_token_request(body: bytes) -> TokenRequest:
    try:
        request = json.loads(body or b"null")
    except ValueError as error:
        raise TokenRequestError(f"body is not JSON: {error}") from error
    if not isinstance(request, dict):
        raise TokenRequestError('body must be a JSON object like {"user_id": "alice"}')
    unknown = set(request) - {"user_id", "groups", "email"}
    if unknown:
        raise TokenRequestError(f"unknown field(s): {', '.join(sorted(unknown))}")
    user_id = request.get("user_id")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID:
        raise TokenRequestError(f"user_id must be a non-empty string of at most {MAX_USER_ID} characters")
    groups = request.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) and g and " " not in g for g in groups):
        raise TokenRequestError("groups must be a list of non-empty strings without spaces")
    email = request.get("email")
    if email is not None and usable_address(email) is None:
        raise TokenRequestError("email must be an e-mail address")
    return TokenRequest(user_id, groups, email)


def gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as the API Gateway JWT authorizer passes them: every value a string, lists as "[a b]"."""
    return {name: _gateway_value(value) for name, value in claims.items()}


def _gateway_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
