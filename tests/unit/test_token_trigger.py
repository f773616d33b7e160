"""The user pool's pre-token-generation trigger puts a verified address, and only that, in the access token."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from token_trigger.handler import lambda_handler


def v2_event(user_attributes: dict[str, str], override_details: Any = None) -> dict[str, Any]:
    """A pre-token-generation event as Cognito sends it with trigger version 2 (a sign-in through the Hosted UI)."""
    return {
        "version": "2",
        "triggerSource": "TokenGeneration_HostedAuth",
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_Example",
        "userName": "8f1c2b7e-alice",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "web-client-id"},
        "request": {
            "userAttributes": {"sub": "8f1c2b7e-alice", "cognito:user_status": "CONFIRMED", **user_attributes},
            "groupConfiguration": {"groupsToOverride": ["admin"], "iamRolesToOverride": [], "preferredRole": None},
            "scopes": ["openid", "email", "profile"],
        },
        "response": {"claimsAndScopeOverrideDetails": override_details},
    }


def access_token_claims(event: dict[str, Any]) -> dict[str, Any]:
    details = event["response"]["claimsAndScopeOverrideDetails"] or {}
    return (details.get("accessTokenGeneration") or {}).get("claimsToAddOrOverride") or {}


def test_given_a_verified_address_then_the_access_token_carries_it_as_the_email_claim() -> None:
    # GIVEN a user whose address the pool has verified
    event = v2_event({"email": "alice@example.org", "email_verified": "true"})

    # WHEN Cognito asks for the token's claims
    answered = lambda_handler(copy.deepcopy(event), None)

    # THEN the access token gets the address as its email claim, and nothing else changes
    assert access_token_claims(answered) == {"email": "alice@example.org"}
    assert "idTokenGeneration" not in answered["response"]["claimsAndScopeOverrideDetails"]
    assert {k: v for k, v in answered.items() if k != "response"} == {k: v for k, v in event.items() if k != "response"}


@pytest.mark.parametrize(
    "attributes",
    [
        {"email": "alice@example.org", "email_verified": "false"},
        {"email": "alice@example.org"},
        {"email_verified": "true"},
        {"email": "", "email_verified": "true"},
        {},
    ],
    ids=["unverified", "verification-unknown", "no-address", "empty-address", "no-attributes"],
)
def test_given_no_verified_address_then_the_event_comes_back_unchanged(attributes: dict[str, str]) -> None:
    # GIVEN a user without a verified address
    event = v2_event(attributes)

    # WHEN Cognito asks for the token's claims
    answered = lambda_handler(copy.deepcopy(event), None)

    # THEN no claim is added: the tokens are issued as Cognito would issue them
    assert answered == event
    assert access_token_claims(answered) == {}


def test_given_overrides_already_in_the_response_then_they_are_kept_beside_the_email_claim() -> None:
    # GIVEN a response that already suppresses a scope and adds a claim to the access token
    existing = {"accessTokenGeneration": {"claimsToAddOrOverride": {"tier": "gold"}, "scopesToSuppress": ["profile"]}}
    event = v2_event({"email": "Bob@Example.org", "email_verified": "True"}, override_details=existing)

    # WHEN the trigger answers
    answered = lambda_handler(copy.deepcopy(event), None)

    # THEN the email claim joins them, the address exactly as the pool holds it
    access = answered["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
    assert access == {
        "claimsToAddOrOverride": {"tier": "gold", "email": "Bob@Example.org"},
        "scopesToSuppress": ["profile"],
    }
