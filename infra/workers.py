"""The export worker (SQS batch consumer) and the sweeper (every five minutes)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import EnvConfig
from infra.environment import ServiceEnvironment
from infra.functions import PythonFunctionFactory
from infra.queue import JobQueue, consume
from infra.timers import timed_function

SWEEP_EVERY = Duration.minutes(5)


class Worker(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        factory: PythonFunctionFactory,
        jobs: JobQueue,
        environment: ServiceEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = factory.create(
            self,
            "Function",
            handler="worker.handler.lambda_handler",
            sizing=config.worker,
            environment=environment.worker(),
            description="Builds export archives from job messages",
        )
        consume(
            self.function,
            jobs.queue,
            batch_size=config.worker.batch_size,
            max_concurrency=config.worker.max_concurrency,
        )
        # Re-enqueue with backoff after a failed attempt.
        jobs.queue.grant_send_messages(self.function)

        sweeper = timed_function(
            self,
            "Sweeper",
            factory=factory,
            every=SWEEP_EVERY,
            rule_id="SweepSchedule",
            rule_description="Run the export sweeper",
            handler="worker.sweeper.lambda_handler",
            sizing=config.sweeper,
            environment=environment.sweeper(),
            description="Re-enqueues or fails jobs whose lease lapsed; drains the DLQ into failed rows",
        )
        self.sweeper, self.schedule = sweeper.function, sweeper.rule
        jobs.queue.grant_send_messages(self.sweeper)
        jobs.dead_letter_queue.grant_consume_messages(self.sweeper)

    @property
    def functions(self) -> list[lambda_.Function]:
        return [self.function, self.sweeper]
