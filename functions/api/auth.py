"""Who is calling: the claims API Gateway's JWT authorizer verified and passed on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from api.errors import UnusableSubject
from exporter.errors import InvalidRequest
from exporter.jobs.model import Caller
from exporter.notifications.recipients import usable_address
from exporter.settings import ADMIN_GROUP

GROUP_CLAIMS = ("cognito:groups", "groups")
# The longest user id the jobs table stores (exports.creator_id, shared_exports.user_id).
MAX_USER_ID = 256
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def groups(claims: Mapping[str, Any]) -> list[str]:
    """The caller's groups.

    A list claim is taken as it is. API Gateway (HTTP API) passes an array claim on as one string,
    ``"[a b c]"``: that is split on spaces between the brackets. Any other string is one group name.
    """
    raw = next((claims[name] for name in GROUP_CLAIMS if claims.get(name)), None)
    if isinstance(raw, list):
        return [str(group) for group in raw]
    if not isinstance(raw, str):
        return []
    if raw.startswith("[") and raw.endswith("]"):
        return [group for group in raw[1:-1].split(" ") if group]
    return [raw]


def usable(subject: Any) -> str | None:
    """``subject`` as a user id, or None when it cannot be one (missing, NUL, unpaired surrogate, too long)."""
    if not subject:
        return None
    user_id = str(subject)
    if len(user_id) > MAX_USER_ID or _UNSTORABLE.search(user_id):
        return None
    return user_id


def subject_of(event: Mapping[str, Any]) -> str | None:
    """The usable subject of a raw API Gateway event's verified token, or None (no token, or no usable sub)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    return usable(claims.get("sub"))


def _claims(router: BaseRouter) -> Mapping[str, Any]:
    event = cast(APIGatewayProxyEventV2, router.current_event)
    authorizer = event.request_context.authorizer
    return (authorizer.jwt_claim if authorizer else None) or {}


def current_caller(router: BaseRouter) -> Caller:
    """The caller of the request ``router`` is answering; 401 without a subject, or one that is no user id."""
    claims = _claims(router)
    subject = claims.get("sub")
    if not subject:
        raise UnauthorizedError("Unauthorized")
    user_id = usable(subject)
    if user_id is None:
        raise UnusableSubject(str(subject))
    member_of = groups(claims)
    return Caller(user_id=user_id, is_admin=ADMIN_GROUP in member_of, groups=tuple(member_of))


def notify_address(router: BaseRouter) -> str:
    """Where to e-mail the caller about a job they asked to hear about: their token's ``email`` claim.

    401 as :func:`current_caller`; 400 when the token has no ``email`` claim, says it is not verified
    (``email_verified: false``), or holds something that is no address.
    """
    current_caller(router)
    claims = _claims(router)
    raw = claims.get("email")
    if not raw:
        raise InvalidRequest("notify: your token has no email claim, so there is no address to e-mail")
    if str(claims.get("email_verified", "true")).lower() == "false":
        raise InvalidRequest("notify: the e-mail address in your token is not verified")
    address = usable_address(raw)
    if address is None:
        raise InvalidRequest("notify: the email claim of your token is not an e-mail address")
    return address
