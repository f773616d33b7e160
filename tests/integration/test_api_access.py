"""Who may see and do what: every endpoint for the creator, a shared user, a stranger, an admin, no token."""

from __future__ import annotations

import pytest

from exporter.settings import ADMIN_GROUP
from local.observations import insert_observations
from tests.support import observation

QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}

# caller → (user, groups)
CALLERS = {
    "creator": ("alice", None),
    "shared": ("bob", None),
    "stranger": ("mallory", None),
    "admin": ("root-admin", [ADMIN_GROUP]),
    "no token": (None, None),
}


@pytest.fixture
def shared_export(api, db, drain) -> str:
    insert_observations(db, [observation(i) for i in range(3)])
    created = api("POST", "/exports", user="alice", body={"query": QUERY})
    assert created.status == 202
    export_id = created.body["export_id"]
    assert api("POST", f"/exports/{export_id}/share", user="alice", body={"user_ids": ["bob"]}).status == 200
    drain()
    return export_id


# (method, path template, body) → expected status per caller
CASES = [
    ("GET", "/exports/{id}", None, {"creator": 200, "shared": 200, "stranger": 404, "admin": 200, "no token": 401}),
    (
        "POST",
        "/exports/{id}/share",
        {"user_ids": ["carol"]},
        {"creator": 200, "shared": 403, "stranger": 404, "admin": 200, "no token": 401},
    ),
    (
        "POST",
        "/exports/{id}/unshare",
        {"user_ids": ["carol"]},
        {"creator": 200, "shared": 403, "stranger": 404, "admin": 200, "no token": 401},
    ),
    ("DELETE", "/exports/{id}", None, {"creator": 204, "shared": 403, "stranger": 404, "admin": 204, "no token": 401}),
]


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize(("method", "path", "body", "expected"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_export_endpoints_by_caller(api, shared_export, caller, method, path, body, expected) -> None:
    user, groups = CALLERS[caller]
    reply = api(method, path.format(id=shared_export), user=user, groups=groups, body=body)
    assert reply.status == expected[caller], reply.body
    if reply.status == 404:
        # a stranger learns nothing: the same answer as for an export that never existed
        never = api(method, path.format(id="00000000-0000-0000-0000-000000000000"), user=user, body=body)
        assert (never.status, never.body["message"]) == (404, reply.body["message"])


@pytest.mark.parametrize("caller", list(CALLERS))
def test_list_shows_own_and_shared_exports_only(api, shared_export, caller) -> None:
    user, groups = CALLERS[caller]
    reply = api("GET", "/exports", user=user, groups=groups)
    if caller == "no token":
        assert reply.status == 401
        return
    assert reply.status == 200
    ids = [item["export_id"] for item in reply.body["items"]]
    assert ids == ([shared_export] if caller in ("creator", "shared") else [])


@pytest.mark.parametrize(
    ("caller", "status"), [("creator", 200), ("shared", 403), ("stranger", 403), ("admin", 200), ("no token", 401)]
)
def test_listing_another_users_exports_needs_admin(api, shared_export, caller, status) -> None:
    user, groups = CALLERS[caller]
    reply = api("GET", "/exports", user=user, groups=groups, query={"user_id": "alice"})
    assert reply.status == status
    if status == 200:
        assert [item["export_id"] for item in reply.body["items"]] == [shared_export]


@pytest.mark.parametrize("caller", list(CALLERS))
def test_field_catalogue_needs_a_caller(api, caller) -> None:
    user, groups = CALLERS[caller]
    reply = api("GET", "/exports/fields", user=user, groups=groups)
    if caller == "no token":
        assert reply.status == 401
    else:
        assert reply.status == 200
        assert {"name": "Observer UUID", "path": "observer.uuid", "is_default": True}.items() <= reply.body[0].items()


@pytest.mark.parametrize("caller", list(CALLERS))
def test_creating_an_export_makes_the_caller_its_creator(api, db, caller) -> None:
    user, groups = CALLERS[caller]
    reply = api("POST", "/exports", user=user, groups=groups, body={"query": QUERY})
    if caller == "no token":
        assert reply.status == 401
    else:
        assert reply.status == 202
        assert reply.body["creator_id"] == user
        assert reply.body["status"] == "pending"


def test_download_url_only_for_those_who_see_the_export(api, shared_export) -> None:
    for user in ("alice", "bob"):
        reply = api("GET", f"/exports/{shared_export}", user=user)
        assert reply.body["status"] == "completed"
        assert reply.body["url"].startswith("http")
    assert api("GET", f"/exports/{shared_export}", user="mallory").body == {
        "message": "export not found",
        "status": 404,
    }
