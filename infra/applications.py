"""Application sources: the service's event bus with a rule per application, each application's key,
the internal API (its function and routes), the assembly queue, the assembler and its sources sweep,
and the SES identity notifications are sent from.

Requests are ``Export Requested`` events on the bus; a rule per application that has a target in
the registry routes its own (``detail.application``) to that target. Targets live in the stack's
account and region: a Lambda function gets an invoke permission here, an API destination a role
here, an SQS queue is the application's, whose owner lets the rule send to it (its queue policy).
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from exporter.adapters.events import EVENT_SOURCE
from exporter.applications.request import EXPORT_REQUESTED
from infra.api import Api
from infra.config import EnvConfig, SourceApplication
from infra.environment import ServiceEnvironment
from infra.functions import PythonFunctionFactory
from infra.nag import acknowledge, finding_resource
from infra.queue import VISIBILITY_FACTOR, consume, queue_with_dead_letters
from infra.storage import OUTPUTS_PREFIX, PARTS_PREFIX, ExportStore
from infra.timers import timed_function
from internal.app import SOURCE

HttpMethod = apigwv2.HttpMethod

# The internal API's routes (functions/internal), in API Gateway syntax. No JWT authorizer: the
# function authenticates each call by the application's pre-shared key (x-rh-exports-psk).
INTERNAL_SOURCE = SOURCE.replace("<", "{").replace(">", "}")
INTERNAL_ROUTES: tuple[tuple[HttpMethod, str], ...] = (
    (HttpMethod.POST, f"{INTERNAL_SOURCE}/upload"),
    (HttpMethod.POST, f"{INTERNAL_SOURCE}/error"),
)

KEY_LENGTH = 64
SWEEP_EVERY = Duration.minutes(5)
EVENTS_PRINCIPAL = "events.amazonaws.com"


@jsii.implements(events.IRuleTarget)
class ArnTarget:
    """A rule target named by its ARN alone (an SQS queue of another owner, an API destination with ``role``)."""

    def __init__(self, arn: str, role: iam.IRole | None = None) -> None:
        self.arn, self.role = arn, role

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.arn, role=self.role)


class Applications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        factory: PythonFunctionFactory,
        environment: ServiceEnvironment,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.bus = events.EventBus(self, "Bus", description="Export service: Export Requested events, one per source")
        self.rules = {app.name: self._rule(app) for app in config.applications if app.target_arn is not None}

        # Each application's pre-shared key: generated here, read by the internal function only.
        self.keys = {app.name: self._key(app) for app in config.applications}

        # The assembler is sized like the export worker: it streams parts into a ZIP as the worker writes one.
        assembly = queue_with_dead_letters(
            self,
            "Assembly",
            dead_letters_id="AssemblyDeadLetters",
            removal_policy=config.removal_policy,
            retention=Duration.days(4),
            visibility_timeout=Duration.seconds(VISIBILITY_FACTOR * config.worker.timeout_seconds),
            max_receive_count=config.worker.max_receive_count,
        )
        self.queue, self.dead_letter_queue = assembly.queue, assembly.dead_letters

        self.internal = factory.create(
            self,
            "Internal",
            handler="internal.handler.lambda_handler",
            sizing=config.api,
            environment=environment.internal(
                applications=self._registry_with_keys(), assembly_queue_url=self.queue.queue_url
            ),
            description="Internal API: source applications upload parts or report errors (pre-shared keys)",
        )
        self.queue.grant_send_messages(self.internal)
        for key in self.keys.values():
            key.grant_read(self.internal)

        self.assembler = factory.create(
            self,
            "Assembler",
            handler="assembler.handler.lambda_handler",
            sizing=config.worker,
            environment=environment.assembler(assembly_queue_url=self.queue.queue_url),
            description="Zips an applications export's uploaded parts, once",
        )
        consume(self.assembler, self.queue, batch_size=1, max_concurrency=config.worker.max_concurrency)
        # Re-enqueue with backoff after a failed attempt.
        self.queue.grant_send_messages(self.assembler)

        sweep = timed_function(
            self,
            "Sweep",
            factory=factory,
            every=SWEEP_EVERY,
            rule_id="SweepSchedule",
            rule_description="Run the sources sweep",
            handler="assembler.sweep.lambda_handler",
            sizing=config.sweeper,
            environment=environment.assembler(assembly_queue_url=self.queue.queue_url),
            description="Times out sources that never answered; resends lost assembly messages",
        )
        self.sweep, self.sweep_schedule = sweep.function, sweep.rule
        self.queue.grant_send_messages(self.sweep)

        self.sender: ses.EmailIdentity | None = None
        if config.email_sender:
            sender = config.email_sender
            identity = ses.Identity.email(sender) if "@" in sender else ses.Identity.domain(sender)
            self.sender = ses.EmailIdentity(self, "Sender", identity=identity)

    @property
    def functions(self) -> list[lambda_.Function]:
        return [self.internal, self.assembler, self.sweep]

    def _registry(self) -> dict[str, dict]:
        return {app.name: app.registry_entry() for app in self.config.applications}

    def _registry_with_keys(self) -> str:
        """The registry as the internal function reads it: each application with its key's secret ARN."""
        registry = {
            name: {**entry, "secret_arn": self.keys[name].secret_arn} for name, entry in self._registry().items()
        }
        return Stack.of(self).to_json_string(registry)

    def _rule(self, app: SourceApplication) -> events.Rule:
        return events.Rule(
            self,
            f"{app.name}Rule",
            event_bus=self.bus,
            description=f"Export Requested events of the {app.name} application to its target",
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE],
                detail_type=[EXPORT_REQUESTED],
                detail={"application": [app.name]},
            ),
            targets=[self._target(app)],
        )

    def _target(self, app: SourceApplication) -> events.IRuleTarget:
        arn = app.target_arn
        assert arn is not None
        if app.target_kind == "function":
            function = lambda_.Function.from_function_attributes(
                self, f"{app.name}Function", function_arn=arn, same_environment=True
            )
            return targets.LambdaFunction(function)
        if app.target_kind == "api-destination":
            role = iam.Role(
                self,
                f"{app.name}TargetRole",
                description=f"Assumed by EventBridge to call the {app.name} application's API destination",
                assumed_by=iam.ServicePrincipal(
                    EVENTS_PRINCIPAL, conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
                ),
            )
            # IAM names an API destination without the id suffix of its ARN (api-destination/<name>).
            by_name = "/".join(arn.split("/")[:2])
            role.add_to_policy(iam.PolicyStatement(actions=["events:InvokeApiDestination"], resources=[arn, by_name]))
            return ArnTarget(arn, role)
        return ArnTarget(arn)  # an SQS queue: its owner's queue policy lets the rule send

    def _key(self, app: SourceApplication) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            f"{app.name}Key",
            description=f"Pre-shared key of the {app.name} application (x-rh-exports-psk); the string is the key",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=KEY_LENGTH, exclude_punctuation=True
            ),
            removal_policy=self.config.removal_policy,
        )
        acknowledge(
            secret,
            id="AwsSolutions-SMG4",
            reason="The key is shared with an application that sends it on every call: rotating it needs the "
            "application to switch in step, so it is replaced by hand (docs/decisions.md), not rotated.",
        )
        return secret

    def api_environment(self) -> dict[str, str]:
        """``ApiSettings``' registry, without keys."""
        return {"APPLICATIONS": json.dumps(self._registry(), sort_keys=True)}

    def grant_publish(self, *functions: lambda_.Function) -> None:
        """``EVENT_BUS_NAME`` and ``events:PutEvents`` on the service's bus only (requests, job state changes)."""
        for fn in functions:
            fn.add_environment("EVENT_BUS_NAME", self.bus.event_bus_name)
            self.bus.grant_put_events_to(fn)

    def add_routes(self, api: Api) -> None:
        """The internal routes on the HTTP API, to the internal function, without the users' JWT authorizer."""
        integration = integrations.HttpLambdaIntegration("Internal", self.internal)
        for method, path in INTERNAL_ROUTES:
            routes = api.http_api.add_routes(
                path=path, methods=[method], integration=integration, authorizer=apigwv2.HttpNoneAuthorizer()
            )
            for route in routes:
                acknowledge(
                    route,
                    id="AwsSolutions-APIG4",
                    reason=f"{method.value} {path} is called by source applications, not users: the internal "
                    "function authenticates every call by the application's pre-shared key (x-rh-exports-psk).",
                )

    def use_store(self, store: ExportStore) -> None:
        """The internal function writes parts; the assembler reads them and writes the archive."""
        store.grant_write_parts(self.internal)
        store.grant_read_parts(self.assembler)
        store.grant_write_outputs(self.assembler)
        parts = finding_resource(self, store.bucket.arn_for_objects(f"{PARTS_PREFIX}*"))
        outputs = finding_resource(self, store.bucket.arn_for_objects(f"{OUTPUTS_PREFIX}*"))
        for fn in (self.internal, self.assembler):
            acknowledge(
                fn,
                id=f"AwsSolutions-IAM5[{parts}]",
                reason="Object actions limited to the parts/ prefix of the exports bucket; part keys are generated "
                "per export and source, so they can only be named by prefix.",
            )
        acknowledge(
            self.assembler,
            id=f"AwsSolutions-IAM5[{outputs}]",
            reason="Object actions limited to the outputs/ prefix of the exports bucket; archive keys are "
            "generated per job, so they can only be named by prefix.",
        )

    def notify_from(self, ui_base_url: str, *functions: lambda_.Function) -> None:
        """Functions that e-mail users: the UI's address for links, and ``ses:SendEmail`` as the sender only."""
        for fn in functions:
            fn.add_environment("UI_BASE_URL", ui_base_url)
            if self.sender is not None and self.config.email_sender:
                fn.add_environment("EMAIL_SENDER", self.config.email_sender)
                fn.add_to_role_policy(
                    iam.PolicyStatement(actions=["ses:SendEmail"], resources=[self.sender.email_identity_arn])
                )

    def registry_secrets(self) -> str:
        """``{application: key secret ARN}`` as JSON (a stack output for operators)."""
        return Stack.of(self).to_json_string({name: key.secret_arn for name, key in self.keys.items()})
