"""The registry of source applications: which applications exist, the resources each serves, their filters.

Read from configuration (a JSON document: per environment in ``cdk.json`` for AWS, the local
stack's own under ``.local/``), shaped as::

    {"inventory": {"resources": {"hosts": {"filters": ["name"]}}, "secret_arn": "arn:..."}}

``secret_arn`` names the Secrets Manager secret that holds the application's pre-shared key.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class ResourceConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filters: list[str] = Field(default_factory=list, description="The filter names this resource honours")


class ApplicationConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    resources: dict[str, ResourceConfig]
    secret_arn: str | None = None


class Catalogue(BaseModel):
    """Every source application, by name."""

    model_config = ConfigDict(frozen=True)

    applications: dict[str, ApplicationConfig] = Field(default_factory=dict)

    def resource(self, application: str, resource: str) -> ResourceConfig | None:
        app = self.applications.get(application)
        return app.resources.get(resource) if app else None


def parse_catalogue(text: str | None) -> Catalogue:
    """The registry from its JSON document (``None`` or empty: no applications); ValueError when malformed."""
    if not text or not text.strip():
        return Catalogue()
    try:
        catalogue = Catalogue(applications=json.loads(text))
    except (ValueError, ValidationError) as error:
        raise ValueError(f"the applications registry is not valid: {error}") from error
    bad = [name for name in catalogue.applications if not re.match(NAME_PATTERN, name)]
    if bad:
        raise ValueError(f"application names must match {NAME_PATTERN}: {bad}")
    return catalogue


def load_catalogue(text: str | None, file: str | None) -> Catalogue:
    """The registry from a setting holding its JSON, else from the file a setting names, else empty."""
    if text and text.strip():
        return parse_catalogue(text)
    if file:
        with open(file, encoding="utf-8") as handle:
            return parse_catalogue(handle.read())
    return Catalogue()
