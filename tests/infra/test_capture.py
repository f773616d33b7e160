"""Captures: the capture queue and function, ElastiCache (Valkey), their secrets, grants and alarms."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from conftest import cdk_context
from test_iam_and_migrations import as_list, policy_of

CAPTURE = "capture.handler.lambda_handler"
API = "api.handler.lambda_handler"


def logical_id(synth, type_: str, prefix: str) -> str:
    matches = [k for k in synth.resources(type_) if k.startswith(prefix)]
    assert len(matches) == 1, (type_, prefix, matches)
    return matches[0]


def security_group_of(synth, handler: str) -> str:
    return synth.function(handler)[1]["Properties"]["VpcConfig"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]


def ingress_sources(synth, group_id: str) -> set[str]:
    return {
        rule["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for rule in synth.resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    }


def test_given_the_cache_then_it_is_encrypted_in_transit_and_at_rest_with_an_auth_token_from_secrets_manager(
    dev,
) -> None:
    secret_id = logical_id(dev, "AWS::SecretsManager::Secret", "CacheAuthToken")
    subnet_group_id = logical_id(dev, "AWS::ElastiCache::SubnetGroup", "CacheSubnetGroup")
    dev.template.has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "Engine": "valkey",
            "TransitEncryptionEnabled": True,
            "AtRestEncryptionEnabled": True,
            "AuthToken": {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]},
            "CacheSubnetGroupName": {"Ref": subnet_group_id},
            "CacheNodeType": "cache.t4g.micro",
        },
    )
    # ElastiCache AUTH allows only !&#$^<>- besides letters and digits: the token has none.
    dev.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": {"ExcludePunctuation": True, "PasswordLength": 64}},
    )
    data_subnets = {k for k in dev.resources("AWS::EC2::Subnet") if k.startswith("NetworkVpcdataSubnet")}
    subnets = dev.resources("AWS::ElastiCache::SubnetGroup")[subnet_group_id]["Properties"]["SubnetIds"]
    assert {s["Ref"] for s in subnets} == data_subnets and len(data_subnets) == 2


def test_given_the_cache_then_only_the_capture_function_reaches_its_port(dev) -> None:
    group = dev.resources("AWS::ElastiCache::ReplicationGroup")
    cache_sg = next(iter(group.values()))["Properties"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]
    assert ingress_sources(dev, cache_sg) == {security_group_of(dev, CAPTURE)}
    dev.template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {"GroupId": {"Fn::GetAtt": [cache_sg, "GroupId"]}, "FromPort": 6379, "ToPort": 6379, "IpProtocol": "tcp"},
    )
    assert "SecurityGroupIngress" not in dev.resources("AWS::EC2::SecurityGroup")[cache_sg]["Properties"]


def test_given_prod_then_the_cache_has_two_nodes_with_automatic_failover_and_dev_one(dev, prod) -> None:
    prod.template.has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {"NumCacheClusters": 2, "AutomaticFailoverEnabled": True, "MultiAZEnabled": True},
    )
    dev.template.has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {"NumCacheClusters": 1, "AutomaticFailoverEnabled": False, "MultiAZEnabled": False},
    )
    assert {r["DeletionPolicy"] for r in prod.resources("AWS::ElastiCache::ReplicationGroup").values()} == {"Retain"}
    assert {r["DeletionPolicy"] for r in dev.resources("AWS::ElastiCache::ReplicationGroup").values()} == {"Delete"}


def test_given_the_capture_function_then_it_runs_in_the_vpc_on_arm64_for_fifteen_minutes_from_the_capture_queue(
    dev,
) -> None:
    fn_id, fn = dev.function(CAPTURE)
    props = fn["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["Timeout"] == 900
    assert len(props["VpcConfig"]["SubnetIds"]) == 2
    queue_id = logical_id(dev, "AWS::SQS::Queue", "QueueCaptures")
    dev.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": fn_id},
            "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
            "BatchSize": 1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_given_the_capture_queue_then_it_redrives_to_the_job_dlq_and_outlasts_the_function(dev, prod) -> None:
    for synth in (dev, prod):
        queues = synth.resources("AWS::SQS::Queue")
        captures = queues[logical_id(synth, "AWS::SQS::Queue", "QueueCaptures")]["Properties"]
        jobs = queues[logical_id(synth, "AWS::SQS::Queue", "QueueJobs")]["Properties"]
        assert captures["RedrivePolicy"]["deadLetterTargetArn"] == jobs["RedrivePolicy"]["deadLetterTargetArn"]
        timeout = synth.function(CAPTURE)[1]["Properties"]["Timeout"]
        assert timeout + 60 <= captures["VisibilityTimeout"] <= 12 * 3600
        assert captures["SqsManagedSseEnabled"] is True


def test_given_the_api_then_it_knows_the_capture_queue_and_may_only_send_to_it(dev) -> None:
    queue_id = logical_id(dev, "AWS::SQS::Queue", "QueueCaptures")
    variables = dev.function(API)[1]["Properties"]["Environment"]["Variables"]
    assert variables["CAPTURE_QUEUE_URL"] == {"Ref": queue_id}
    arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    actions = {a for s in policy_of(dev, API) if arn in as_list(s["Resource"]) for a in as_list(s["Action"])}
    assert "sqs:SendMessage" in actions
    assert not {"sqs:ReceiveMessage", "sqs:DeleteMessage"} & actions


def test_given_a_window_longer_than_a_run_then_the_capture_may_queue_its_next_run_and_nothing_else(dev) -> None:
    queue_id = logical_id(dev, "AWS::SQS::Queue", "QueueCaptures")
    variables = dev.function(CAPTURE)[1]["Properties"]["Environment"]["Variables"]
    assert variables["CAPTURE_QUEUE_URL"] == {"Ref": queue_id}
    arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    sends = [s for s in policy_of(dev, CAPTURE) if "sqs:SendMessage" in as_list(s["Action"])]
    assert sends and all(as_list(s["Resource"]) == [arn] for s in sends)


def test_given_the_capture_function_then_it_reads_its_three_secrets_and_writes_outputs_and_checkpoints_only(
    dev,
) -> None:
    statements = policy_of(dev, CAPTURE)
    read = {
        resource["Ref"]
        for s in statements
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    expected = {
        logical_id(dev, "AWS::SecretsManager::Secret", "CaptureMaskingKey"),
        logical_id(dev, "AWS::SecretsManager::Secret", "CacheAuthToken"),
        next(iter(dev.resources("AWS::SecretsManager::SecretTargetAttachment"))),  # the database secret
    }
    assert read == expected
    s3 = {frozenset(a for a in as_list(s["Action"]) if a.startswith("s3:")): str(s["Resource"]) for s in statements}
    s3.pop(frozenset(), None)
    assert set(s3) == {
        frozenset({"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}),
        frozenset({"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}),
    }
    assert "/outputs/*" in s3[frozenset({"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"})]
    assert "/checkpoints/*" in s3[frozenset({"s3:PutObject", "s3:GetObject", "s3:DeleteObject"})]
    queue_id = logical_id(dev, "AWS::SQS::Queue", "QueueCaptures")
    arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    consumed = {a for s in statements if arn in as_list(s["Resource"]) for a in as_list(s["Action"])}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= consumed


def test_given_the_capture_function_then_it_points_at_valkey_over_tls_and_the_masking_secret(dev) -> None:
    variables = dev.function(CAPTURE)[1]["Properties"]["Environment"]["Variables"]
    group_id = next(iter(dev.resources("AWS::ElastiCache::ReplicationGroup")))
    assert variables["REDIS_SVC"] == {
        "Fn::Join": [
            "",
            [
                "rediss://",
                {"Fn::GetAtt": [group_id, "PrimaryEndPoint.Address"]},
                ":",
                {"Fn::GetAtt": [group_id, "PrimaryEndPoint.Port"]},
            ],
        ]
    }
    assert variables["REDIS_AUTH_SECRET_ARN"] == {"Ref": logical_id(dev, "AWS::SecretsManager::Secret", "CacheAuth")}
    assert variables["MASKING_SECRET_ARN"] == {"Ref": logical_id(dev, "AWS::SecretsManager::Secret", "CaptureMask")}


def test_given_the_capture_function_then_the_proxy_and_the_aws_endpoints_admit_it(dev) -> None:
    capture_sg = security_group_of(dev, CAPTURE)
    proxy = next(iter(dev.resources("AWS::RDS::DBProxy").values()))["Properties"]
    assert capture_sg in ingress_sources(dev, proxy["VpcSecurityGroupIds"][0]["Fn::GetAtt"][0])
    endpoint_groups = {
        e["Properties"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]
        for e in dev.resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    }
    assert endpoint_groups and all(capture_sg in ingress_sources(dev, g) for g in endpoint_groups)


def test_given_the_capture_function_then_its_errors_and_near_timeout_runs_raise_alarms(dev) -> None:
    fn_id, _ = dev.function(CAPTURE)
    topic_id = next(iter(dev.resources("AWS::SNS::Topic")))
    on_capture = Match.array_with([{"Name": "FunctionName", "Value": {"Ref": fn_id}}])
    dev.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "Errors", "Dimensions": on_capture, "Threshold": 1, "AlarmActions": [{"Ref": topic_id}]},
    )
    dev.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "Duration", "Dimensions": on_capture, "Statistic": "Maximum", "Threshold": 870_000},
    )


def test_given_the_stack_then_it_outputs_the_capture_queue_and_the_valkey_endpoint(dev) -> None:
    outputs = dev.template.find_outputs("*")
    assert {"CaptureQueueUrl", "RedisEndpoint", "RedisAuthSecretArn", "CaptureFunctionName", "VpcId"} <= set(outputs)
    assert outputs["CaptureQueueUrl"]["Value"] == {"Ref": logical_id(dev, "AWS::SQS::Queue", "QueueCaptures")}


def test_given_publisher_security_groups_in_the_configuration_then_they_too_reach_the_cache(tmp_path) -> None:
    from infra.cache import Cache
    from infra.config import load_config
    from infra.network import Network

    environments = cdk_context()["environments"]
    environments["dev"]["cache"]["publisherSecurityGroupIds"] = ["sg-0123456789abcdef0"]
    config = load_config("dev", environments)
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Probe")
    Cache(stack, "Cache", config=config, network=Network(stack, "Network", config=config))
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress", {"SourceSecurityGroupId": "sg-0123456789abcdef0", "FromPort": 6379}
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda env: env["settings"].update(CAPTURE_MAX_SECONDS=86401), "CAPTURE_MAX_SECONDS=86401"),
        (lambda env: env["functions"]["capture"].update(timeoutSeconds=100), "timeoutSeconds=100 leaves less"),
        (lambda env: env["functions"]["capture"].update(timeoutSeconds=901), "above Lambda's 900"),
        (lambda env: env["cache"].update(nodes=1, multiAz=True), "multiAz needs cache.nodes >= 2"),
    ],
)
def test_given_an_impossible_capture_configuration_then_loading_it_fails_with_the_reason(change, message) -> None:
    from infra.config import ConfigError, load_config

    environments = json.loads(json.dumps(cdk_context()["environments"]))
    change(environments["dev"])
    with pytest.raises(ConfigError, match=message):
        load_config("dev", environments)


@pytest.mark.parametrize(("processes", "memory", "refused"), [(3, 4096, True), (3, 5307, False), (6, 10240, False)])
def test_given_capture_processes_then_the_capture_function_needs_a_vcpu_for_each(processes, memory, refused) -> None:
    from infra.config import ConfigError, load_config

    environments = json.loads(json.dumps(cdk_context()["environments"]))
    environments["dev"]["settings"]["CAPTURE_PROCESSES"] = processes
    environments["dev"]["functions"]["capture"]["memoryMb"] = memory
    if refused:
        with pytest.raises(
            ConfigError, match=r"CAPTURE_PROCESSES=3 needs functions\.capture\.memoryMb of at least 5307"
        ):
            load_config("dev", environments)
    else:
        assert load_config("dev", environments).settings["CAPTURE_PROCESSES"] == processes


def test_given_the_stack_then_the_capture_function_reads_its_processes_setting(dev) -> None:
    env = dev.function("capture.handler.lambda_handler")[1]["Properties"]["Environment"]["Variables"]
    assert env["CAPTURE_PROCESSES"] == "1"
