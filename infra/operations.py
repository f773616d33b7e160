"""Alarms and where they go."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.api import Api
from infra.config import EnvConfig
from infra.queue import JobQueue

PERIOD = Duration.minutes(5)
# A capture run ends its window or hands over to a next run 60 s before the timeout (infra/config.py),
# so a run this close to it means the upload or the hand-over took far longer than it should.
NEAR_TIMEOUT_SECONDS = 30


class Operations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        worker: lambda_.IFunction,
        capture: lambda_.IFunction,
        jobs: JobQueue,
        assembly_dead_letters: sqs.IQueue,
        api: Api,
    ) -> None:
        super().__init__(scope, construct_id)
        # A customer-managed key: CloudWatch cannot publish to a topic under the AWS-managed SNS key.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the export-service alarm topic",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
            pending_window=Duration.days(7),
        )
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True)
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        action = actions.SnsAction(self.topic)

        requests = api.http_api.metric_count(period=PERIOD, statistic="Sum")
        server_errors = api.http_api.metric_server_error(period=PERIOD, statistic="Sum")
        alarms = [
            worker.metric_errors(period=PERIOD, statistic="Sum").create_alarm(
                self,
                "WorkerErrors",
                alarm_description="The export worker raised (not a handled job failure).",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            capture.metric_errors(period=PERIOD, statistic="Sum").create_alarm(
                self,
                "CaptureErrors",
                alarm_description="The capture function crashed or timed out (not a handled capture failure).",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            capture.metric_duration(period=PERIOD, statistic="Maximum").create_alarm(
                self,
                "CaptureNearTimeout",
                alarm_description=f"A capture ran within {NEAR_TIMEOUT_SECONDS} s of its "
                f"{config.capture.timeout_seconds} s timeout: its upload or hand-over took far longer than it should.",
                threshold=(config.capture.timeout_seconds - NEAR_TIMEOUT_SECONDS) * 1000,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            self._dead_letter_alarm(
                jobs.dead_letter_queue, "DeadLetters", "Job or capture messages reached the DLQ (poison messages)."
            ),
            self._dead_letter_alarm(
                assembly_dead_letters,
                "AssemblyDeadLetters",
                "Assembly messages of applications exports reached their DLQ (poison messages: the assembler "
                "failed on every receive).",
            ),
            cloudwatch.MathExpression(
                expression="IF(requests > 0, 100 * errors / requests, 0)",
                using_metrics={"requests": requests, "errors": server_errors},
                label="API 5xx rate (%)",
                period=PERIOD,
            ).create_alarm(
                self,
                "Api5xxRate",
                alarm_description=f"More than {config.api_5xx_rate_percent}% of API requests returned 5xx.",
                threshold=config.api_5xx_rate_percent,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            jobs.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum").create_alarm(
                self,
                "JobAge",
                alarm_description=f"A job message has waited more than {config.job_age_alarm_minutes} minutes.",
                threshold=config.job_age_alarm_minutes * 60,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        for alarm in alarms:
            alarm.add_alarm_action(action)
        self.alarms = alarms

    def _dead_letter_alarm(self, queue: sqs.IQueue, construct_id: str, description: str) -> cloudwatch.Alarm:
        """Any message visible in dead-letter queue ``queue`` (the highest count in a minute)."""
        return queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic="Maximum"
        ).create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
