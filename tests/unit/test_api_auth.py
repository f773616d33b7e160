"""The caller comes from the JWT claims: the subject, and admin only for the exact admin group."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from api.auth import ADMIN_GROUP, current_caller, groups
from tests.support import http_event


def router_answering(claims: dict) -> SimpleNamespace:
    event = http_event("GET", "/exports")
    event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    return SimpleNamespace(current_event=APIGatewayProxyEventV2(event))


@pytest.mark.parametrize(
    ("claim", "is_admin"),
    [
        (["admin"], True),
        ("[admin other]", True),
        ("[other admin]", True),
        ("[admin]", True),
        (["x,admin"], False),
        (["[admin]"], False),
        ("[x,admin]", False),
        ("[[admin]]", False),
        ("x,admin", False),
        ("[administrators]", False),
        ([], False),
        ("[]", False),
    ],
)
def test_given_a_groups_claim_then_only_the_exact_admin_group_makes_an_admin(claim, is_admin) -> None:
    # GIVEN a token with this cognito:groups claim
    router = router_answering({"sub": "alice", "cognito:groups": claim})
    # WHEN the caller is resolved
    caller = current_caller(router)  # type: ignore[arg-type]
    # THEN it is an admin exactly when one group is the admin group
    assert (caller.user_id, caller.is_admin) == ("alice", is_admin)


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        (["a", "b c"], ["a", "b c"]),
        ("[a b c]", ["a", "b", "c"]),
        ("[a  b]", ["a", "b"]),
        ("a b", ["a b"]),
        (None, []),
        (7, []),
    ],
)
def test_given_a_list_or_a_flattened_list_then_the_groups_are_its_elements(claim, expected) -> None:
    assert groups({"cognito:groups": claim}) == expected


def test_given_an_oidc_groups_claim_then_it_is_read_too() -> None:
    assert current_caller(router_answering({"sub": "root", "groups": [ADMIN_GROUP]})).is_admin  # type: ignore[arg-type]


@pytest.mark.parametrize("claims", [{}, {"sub": ""}, {"cognito:groups": "[admin]"}])
def test_given_no_subject_then_the_caller_is_unauthorized(claims) -> None:
    with pytest.raises(UnauthorizedError):
        current_caller(router_answering(claims))  # type: ignore[arg-type]
