"""The VPC: isolated subnets only, no NAT; AWS APIs reached through VPC endpoints."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import EnvConfig

# Interface endpoints for what the functions call. EventBridge/Scheduler join this list when
# scheduled exports land (``Network.add_interface_endpoint``).
INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
}


class Network(Construct):
    """Two AZs; ``functions`` and ``data`` isolated subnet groups; flow logs to CloudWatch."""

    FUNCTIONS = "functions"
    DATA = "data"

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name=self.FUNCTIONS, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22),
                ec2.SubnetConfiguration(name=self.DATA, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            restrict_default_security_group=True,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                logs.LogGroup(
                    self,
                    "FlowLogs",
                    retention=config.log_retention,
                    removal_policy=config.removal_policy,
                )
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.function_subnets]
        )
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for name, service in INTERFACE_ENDPOINTS.items():
            self.add_interface_endpoint(name, service)

    @property
    def function_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=self.FUNCTIONS)

    @property
    def data_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_group_name=self.DATA)

    def add_interface_endpoint(
        self, name: str, service: ec2.InterfaceVpcEndpointAwsService
    ) -> ec2.InterfaceVpcEndpoint:
        """An endpoint in the function subnets with private DNS; each function's SG is let in on 443."""
        endpoint = self.vpc.add_interface_endpoint(
            name, service=service, subnets=self.function_subnets, private_dns_enabled=True, open=False
        )
        self.endpoints[name] = endpoint
        return endpoint
