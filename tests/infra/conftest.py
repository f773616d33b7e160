"""Synthesize the stack once per session per environment (bundling skipped: no pip, no Docker).

cdk-nag runs as a validation plugin inside ``app.synth()``: if any finding is not acknowledged,
synth raises and every test here errors, so the fixture itself is the nag gate.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.stack import ExportServiceStack

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Synthesized:
    app: cdk.App
    stack: ExportServiceStack
    template: Template
    outdir: Path

    @property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return self.template.find_resources(type_)

    def app_functions(self) -> dict[str, dict[str, Any]]:
        """The service's own Python functions (not CDK's helper functions, such as BucketDeployment's)."""
        return {
            logical_id: resource
            for logical_id, resource in self.resources("AWS::Lambda::Function").items()
            if str(resource["Properties"].get("Runtime", "")).startswith("python")
            and not logical_id.startswith("CustomCDKBucketDeployment")
        }

    def shared_layer(self) -> tuple[str, dict[str, Any]]:
        """(logical id, resource) of the domain package's layer (not CDK's AWS CLI layer)."""
        layers = {k: v for k, v in self.resources("AWS::Lambda::LayerVersion").items() if k.startswith("Shared")}
        assert len(layers) == 1, list(layers)
        return next(iter(layers.items()))

    def function(self, handler: str) -> tuple[str, dict[str, Any]]:
        """(logical id, resource) of the one function with ``handler``."""
        matches = [(k, v) for k, v in self.app_functions().items() if v["Properties"]["Handler"] == handler]
        assert len(matches) == 1, f"expected one function with handler {handler}"
        return matches[0]


def cdk_context() -> dict[str, Any]:
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def synthesize(env: str, outdir: Path) -> Synthesized:
    app = cdk.App(
        context={**cdk_context(), "env": env, "aws:cdk:bundling-stacks": [], "aws:cdk:enable-asset-metadata": True},
        outdir=str(outdir),
    )
    app, stack = build_app(app)
    app.synth()
    return Synthesized(app, stack, Template.from_stack(stack), outdir)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("prod", tmp_path_factory.mktemp("cdk-prod"))
