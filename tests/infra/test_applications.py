"""Application sources: the bus and its rules, the keys, the internal routes, the assembler, parts, SES."""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from conftest import Synthesized, cdk_context
from test_iam_and_migrations import as_list, policy_of

from infra.app import build_app

API = "api.handler.lambda_handler"
INTERNAL = "internal.handler.lambda_handler"
ASSEMBLER = "assembler.handler.lambda_handler"
SWEEP = "assembler.sweep.lambda_handler"
WORKER = "worker.handler.lambda_handler"
SWEEPER = "worker.sweeper.lambda_handler"  # fails jobs whose lease lapsed: their owners get the e-mail

QUEUE_TARGET = "arn:aws:sqs:us-east-1:111122223333:inventory-requests"
FUNCTION_TARGET = "arn:aws:lambda:us-east-1:111122223333:function:advisor-requests"
DESTINATION_TARGET = (
    "arn:aws:events:us-east-1:111122223333:api-destination/billing/0a1b2c3d-0000-4000-8000-000000000000"
)
SENDER = "exports@example.org"

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def with_targets(environments: dict) -> dict:
    """dev with a target of each kind, a third application and an e-mail sender."""
    environments = json.loads(json.dumps(environments))
    dev = environments["dev"]
    dev["applications"]["inventory"]["targetArn"] = QUEUE_TARGET
    dev["applications"]["advisor"]["targetArn"] = FUNCTION_TARGET
    dev["applications"]["billing"] = {
        "resources": {"invoices": {"filters": ["month"]}},
        "targetArn": DESTINATION_TARGET,
    }
    dev["email"] = {"sender": SENDER}
    return environments


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """dev with targets and a sender; synth runs cdk-nag, so an unacknowledged finding fails here."""
    context = cdk_context()
    outdir = tmp_path_factory.mktemp("cdk-applications")
    app = cdk.App(
        context={
            **context,
            "environments": with_targets(context["environments"]),
            "env": "dev",
            "aws:cdk:bundling-stacks": [],
        },
        outdir=str(outdir),
    )
    app, stack = build_app(app)
    app.synth()
    return Synthesized(app, stack, Template.from_stack(stack), Path(outdir))


def env_of(synth: Synthesized, handler: str) -> dict:
    return synth.function(handler)[1]["Properties"]["Environment"]["Variables"]


def actions_on(synth: Synthesized, handler: str) -> dict[str, set[str]]:
    """Each action of the function's role, with the resources (rendered as JSON) it is granted on."""
    granted: dict[str, set[str]] = {}
    for statement in policy_of(synth, handler):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(json.dumps(r) for r in as_list(statement["Resource"]))
    return granted


def bus_id(synth: Synthesized) -> str:
    (logical_id,) = synth.resources("AWS::Events::EventBus")
    return logical_id


def logical_id(synth: Synthesized, type_: str, prefix: str) -> str:
    matches = [k for k in synth.resources(type_) if k.startswith(prefix)]
    assert len(matches) == 1, (type_, prefix, matches)
    return matches[0]


def assembly_queue(synth: Synthesized) -> str:
    (queue,) = (
        k for k in synth.resources("AWS::SQS::Queue") if k.startswith("ApplicationsAssembly") and "Dead" not in k
    )
    return queue


# --- the bus and the rules -------------------------------------------------------------------------


@pytest.mark.parametrize("handler", [API, WORKER, "worker.sweeper.lambda_handler", ASSEMBLER])
def test_given_the_service_bus_then_requests_and_job_events_are_published_on_it_and_on_no_other(dev, handler) -> None:
    bus = bus_id(dev)
    assert env_of(dev, handler)["EVENT_BUS_NAME"] == {"Ref": bus}
    assert actions_on(dev, handler)["events:PutEvents"] == {json.dumps({"Fn::GetAtt": [bus, "Arn"]})}


def test_given_the_functions_that_publish_nothing_then_they_may_not_put_events(dev) -> None:
    for handler in (INTERNAL, SWEEP, "capture.handler.lambda_handler"):
        assert "events:PutEvents" not in actions_on(dev, handler), handler


def test_given_the_registry_then_the_api_gets_it_without_any_key(dev) -> None:
    registry = json.loads(env_of(dev, API)["APPLICATIONS"])
    assert registry == {
        "advisor": {"resources": {"recommendations": {"filters": []}}},
        "inventory": {"resources": {"hosts": {"filters": ["name"]}}},
    }


def test_given_applications_without_a_target_then_no_rule_is_on_the_bus(dev) -> None:
    on_bus = [r for r in dev.resources("AWS::Events::Rule").values() if "EventBusName" in r["Properties"]]
    assert on_bus == []


