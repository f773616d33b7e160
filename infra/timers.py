"""Functions run on a timer: a factory-built function and the EventBridge rate rule that invokes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import FunctionConfig
from infra.functions import PythonFunctionFactory


@dataclass(frozen=True)
class TimedFunction:
    function: lambda_.Function
    rule: events.Rule


def timed_function(
    scope: Construct,
    construct_id: str,
    *,
    factory: PythonFunctionFactory,
    every: Duration,
    rule_id: str,
    rule_description: str,
    handler: str,
    sizing: FunctionConfig,
    environment: Mapping[str, str],
    description: str,
) -> TimedFunction:
    """Function ``construct_id`` invoked every ``every`` by rule ``rule_id``.

    A failed run is not retried by EventBridge (``retry_attempts=0``): the next tick runs the same work.
    """
    function = factory.create(
        scope, construct_id, handler=handler, sizing=sizing, environment=environment, description=description
    )
    rule = events.Rule(
        scope,
        rule_id,
        description=rule_description,
        schedule=events.Schedule.rate(every),
        targets=[targets.LambdaFunction(function, retry_attempts=0)],
    )
    return TimedFunction(function, rule)
