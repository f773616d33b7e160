"""Schema migrations on deploy: a function run by a CDK trigger once the database exists."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import triggers
from constructs import Construct

from infra.config import EnvConfig
from infra.database import Database
from infra.environment import ServiceEnvironment
from infra.functions import FUNCTIONS_DIR, PythonFunctionFactory, source_digest


class Migrations(Construct):
    """Applies ``exporter/migrations/*.sql`` (the files the local stack uses) during deploy.

    The trigger runs whenever the migrate function changes; the function's environment carries a
    digest of the layer sources and of its own code, so a new migration file changes the function
    and re-runs it. A raised exception fails the trigger and with it the deploy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        factory: PythonFunctionFactory,
        database: Database,
        environment: ServiceEnvironment,
        layer_digest: str,
        after: Sequence[Construct] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        code_digest = source_digest(FUNCTIONS_DIR / "migrate")
        self.function = factory.create(
            self,
            "Function",
            handler="migrate.handler.lambda_handler",
            sizing=config.migrate,
            environment=environment.migrate(f"{layer_digest}-{code_digest}"),
            description="Applies database migrations during deploy",
        )
        database.secret.grant_read(self.function)
        database.allow_direct(self.function, "migrator to PostgreSQL")
        self.trigger = triggers.Trigger(
            self,
            "Run",
            handler=self.function,
            timeout=config.migrate.timeout,
            invocation_type=triggers.InvocationType.REQUEST_RESPONSE,
            # The whole database (instance, proxy, security-group rules) and whatever else the migrator
            # reaches (the Secrets Manager endpoint) must exist before it runs.
            execute_after=[database, *after],
            execute_on_handler_change=True,
        )

    def run_before(self, *scopes: Construct) -> None:
        """New application code deploys only after the schema it expects."""
        self.trigger.execute_before(*scopes)