@pytest.mark.parametrize(
    ("application", "target"),
    [("inventory", QUEUE_TARGET), ("advisor", FUNCTION_TARGET), ("billing", DESTINATION_TARGET)],
)
def test_given_a_target_in_the_configuration_then_a_rule_routes_that_applications_requests_to_it(
    wired, application, target
) -> None:
    wired.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": {"Ref": bus_id(wired)},
            "EventPattern": {
                "source": ["export-service"],
                "detail-type": ["Export Requested"],
                "detail": {"application": [application]},
            },
            "State": "ENABLED",
            "Targets": [Match.object_like({"Arn": target})],
        },
    )


def test_given_a_lambda_target_then_only_its_rule_may_invoke_it(wired) -> None:
    rule = next(
        k
        for k, r in wired.resources("AWS::Events::Rule").items()
        if r["Properties"].get("EventPattern", {}).get("detail") == {"application": ["advisor"]}
    )
    wired.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": FUNCTION_TARGET,
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule, "Arn"]},
        },
    )


def test_given_an_api_destination_target_then_the_rule_assumes_a_role_that_may_only_invoke_it(wired) -> None:
    rule = next(
        r["Properties"]
        for r in wired.resources("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail") == {"application": ["billing"]}
    )
    role = rule["Targets"][0]["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in wired.resources("AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"] == [{"Ref": role}]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert [(s["Action"], s["Effect"]) for s in statements] == [("events:InvokeApiDestination", "Allow")]
    # IAM names an API destination by its name; its ARN adds an id.
    assert set(statements[0]["Resource"]) == {DESTINATION_TARGET, DESTINATION_TARGET.rsplit("/", 1)[0]}


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:s3:::a-bucket", "arn:aws:events:us-east-1:111122223333:rule/other", "not-an-arn"],
)
def test_given_a_target_that_is_not_a_queue_function_or_api_destination_then_loading_fails(arn) -> None:
    from infra.config import ConfigError, load_config

    environments = json.loads(json.dumps(cdk_context()["environments"]))
    environments["dev"]["applications"]["inventory"]["targetArn"] = arn
    with pytest.raises(ConfigError, match=r"inventory\.targetArn"):
        load_config("dev", environments)


# --- the keys and the internal API -----------------------------------------------------------------


def test_given_each_application_then_its_key_is_generated_in_secrets_manager(dev) -> None:
    for application in ("inventory", "advisor"):
        dev.template.has_resource_properties(
            "AWS::SecretsManager::Secret",
            {
                "Description": Match.string_like_regexp(f"Pre-shared key of the {application} application"),
                "GenerateSecretString": {"ExcludePunctuation": True, "PasswordLength": 64},
            },
        )


def test_given_the_internal_function_then_it_reads_the_keys_and_the_database_secret_only(dev) -> None:
    keys = {
        json.dumps({"Ref": k}) for k in dev.resources("AWS::SecretsManager::Secret") if k.startswith("Applications")
    }
    database = json.dumps(env_of(dev, INTERNAL)["DATABASE_SECRET_ARN"])
    assert len(keys) == 2
    assert actions_on(dev, INTERNAL)["secretsmanager:GetSecretValue"] == keys | {database}
    registry = json.dumps(env_of(dev, INTERNAL)["APPLICATIONS"])  # a Fn::Join naming each key's secret
    assert all(key in registry for key in keys)
    for handler in (API, ASSEMBLER, WORKER):
        granted = actions_on(dev, handler).get("secretsmanager:GetSecretValue", set())
        assert not any(json.dumps({"Ref": key}) in granted for key in keys), handler


def test_given_the_internal_routes_then_they_have_no_jwt_authorizer_and_reach_the_internal_function(dev) -> None:
    internal_fn, _ = dev.function(INTERNAL)
    integrations = {
        k
        for k, i in dev.resources("AWS::ApiGatewayV2::Integration").items()
        if i["Properties"]["IntegrationUri"] == {"Fn::GetAtt": [internal_fn, "Arn"]}
    }
    assert len(integrations) == 1
    for suffix in ("upload", "error"):
        dev.template.has_resource_properties(
            "AWS::ApiGatewayV2::Route",
            {
                "RouteKey": f"POST /app/export/v1/{{export_id}}/{{application}}/{{resource}}/{suffix}",
                "AuthorizationType": "NONE",
                "Target": {"Fn::Join": ["", ["integrations/", {"Ref": next(iter(integrations))}]]},
            },
        )


