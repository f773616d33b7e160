"""The export job queue, the capture queue, and the dead-letter queue they share.

Every queue of the service is made by :func:`encrypted_queue` (SQS-managed encryption, TLS only);
a queue with a dead-letter queue of its own by :func:`queue_with_dead_letters`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import EnvConfig

# AWS's guidance for Lambda event sources: visibility >= 6x the function timeout.
VISIBILITY_FACTOR = 6
# A capture is never retried and the sweeper fails one still pending after 20 minutes, so a
# redelivery later than that is useless: the capture queue's visibility is the function timeout
# plus this margin (invocation start-up), not 6x.
CAPTURE_VISIBILITY_MARGIN_SECONDS = 60
# SQS's longest: time to look at a poison message before it is gone.
DEAD_LETTER_RETENTION = Duration.days(14)


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    removal_policy: RemovalPolicy,
    retention: Duration = DEAD_LETTER_RETENTION,
    visibility_timeout: Duration | None = None,
    dead_letters: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """An SQS-managed-encrypted queue that refuses requests without TLS (a dead-letter queue by default)."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        retention_period=retention,
        dead_letter_queue=dead_letters,
        removal_policy=removal_policy,
    )


@dataclass(frozen=True)
class QueueWithDeadLetters:
    queue: sqs.Queue
    dead_letters: sqs.Queue


def queue_with_dead_letters(
    scope: Construct,
    construct_id: str,
    *,
    dead_letters_id: str,
    removal_policy: RemovalPolicy,
    retention: Duration,
    visibility_timeout: Duration,
    max_receive_count: int,
) -> QueueWithDeadLetters:
    """An encrypted, TLS-only queue that moves a message received ``max_receive_count`` times to its own DLQ."""
    dead_letters = encrypted_queue(scope, dead_letters_id, removal_policy=removal_policy)
    queue = encrypted_queue(
        scope,
        construct_id,
        removal_policy=removal_policy,
        retention=retention,
        visibility_timeout=visibility_timeout,
        dead_letters=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=max_receive_count),
    )
    return QueueWithDeadLetters(queue, dead_letters)


class JobQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        jobs = queue_with_dead_letters(
            self,
            "Jobs",
            dead_letters_id="DeadLetters",
            removal_policy=config.removal_policy,
            retention=Duration.days(4),
            visibility_timeout=Duration.seconds(VISIBILITY_FACTOR * config.worker.timeout_seconds),
            max_receive_count=config.worker.max_receive_count,
        )
        self.queue, self.dead_letter_queue = jobs.queue, jobs.dead_letters
        # Capture messages ({export_id, creator_id, attempt, max_retries=0}); the sweeper drains both
        # message shapes from the one DLQ into failed rows.
        self.capture_queue = encrypted_queue(
            self,
            "Captures",
            removal_policy=config.removal_policy,
            retention=Duration.days(1),
            visibility_timeout=Duration.seconds(config.capture.timeout_seconds + CAPTURE_VISIBILITY_MARGIN_SECONDS),
            dead_letters=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=config.capture.max_receive_count
            ),
        )


def consume(fn: lambda_.Function, queue: sqs.IQueue, *, batch_size: int, max_concurrency: int) -> None:
    """``fn`` receives ``queue``'s messages ``batch_size`` at a time and reports partial batch failures."""
    fn.add_event_source(
        event_sources.SqsEventSource(
            queue, batch_size=batch_size, max_concurrency=max_concurrency, report_batch_item_failures=True
        )
    )
