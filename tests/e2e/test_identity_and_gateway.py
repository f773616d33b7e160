"""The local identity provider and the API Gateway emulator, as a user of the HTTP API meets them."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from exporter.settings import ADMIN_GROUP

pytestmark = pytest.mark.e2e

UNAUTHORIZED = {"message": "Unauthorized"}


def _claims(stack, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "sub": "mallory",
        "cognito:groups": [ADMIN_GROUP],
        "iss": stack.info["issuer"],
        "aud": stack.info["audience"],
        "token_use": "access",
        "iat": now,
        "exp": now + 600,
    }
    return {**claims, **overrides}


def _stack_key(stack) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(Path(stack.info["signing_key_file"]).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _get_exports(stack, token: str) -> requests.Response:
    return requests.get(stack.url("/exports"), headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_a_user_gets_a_token_the_api_accepts(stack, token):
    # GIVEN a token issued to alice by the local identity provider
    access_token = token("alice")

    # WHEN alice lists her exports with it
    response = _get_exports(stack, access_token)

    # THEN the API answers, and the token says who she is, for whom, and until when
    assert response.status_code == 200
    claims = jwt.decode(access_token, options={"verify_signature": False})
    assert claims["sub"] == "alice"
    assert claims["iss"] == stack.info["issuer"]
    assert claims["aud"] == "export-service-local"
    assert claims["token_use"] == "access"
    assert 3500 <= claims["exp"] - claims["iat"] <= 3600


def test_the_jwks_verifies_issued_tokens(stack, token):
    # GIVEN a token with groups and the published JWKS
    access_token = token("carol", [ADMIN_GROUP])
    jwks = jwt.PyJWKClient(stack.info["jwks_url"])

    # WHEN the token is verified against the JWKS as API Gateway would
    key = jwks.get_signing_key_from_jwt(access_token)
    claims = jwt.decode(
        access_token, key.key, algorithms=["RS256"], audience=stack.info["audience"], issuer=stack.info["issuer"]
    )

    # THEN the groups are there
    assert claims["cognito:groups"] == [ADMIN_GROUP]


@pytest.mark.parametrize(
    ("body", "named"),
    [({}, "user_id"), ({"user_id": ""}, "user_id"), ({"user_id": "a", "groups": "admin"}, "groups")],
)
def test_a_bad_token_request_is_a_400_that_names_the_problem(stack, body, named):
    # WHEN a token is requested without a proper user_id or groups
    response = requests.post(stack.info["token_url"], json=body, timeout=10)

    # THEN it is refused with a message naming the field
    assert response.status_code == 400
    assert named in response.json()["message"]


def test_a_request_without_a_token_is_401(stack):
    # WHEN the exports are listed without a token
    response = requests.get(stack.url("/exports"), timeout=10)

    # THEN the gateway refuses it as API Gateway does
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_token_signed_by_another_key_is_401(stack):
    # GIVEN a token with the right claims signed by a key the JWKS does not publish
    forged = jwt.encode(_claims(stack), rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")

    # WHEN it is used THEN it is refused
    response = _get_exports(stack, forged)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_an_expired_token_is_401(stack):
    # GIVEN a token signed by the stack's own key that expired a minute ago
    expired = jwt.encode(_claims(stack, sub="alice", exp=int(time.time()) - 60), _stack_key(stack), "RS256")

    # WHEN it is used THEN it is refused
    response = _get_exports(stack, expired)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_token_for_another_audience_is_401(stack):
    # GIVEN a token signed by the stack's key but meant for another application
    other = jwt.encode(_claims(stack, sub="alice", aud="some-other-app"), _stack_key(stack), "RS256")

    # WHEN it is used THEN it is refused
    response = _get_exports(stack, other)
    assert response.status_code == 401


def test_health_and_the_api_description_need_no_token(stack):
    # WHEN the open routes are fetched without a token
    health = requests.get(stack.url("/health"), timeout=10)
    openapi = requests.get(stack.url("/openapi.json"), timeout=10)

    # THEN they answer
    assert health.status_code == 200
    assert openapi.status_code == 200
    assert "/exports" in openapi.json()["paths"]


def test_a_body_over_10_mb_is_413_as_api_gateway_answers(stack, as_user):
    # WHEN alice sends an 11 MB body
    response = as_user("alice").post(
        stack.url("/exports"), data=b"x" * (11 * 1024 * 1024), headers={"Content-Type": "application/json"}
    )

    # THEN it is refused as too large
    assert response.status_code == 413
