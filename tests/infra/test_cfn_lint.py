"""cfn-lint over the synthesized templates: CloudFormation would accept every resource as written."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_given_the_synthesized_template_then_cfn_lint_finds_no_errors(env: str, request) -> None:
    synth = request.getfixturevalue(env)
    matches = lint(json.dumps(synth.json), config=ManualArgs(regions=["us-east-1"]))
    errors = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
