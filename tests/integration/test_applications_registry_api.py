"""The registry as users see it: ``GET /api/export/v1/applications`` lists applications, resources and filters."""

from __future__ import annotations

import json

from tests.integration.applications_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.applications_fixtures import KEYS, Sources

REGISTRY = "/api/export/v1/applications"


def test_a_signed_in_user_sees_each_application_its_resources_and_their_filters(api, sources: Sources) -> None:
    # WHEN alice asks for the registry
    reply = api("GET", REGISTRY)
    # THEN she sees both applications by name, each resource with the filters it honours
    assert reply.status == 200, reply.body
    assert reply.body == {
        "applications": [
            {"name": "advisor", "resources": [{"name": "recommendations", "filters": []}]},
            {"name": "inventory", "resources": [{"name": "hosts", "filters": ["name"]}]},
        ]
    }


def test_the_registry_never_shows_a_key_or_where_one_is_kept(api, sources: Sources) -> None:
    text = json.dumps(api("GET", REGISTRY).body)
    assert "secret" not in text and "arn:" not in text
    assert all(key not in text for key in KEYS.values())


def test_without_a_token_the_registry_is_401(api, sources: Sources) -> None:
    reply = api("GET", REGISTRY, user=None)
    assert reply.status == 401
    assert "inventory" not in json.dumps(reply.body)


def test_a_deployment_without_applications_lists_none(api, sources: Sources, monkeypatch) -> None:
    from api import dependencies as api_deps
    from api.routes import applications as routes

    monkeypatch.delenv("APPLICATIONS")
    for cached in (api_deps.settings, api_deps.dependencies, routes.applications):
        cached.cache_clear()
    assert api("GET", REGISTRY).body == {"applications": []}
