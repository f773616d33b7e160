"""RDS PostgreSQL behind an RDS Proxy; credentials in Secrets Manager."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import EnvConfig
from infra.nag import acknowledge
from infra.network import Network

ENGINE_VERSION = rds.PostgresEngineVersion.VER_17
DATABASE_NAME = "exports"
PORT = 5432


class Database(Construct):
    """The job database. Functions reach it through the proxy; the migrator connects directly."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, network: Network) -> None:
        super().__init__(scope, construct_id)
        db = config.database
        self.instance_security_group = ec2.SecurityGroup(
            self, "InstanceSecurityGroup", vpc=network.vpc, description="PostgreSQL instance", allow_all_outbound=False
        )
        self.proxy_security_group = ec2.SecurityGroup(
            self, "ProxySecurityGroup", vpc=network.vpc, description="RDS Proxy", allow_all_outbound=False
        )
        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            engine=rds.DatabaseInstanceEngine.postgres(version=ENGINE_VERSION),
            instance_type=ec2.InstanceType(db.instance_type),
            vpc=network.vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[self.instance_security_group],
            publicly_accessible=False,
            port=PORT,
            database_name=DATABASE_NAME,
            credentials=rds.Credentials.from_generated_secret("exporter"),
            storage_encrypted=True,
            storage_type=rds.StorageType.GP3,
            allocated_storage=db.allocated_storage_gb,
            max_allocated_storage=db.max_allocated_storage_gb,
            multi_az=db.multi_az,
            deletion_protection=db.deletion_protection,
            backup_retention=Duration.days(db.backup_retention_days),
            delete_automated_backups=config.destroys_data,
            removal_policy=config.removal_policy,
            cloudwatch_logs_exports=["postgresql", "upgrade"],
            cloudwatch_logs_retention=config.log_retention,
            enable_performance_insights=False,
            auto_minor_version_upgrade=True,
            iam_authentication=True,
            parameters={"rds.force_ssl": "1"},
        )
        assert self.instance.secret is not None
        self.secret: secretsmanager.ISecret = self.instance.secret
        self.proxy = self.instance.add_proxy(
            "Proxy",
            secrets=[self.secret],
            vpc=network.vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[self.proxy_security_group],
            require_tls=True,
            iam_auth=False,
            debug_logging=False,
            idle_client_timeout=Duration.minutes(30),
        )
        self.instance.connections.allow_default_port_from(self.proxy_security_group, "RDS Proxy to PostgreSQL")
        self._acknowledge(config)

    def allow_through_proxy(self, peer: ec2.IConnectable, description: str) -> None:
        """Open the proxy's port to a function (api, worker, sweeper)."""
        self.proxy.connections.allow_from(peer, ec2.Port.tcp(PORT), description)

    def allow_direct(self, peer: ec2.IConnectable, description: str) -> None:
        """Open the instance's port to a function that bypasses the proxy (the migrator)."""
        self.instance.connections.allow_default_port_from(peer, description)

    def _acknowledge(self, config: EnvConfig) -> None:
        acknowledge(
            self.instance,
            id="AwsSolutions-RDS11",
            reason="PostgreSQL keeps 5432: RDS Proxy for PostgreSQL listens on 5432 and the functions reuse the "
            "secret's port for proxied and direct connections; only the proxy and migrator SGs reach it, "
            "from isolated subnets.",
        )
        acknowledge(
            self.instance,
            id="AwsSolutions-SMG4",
            reason="Rotation is deferred to an operations issue: the rotation Lambda must be placed in this "
            "VPC and the proxy re-reads the secret, which needs a deploy-time test we do not yet have.",
        )
        if not config.database.multi_az:
            acknowledge(
                self.instance,
                id="AwsSolutions-RDS3",
                reason=f"{config.name}: single-AZ by configuration (database.multiAz) to keep a throwaway "
                "environment cheap; prod sets multiAz=true.",
            )
        if not config.database.deletion_protection:
            acknowledge(
                self.instance,
                id="AwsSolutions-RDS10",
                reason=f"{config.name}: deletion protection off by configuration so `cdk destroy` tears the "
                "environment down; prod sets deletionProtection=true.",
            )
