"""Acknowledging cdk-nag findings: one rule per call, always with a specific reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

MIN_REASON_LENGTH = 40


def acknowledge(scope: IConstruct, *, id: str, reason: str) -> None:
    """Accept finding ``id`` on ``scope`` and everything below it, for ``reason``."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledgement of {id} needs a specific reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=id, reason=reason))