def test_given_the_internal_function_then_it_writes_parts_and_sends_assemblies(dev) -> None:
    granted = actions_on(dev, INTERNAL)
    assembly = assembly_queue(dev)
    assert any("/parts/*" in r for r in granted["s3:PutObject"])
    assert all("/parts/*" in r for r in granted["s3:PutObject"] | granted["s3:GetObject"])
    assert granted["sqs:SendMessage"] == {json.dumps({"Fn::GetAtt": [assembly, "Arn"]})}
    variables = env_of(dev, INTERNAL)
    assert variables["ASSEMBLY_QUEUE_URL"] == {"Ref": assembly}
    assert {"MAX_UPLOAD_BYTES", "UPLOAD_URL_TTL_SECONDS", "DATABASE_HOST", "S3_BUCKET"} <= set(variables)


# --- the assembler ---------------------------------------------------------------------------------


def test_given_the_assembly_queue_then_it_redrives_into_its_dead_letter_queue(dev) -> None:
    dead_letters = logical_id(dev, "AWS::SQS::Queue", "ApplicationsAssemblyDeadLetters")
    dev.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]}, "maxReceiveCount": 5},
            "SqsManagedSseEnabled": True,
            "VisibilityTimeout": 6 * 300,
        },
    )


def test_given_the_assembler_then_it_consumes_the_assembly_queue_reporting_batch_failures(dev) -> None:
    assembler, _ = dev.function(ASSEMBLER)
    queue = assembly_queue(dev)
    dev.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": assembler},
            "EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 1,
        },
    )
    granted = actions_on(dev, ASSEMBLER)
    assert all("/parts/*" in r for r in granted["s3:GetObject"] - granted.get("s3:PutObject", set()))
    assert any("/outputs/*" in r for r in granted["s3:PutObject"])
    assert "s3:DeleteObject" not in granted
    assert env_of(dev, ASSEMBLER)["ASSEMBLY_QUEUE_URL"] == {"Ref": queue}


def test_given_the_sources_sweep_then_it_runs_on_a_schedule_with_the_source_timeout(dev) -> None:
    sweep, _ = dev.function(SWEEP)
    dev.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(5 minutes)",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [sweep, "Arn"]}})],
        },
    )
    assert env_of(dev, SWEEP)["SOURCE_TIMEOUT_SECONDS"] == "3600"
    assert "sqs:SendMessage" in actions_on(dev, SWEEP)


def test_given_the_new_functions_then_they_go_through_the_rds_proxy_and_wait_for_migrations(dev) -> None:
    for handler in (INTERNAL, ASSEMBLER, SWEEP):
        variables = env_of(dev, handler)
        assert "DATABASE_HOST" in variables and "DATABASE_SECRET_ARN" in variables, handler
        assert "secretsmanager:GetSecretValue" in actions_on(dev, handler), handler


# --- parts and e-mail ------------------------------------------------------------------------------


def test_given_the_exports_bucket_then_uploaded_parts_expire_after_a_few_days(dev) -> None:
    dev.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [{"Id": "expire-parts", "Prefix": "parts/", "ExpirationInDays": 3, "Status": "Enabled"}]
                )
            }
        },
    )


def test_given_no_sender_then_there_is_no_identity_and_no_one_may_send_email(dev) -> None:
    assert dev.resources("AWS::SES::EmailIdentity") == {}
    for handler in (WORKER, SWEEPER, ASSEMBLER):
        assert "ses:SendEmail" not in actions_on(dev, handler)
        assert env_of(dev, handler)["UI_BASE_URL"]


def test_given_a_sender_then_the_worker_sweeper_and_assembler_may_send_as_that_identity_only(wired) -> None:
    (identity,) = wired.resources("AWS::SES::EmailIdentity")
    wired.template.has_resource_properties("AWS::SES::EmailIdentity", {"EmailIdentity": SENDER})
    for handler in (WORKER, SWEEPER, ASSEMBLER):
        granted = actions_on(wired, handler)["ses:SendEmail"]
        assert len(granted) == 1 and identity in next(iter(granted)), (handler, granted)
        variables = env_of(wired, handler)
        assert variables["EMAIL_SENDER"] == SENDER
        assert variables["UI_BASE_URL"] == wired.json["Outputs"]["WebUrl"]["Value"]
    for handler in (API, INTERNAL, SWEEP):
        assert "ses:SendEmail" not in actions_on(wired, handler), handler


def test_given_the_stack_then_operators_find_the_bus_the_queue_and_the_key_secrets_in_its_outputs(dev) -> None:
    outputs = dev.template.to_json()["Outputs"]
    assert outputs["EventBusName"]["Value"] == {"Ref": bus_id(dev)}
    assert {"AssemblyQueueUrl", "ApplicationKeySecrets"} <= set(outputs)
