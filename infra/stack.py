"""The export service stack: builds each concern and wires them together."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from exporter.jobs.checkpoints import CHECKPOINTS_PREFIX
from infra.api import Api
from infra.applications import Applications
from infra.cache import Cache
from infra.capture import Capture
from infra.config import EnvConfig
from infra.database import Database
from infra.datasets import DatasetsLayer, OperatorDatasets
from infra.environment import ServiceEnvironment
from infra.functions import FunctionPlacement, PythonFunctionFactory, SharedLayer
from infra.identity import Identity
from infra.migrations import Migrations
from infra.nag import acknowledge, finding_resource
from infra.network import Network
from infra.operations import Operations
from infra.queue import JobQueue
from infra.schedules import Schedules
from infra.storage import OUTPUTS_PREFIX, ExportStore
from infra.web import Web, execute_api_origin
from infra.workers import Worker

# The alias API Gateway invokes: the API function's version published by the latest deploy.
API_ALIAS = "live"


class ExportServiceStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvConfig, datasets: OperatorDatasets, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        network = Network(self, "Network", config=config)
        database = Database(self, "Database", config=config, network=network)
        store = ExportStore(self, "Storage", config=config)
        jobs = JobQueue(self, "Queue", config=config)
        cache = Cache(self, "Cache", config=config, network=network)
        identity = Identity(self, "Identity", config=config)
        web = Web(
            self,
            "Web",
            config=config,
            access_log_bucket=store.log_bucket,
            connect_origins=[execute_api_origin(), *identity.sign_in_origins],
        )
        identity.add_web_client(web.sign_in_url)
        layer = SharedLayer(self, "Shared")
        factory = PythonFunctionFactory(
            config,
            layer.layer,
            FunctionPlacement(
                vpc=network.vpc, subnets=network.function_subnets, endpoints=list(network.endpoints.values())
            ),
        )

        identity.add_email_claim(factory)
        environment = ServiceEnvironment(config=config, database=database, store=store, jobs=jobs, cache=cache)

        migrations = Migrations(
            self,
            "Migrations",
            config=config,
            factory=factory,
            database=database,
            environment=environment,
            layer_digest=layer.digest,
            after=[network],
        )
        worker = Worker(
            self,
            "Worker",
            config=config,
            factory=factory,
            jobs=jobs,
            environment=environment,
        )
        capture = Capture(
            self,
            "Capture",
            config=config,
            factory=factory,
            jobs=jobs,
            cache=cache,
            environment=environment,
        )
        schedules = Schedules(self, "Schedules", config=config, factory=factory, jobs=jobs, environment=environment)
        applications = Applications(self, "Applications", config=config, factory=factory, environment=environment)
        api_function = factory.create(
            self,
            "ApiFunction",
            handler="api.handler.lambda_handler",
            sizing=config.api,
            environment={**environment.api(), **schedules.api_environment(), **applications.api_environment()},
            description="Export service HTTP API",
            # Its initialisation connects to nothing (docs/decisions.md, "SnapStart for the API").
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
        )
        # API Gateway invokes the alias of the version this deploy published: SnapStart restores only versions.
        api_live = api_function.add_alias(API_ALIAS, description="The API version this deploy published")
        Annotations.of(api_function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish",
            f"The stack publishes a version of the API function on every change and API Gateway invokes it "
            f"through the '{API_ALIAS}' alias.",
        )
        api = Api(self, "Api", config=config, identity=identity, handler=api_live, ui_origins=[web.url])
        # The catalogue: listed by the API, run by the worker, fired on its operator schedules.
        shipped = DatasetsLayer(self, "Datasets", config=config, datasets=datasets)
        shipped.ship_to(api_function, worker.function, schedules.function)
        shipped.read_sources(worker.function)
        schedules.add_operator_schedules(datasets.scheduled())
        web.publish(api_url=api.url, auth=identity.web_auth(web.sign_in_url))
        applications.add_routes(api)

        # Wiring: data access, queues, objects.
        proxied = {
            "ApiFunction": api_function,
            **{f.node.id: f for f in worker.functions},
            "Capture": capture.function,
            "ScheduleFire": schedules.function,
            **{f"Applications{f.node.id}": f for f in applications.functions},
        }
        for name, fn in proxied.items():
            database.secret.grant_read(fn)
            database.allow_through_proxy(fn, f"{name} to RDS Proxy")
        jobs.queue.grant_send_messages(api_function)
        jobs.capture_queue.grant_send_messages(api_function)
        schedules.grant_manage(api_function)
        store.grant_serve_outputs(api_function)
        store.grant_abandon_checkpoints(api_function)
        for writer in (worker.function, capture.function):
            store.grant_write_outputs(writer)
            store.grant_keep_checkpoints(writer)
        store.grant_read_source(worker.function)
        # Application requests (the API) and every job's state changes (worker, sweeper, assembler).
        applications.grant_publish(api_function, *worker.functions, applications.assembler)
        applications.use_store(store)
        applications.notify_from(web.url, worker.function, worker.sweeper, applications.assembler)
        migrations.run_before(
            api_function, *worker.functions, capture.function, schedules.function, *applications.functions
        )

        Operations(
            self,
            "Operations",
            config=config,
            worker=worker.function,
            capture=capture.function,
            jobs=jobs,
            assembly_dead_letters=applications.dead_letter_queue,
            api=api,
        )
        self._acknowledge_scoped_objects(store, api_function, worker, capture)
        self._acknowledge_cdk_helpers()

        CfnOutput(self, "ApiUrl", value=api.url, description="Base URL of the HTTP API")
        CfnOutput(self, "WebUrl", value=web.url, description="The web UI (CloudFront)")
        CfnOutput(self, "ExportsBucketName", value=store.bucket.bucket_name)
        CfnOutput(self, "JobQueueUrl", value=jobs.queue.queue_url)
        CfnOutput(self, "DeadLetterQueueUrl", value=jobs.dead_letter_queue.queue_url)
        CfnOutput(self, "DatabaseSecretArn", value=database.secret.secret_arn)
        CfnOutput(self, "CaptureQueueUrl", value=jobs.capture_queue.queue_url)
        CfnOutput(self, "RedisEndpoint", value=cache.endpoint, description="Valkey primary host:port (TLS, AUTH)")
        CfnOutput(self, "RedisAuthSecretArn", value=cache.auth_secret.secret_arn)
        CfnOutput(self, "CaptureFunctionName", value=capture.function.function_name)
        CfnOutput(self, "EventBusName", value=applications.bus.event_bus_name)
        CfnOutput(self, "AssemblyQueueUrl", value=applications.queue.queue_url)
        CfnOutput(self, "ApplicationKeySecrets", value=applications.registry_secrets(), description="{app: secret ARN}")
        CfnOutput(self, "VpcId", value=network.vpc.vpc_id, description="For a publisher's security group (smoke test)")
        if identity.user_pool is not None and identity.client is not None:
            CfnOutput(self, "UserPoolId", value=identity.user_pool.user_pool_id)
            CfnOutput(self, "UserPoolClientId", value=identity.client.user_pool_client_id)

    def _acknowledge_cdk_helpers(self) -> None:
        """CDK's own log-retention function (it sets retention on the log groups RDS creates)."""
        for child in self.node.children:
            if child.node.id.startswith("LogRetention"):
                acknowledge(
                    child,
                    id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    reason="CDK's LogRetention helper function writes its own logs; AWS-managed logging policy.",
                )
                acknowledge(
                    child,
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="CDK's LogRetention helper: logs:PutRetentionPolicy/DeleteRetentionPolicy on '*' because "
                    "RDS creates its log groups after deploy; tests/infra pins these actions.",
                )

    def _acknowledge_scoped_objects(
        self, store: ExportStore, api_function: Any, worker: Worker, capture: Capture
    ) -> None:
        """Object-level grants end in ``/*`` under a fixed prefix; nag reports each one."""
        source = finding_resource(self, store.source_bucket.arn_for_objects("*"))
        prefixes = {
            OUTPUTS_PREFIX: "Object actions limited to the outputs/ prefix of the exports bucket; archive keys are "
            "generated per job, so they can only be named by prefix.",
            CHECKPOINTS_PREFIX: "Object actions limited to the checkpoints/ prefix of the exports bucket: what a job "
            "keeps between its runs, under keys made per job and run.",
        }
        for prefix, reason in prefixes.items():
            resource = finding_resource(self, store.bucket.arn_for_objects(f"{prefix}*"))
            for fn in (api_function, worker.function, capture.function):
                acknowledge(fn, id=f"AwsSolutions-IAM5[{resource}]", reason=reason)
        acknowledge(
            worker.function,
            id=f"AwsSolutions-IAM5[{source}]",
            reason="s3:GetObject only, on the configured source-data bucket; image keys come from the "
            "observation records and cannot be enumerated in policy.",
        )
