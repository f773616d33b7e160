import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks


def test_given_the_stack_then_every_alarm_notifies_the_alarm_topic(dev) -> None:
    topic_id = next(iter(dev.resources("AWS::SNS::Topic")))
    alarms = dev.resources("AWS::CloudWatch::Alarm").values()
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    metric_names = {a["Properties"].get("MetricName") for a in alarms}
    assert {"Errors", "ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"} <= metric_names
    expressions = [m["Expression"] for a in alarms for m in a["Properties"].get("Metrics", []) if "Expression" in m]
    assert expressions == ["IF(requests > 0, 100 * errors / requests, 0)"]


def test_given_the_alarm_topic_then_it_is_encrypted_and_email_comes_from_configuration(dev, prod) -> None:
    dev.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [
        next(iter(dev.resources("AWS::KMS::Key"))), "Arn"]}})  # fmt: skip
    assert not dev.resources("AWS::SNS::Subscription")
    prod.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "exports-oncall@example.org"}
    )


def test_given_the_stack_then_it_outputs_what_a_deployer_needs(dev) -> None:
    outputs = set(dev.template.find_outputs("*"))
    assert {"ApiUrl", "UserPoolId", "UserPoolClientId", "ExportsBucketName", "JobQueueUrl"} <= outputs


def test_given_nag_acknowledgements_then_each_names_a_rule_and_a_specific_reason(dev) -> None:
    acknowledged = {}
    for construct in dev.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                acknowledged.update({(construct.node.path, k): v for k, v in entry.data.items()})
    ours = {key: reason for key, reason in acknowledged.items() if key[1].startswith("AwsSolutions::")}
    assert ours
    for (path, rule), reason in ours.items():
        assert len(reason) >= 40, (path, rule, reason)
    # Broad ids are not used: every IAM acknowledgement names the finding it accepts.
    assert all(
        "[" in rule
        for _, rule in ours
        if rule.startswith(("AwsSolutions::AwsSolutions-IAM4", "AwsSolutions::AwsSolutions-IAM5"))
    )


def test_given_an_unacknowledged_finding_then_synth_fails(tmp_path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe")
    s3.Bucket(stack, "NoLogsNoTls")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="AwsSolutions-S1"):
        app.synth()


def dead_letter_alarm_on(synth, queue_prefix: str) -> dict:
    """The one alarm on the visible messages of the queue whose logical id starts with ``queue_prefix``."""
    (queue_id,) = [k for k in synth.resources("AWS::SQS::Queue") if k.startswith(queue_prefix)]
    (alarm,) = [
        a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    ]
    return alarm


@pytest.mark.parametrize("queue_prefix", ["QueueDeadLetters", "ApplicationsAssemblyDeadLetters"])
def test_given_a_message_in_the_job_or_assembly_dead_letter_queue_then_the_alarm_topic_hears_of_it(
    dev, prod, queue_prefix
) -> None:
    for synth in (dev, prod):
        topic_id = next(iter(synth.resources("AWS::SNS::Topic")))
        alarm = dead_letter_alarm_on(synth, queue_prefix)
        # one visible message in any minute is enough
        assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Maximum", 60, 1)
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
