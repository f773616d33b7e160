"""The capture function: one Valkey window per capture message, masked into a CSV in the exports bucket."""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.cache import Cache
from infra.config import EnvConfig
from infra.environment import ServiceEnvironment
from infra.functions import PythonFunctionFactory
from infra.nag import acknowledge
from infra.queue import JobQueue, consume

MASKING_KEY_LENGTH = 64  # the capture refuses a key shorter than 32 characters


class Capture(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        factory: PythonFunctionFactory,
        jobs: JobQueue,
        cache: Cache,
        environment: ServiceEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self.masking_secret = secretsmanager.Secret(
            self,
            "MaskingKey",
            description="HMAC key of the capture pseudonyms (the secret string is the key)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=MASKING_KEY_LENGTH, exclude_punctuation=True
            ),
            removal_policy=config.removal_policy,
        )
        self.function = factory.create(
            self,
            "Function",
            handler="capture.handler.lambda_handler",
            sizing=config.capture,
            environment=environment.capture(masking_secret_arn=self.masking_secret.secret_arn),
            description="Records a Valkey channel pattern for a window into a masked CSV",
        )
        # Batch size 1: one window per invocation, so a window never waits behind another.
        consume(self.function, jobs.capture_queue, batch_size=1, max_concurrency=config.capture.max_concurrency)
        jobs.capture_queue.grant_send_messages(self.function)  # a window's next run
        self.masking_secret.grant_read(self.function)
        cache.grant_connect(self.function, self.function, "capture function to Valkey")
        acknowledge(
            self.masking_secret,
            id="AwsSolutions-SMG4",
            reason="The masking key must stay stable: rotating it would change every pseudonym, breaking links "
            "across captures (MASK_LINK_ACROSS_CAPTURES) and between captures made before and after.",
        )
