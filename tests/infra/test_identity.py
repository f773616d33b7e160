"""The user pool puts the verified e-mail address in access tokens through its pre-token-generation trigger."""

from __future__ import annotations

import json
from pathlib import Path

TRIGGER = "token_trigger.handler.lambda_handler"
ROOT = Path(__file__).resolve().parents[2]


def test_given_cognito_mode_then_the_pool_runs_the_email_claim_function_as_its_version_2_token_trigger(
    dev, prod
) -> None:
    for synth in (dev, prod):
        function_id, _ = synth.function(TRIGGER)
        (pool,) = synth.resources("AWS::Cognito::UserPool").values()
        props = pool["Properties"]
        # Essentials is the plan on which version 2 events may change access tokens.
        assert props["UserPoolTier"] == "ESSENTIALS"
        assert props["LambdaConfig"] == {
            "PreTokenGenerationConfig": {
                "LambdaArn": {"Fn::GetAtt": [function_id, "Arn"]},
                "LambdaVersion": "V2_0",
            }
        }


def test_given_the_token_trigger_then_only_the_stack_user_pool_may_invoke_it(dev) -> None:
    function_id, _ = dev.function(TRIGGER)
    pool_id = next(iter(dev.resources("AWS::Cognito::UserPool")))
    permissions = [
        p["Properties"]
        for p in dev.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            "Principal": "cognito-idp.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [pool_id, "Arn"]},
        }
    ]


def test_given_the_token_trigger_then_it_runs_outside_the_vpc_and_may_call_nothing(dev) -> None:
    _, function = dev.function(TRIGGER)
    props = function["Properties"]
    assert "VpcConfig" not in props
    assert props["Timeout"] <= 5  # Cognito gives a trigger 5 s
    role_id = props["Role"]["Fn::GetAtt"][0]
    policies = [
        sorted(statement["Action"])
        for policy in dev.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert policies == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]
    managed = dev.resources("AWS::IAM::Role")[role_id]["Properties"]["ManagedPolicyArns"]
    assert len(managed) == 1 and "AWSLambdaBasicExecutionRole" in json.dumps(managed)


def test_given_an_existing_oidc_issuer_then_there_is_no_token_trigger(tmp_path) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.app import build_app

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["environments"]["dev"]["auth"] = {"issuer": "https://login.example.org/", "audience": ["exports"]}
    app = cdk.App(context={**context, "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    _, stack = build_app(app)
    handlers = {
        fn["Properties"].get("Handler")
        for fn in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    }
    assert TRIGGER not in handlers
