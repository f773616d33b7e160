"""Cognito pre-token-generation trigger (event version 2): the verified e-mail address in the access token.

The API e-mails a caller who asks to be notified at the ``email`` claim of the token it receives,
the access token (functions/api/auth.py ``notify_address``), and Cognito puts no ``email`` claim in
access tokens by itself. This trigger adds it, and only for an address the user pool has verified
(``email_verified`` is ``"true"``): an unverified address or none leaves the event as it came, so
the token is issued as Cognito would have issued it. Nothing here connects to anything.
"""

from __future__ import annotations

from typing import Any

EMAIL_CLAIM = "email"


def verified_email(user_attributes: dict[str, Any]) -> str | None:
    """The user's address when the pool has verified it; Cognito sends attributes as strings."""
    address = user_attributes.get("email")
    if not address or str(user_attributes.get("email_verified", "")).lower() != "true":
        return None
    return str(address)


def with_access_token_claims(event: dict[str, Any], claims: dict[str, str]) -> dict[str, Any]:
    """``event`` with ``claims`` added to the access token's claims, keeping any override already there."""
    response = event.get("response") or {}
    details = response.get("claimsAndScopeOverrideDetails") or {}
    access = details.get("accessTokenGeneration") or {}
    added = {**(access.get("claimsToAddOrOverride") or {}), **claims}
    access = {**access, "claimsToAddOrOverride": added}
    details = {**details, "accessTokenGeneration": access}
    return {**event, "response": {**response, "claimsAndScopeOverrideDetails": details}}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    address = verified_email((event.get("request") or {}).get("userAttributes") or {})
    if address is None:
        return event
    return with_access_token_claims(event, {EMAIL_CLAIM: address})
