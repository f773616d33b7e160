"""The export job queue, the capture queue, and the dead-letter queue they share."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import EnvConfig

# AWS's guidance for Lambda event sources: visibility >= 6x the function timeout.
VISIBILITY_FACTOR = 6
# A capture is never retried and the sweeper fails one still pending after 20 minutes, so a
# redelivery later than that is useless: the capture queue's visibility is the function timeout
# plus this margin (invocation start-up), not 6x.
CAPTURE_VISIBILITY_MARGIN_SECONDS = 60


class JobQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=config.removal_policy,
        )
        self.queue = sqs.Queue(
            self,
            "Jobs",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(VISIBILITY_FACTOR * config.worker.timeout_seconds),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=config.worker.max_receive_count
            ),
            removal_policy=config.removal_policy,
        )
        # Capture messages ({export_id, creator_id, attempt, max_retries=0}); the sweeper drains both
        # message shapes from the one DLQ into failed rows.
        self.capture_queue = sqs.Queue(
            self,
            "Captures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(config.capture.timeout_seconds + CAPTURE_VISIBILITY_MARGIN_SECONDS),
            retention_period=Duration.days(1),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=config.capture.max_receive_count
            ),
            removal_policy=config.removal_policy,
        )
