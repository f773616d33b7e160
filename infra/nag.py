"""Acknowledging cdk-nag findings: one rule per call, always with a specific reason."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

MIN_REASON_LENGTH = 40


def acknowledge(scope: IConstruct, *, id: str, reason: str) -> None:
    """Accept finding ``id`` (``AwsSolutions-S1``, ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` and below.

    Stored as ``AwsSolutions::<id>``, the plugin-qualified form CDK's validation report asks for.
    """
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledgement of {id} needs a specific reason, got {reason!r}")
    pack = id.split("-", 1)[0]
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{pack}::{id}", reason=reason))


def finding_resource(scope: IConstruct, arn: str) -> str:
    """How cdk-nag spells ``arn`` in an IAM5 finding id: tokens become ``<Ref>``/``<Logical.Attr>``."""
    return "Resource::" + _render(Stack.of(scope).resolve(arn))


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding")
