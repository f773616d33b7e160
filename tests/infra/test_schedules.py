"""Schedules in the template: the Scheduler group, the role it assumes, the fire function, the API's permissions."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

FIRE_HANDLER = "scheduler.handler.lambda_handler"


def _statements(synth, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to ``role_logical_id``."""
    found: list[dict[str, Any]] = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        props = policy["Properties"]
        if {"Ref": role_logical_id} in props.get("Roles", []):
            found.extend(props["PolicyDocument"]["Statement"])
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _scheduler_role(synth) -> str:
    roles = {
        logical_id: role
        for logical_id, role in synth.resources("AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "scheduler.amazonaws.com"
    }
    assert len(roles) == 1, list(roles)
    return next(iter(roles))


def test_given_the_stack_then_there_is_a_schedule_group_and_a_fire_function_with_its_dlq(dev) -> None:
    dev.template.has_resource_properties("AWS::Scheduler::ScheduleGroup", {})
    fire_id, fire = dev.function(FIRE_HANDLER)
    assert fire["Properties"]["Timeout"] <= 60
    dev.template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600}
    )
    api = dev.function("api.handler.lambda_handler")[1]["Properties"]["Environment"]["Variables"]
    assert api["SCHEDULE_TARGET_ARN"] == {"Fn::GetAtt": [fire_id, "Arn"]}
    assert api["SCHEDULE_GROUP"]["Ref"] in dev.resources("AWS::Scheduler::ScheduleGroup")
    assert api["MAX_SCHEDULES_PER_USER"] == "20"


def test_given_the_scheduler_role_then_it_may_only_invoke_the_fire_function_and_feed_its_dlq(dev) -> None:
    role_id = _scheduler_role(dev)
    fire_id, _ = dev.function(FIRE_HANDLER)
    dev.template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    )
                ]
            }
        },
    )
    statements = _statements(dev, role_id)
    invoke = [s for s in statements if "lambda:InvokeFunction" in _actions(s)]
    assert [s["Resource"] for s in invoke] == [{"Fn::GetAtt": [fire_id, "Arn"]}]
    others = [a for s in statements for a in _actions(s) if a != "lambda:InvokeFunction"]
    assert others and all(a.startswith("sqs:") for a in others), others
    assert not any(s["Resource"] == "*" for s in statements)


def test_given_the_api_then_it_manages_schedules_in_the_group_only_and_passes_only_the_scheduler_role(dev) -> None:
    role_id = _scheduler_role(dev)
    api_role = dev.function("api.handler.lambda_handler")[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = _statements(dev, api_role)
    scheduler = [s for s in statements if any(a.startswith("scheduler:") for a in _actions(s))]
    assert len(scheduler) == 1
    assert sorted(_actions(scheduler[0])) == [
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
        "scheduler:UpdateSchedule",
    ]
    (group_id,) = dev.resources("AWS::Scheduler::ScheduleGroup")
    resource = scheduler[0]["Resource"]["Fn::Join"][1]
    assert {"Ref": group_id} in resource and resource[-1] == "/*"
    (pass_role,) = [s for s in statements if "iam:PassRole" in _actions(s)]
    assert pass_role["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_given_the_fire_function_then_it_reaches_the_database_and_sends_to_the_job_queue(dev) -> None:
    _, fire = dev.function(FIRE_HANDLER)
    statements = _statements(dev, fire["Properties"]["Role"]["Fn::GetAtt"][0])
    actions = {a for s in statements for a in _actions(s)}
    assert "sqs:SendMessage" in actions
    assert "secretsmanager:GetSecretValue" in actions
    assert not any(a.startswith("scheduler:") or a == "iam:PassRole" for a in actions)
