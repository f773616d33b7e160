"""ElastiCache for Valkey: the broadcast channels a capture subscribes to.

One replication group (cluster mode disabled) in the ``data`` subnets, TLS in transit, encrypted
at rest, an AUTH token generated into Secrets Manager and handed to CloudFormation as a dynamic
reference (never in the template). Only the capture function, and the publisher security
groups named in ``cdk.json``, reach its port.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import EnvConfig
from infra.nag import acknowledge
from infra.network import Network

ENGINE = "valkey"
ENGINE_VERSION = "8.0"
PORT = 6379


class Cache(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, network: Network) -> None:
        super().__init__(scope, construct_id)
        cache = config.cache
        # ElastiCache AUTH: 16-128 printable characters, punctuation limited to !&#$^<>- : letters and digits only.
        self.auth_secret = secretsmanager.Secret(
            self,
            "AuthToken",
            description="ElastiCache (Valkey) AUTH token of the capture source; the secret string is the token",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=config.removal_policy,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description="ElastiCache (Valkey): the capture function and configured publishers only",
            allow_all_outbound=False,
        )
        self.connections = ec2.Connections(security_groups=[self.security_group], default_port=ec2.Port.tcp(PORT))
        subnet_group = elasticache.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description="Isolated data subnets of the export service",
            subnet_ids=network.vpc.select_subnets(subnet_group_name=Network.DATA).subnet_ids,
        )
        self.replication_group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_description=f"export service capture source ({config.name})",
            engine=ENGINE,
            engine_version=ENGINE_VERSION,
            cache_node_type=cache.node_type,
            num_cache_clusters=cache.nodes,
            automatic_failover_enabled=cache.multi_az,
            multi_az_enabled=cache.multi_az,
            port=PORT,
            cache_subnet_group_name=subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            auth_token=self.auth_secret.secret_value.unsafe_unwrap(),  # {{resolve:secretsmanager:...}}
            auto_minor_version_upgrade=True,
        )
        self.replication_group.apply_removal_policy(config.removal_policy)
        for index, group_id in enumerate(cache.publisher_security_group_ids):
            publisher = ec2.SecurityGroup.from_security_group_id(self, f"Publisher{index}", group_id, mutable=False)
            self.connections.allow_default_port_from(publisher, f"publisher {group_id} to Valkey")
        self._acknowledge(config)

    @property
    def address(self) -> str:
        return self.replication_group.attr_primary_end_point_address

    @property
    def endpoint(self) -> str:
        """``host:port`` of the primary (it follows a failover)."""
        return f"{self.address}:{self.replication_group.attr_primary_end_point_port}"

    @property
    def url(self) -> str:
        """``REDIS_SVC``: TLS (``rediss://``) to the primary endpoint."""
        return f"rediss://{self.endpoint}"

    def grant_connect(self, fn: ec2.IConnectable, grantee: iam.IGrantable, description: str) -> None:
        """Open the port to ``fn``'s security group and let it read the AUTH token."""
        self.connections.allow_default_port_from(fn, description)
        self.auth_secret.grant_read(grantee)

    def _acknowledge(self, config: EnvConfig) -> None:
        acknowledge(
            self.auth_secret,
            id="AwsSolutions-SMG4",
            reason="No rotation: ElastiCache AUTH rotation needs a ROTATE/SET modify call in step with the secret "
            "(a custom rotation Lambda in this VPC); deferred with database rotation to an operations issue.",
        )
        if not config.cache.multi_az:
            acknowledge(
                self.replication_group,
                id="AwsSolutions-AEC4",
                reason=f"{config.name}: one node, no Multi-AZ, by configuration (cache.nodes/cache.multiAz) to keep a "
                "throwaway environment cheap; prod runs two nodes with automatic failover.",
            )
