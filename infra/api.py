"""The HTTP API: JWT authorizer on every route except health and docs; throttling; JSON access logs."""

from __future__ import annotations

import json

import jsii
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from api.app import route_table
from api.public import PUBLIC_ROUTES
from infra.config import EnvConfig
from infra.identity import Identity
from infra.nag import acknowledge

HttpMethod = apigwv2.HttpMethod

# (method, path): the routes of functions/api, read from its resolver. Only the public ones need no token.
OPEN_ROUTES: tuple[tuple[HttpMethod, str], ...] = tuple(
    (HttpMethod(method), path) for method, path in route_table() if (method, path) in PUBLIC_ROUTES
)
AUTHORIZED_ROUTES: tuple[tuple[HttpMethod, str], ...] = tuple(
    (HttpMethod(method), path) for method, path in route_table() if (method, path) not in PUBLIC_ROUTES
)

# The POSTs that create work (a job, a capture, a schedule): throttled harder than the stage's default,
# a quarter of its rate and burst, since each one writes a row and sends a message.
CREATING_ROUTES: tuple[tuple[HttpMethod, str], ...] = tuple(
    (method, path)
    for method, path in AUTHORIZED_ROUTES
    if method == HttpMethod.POST and not path.endswith(("/share", "/unshare"))
)
CREATING_SHARE = 4

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "sub": "$context.authorizer.claims.sub",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class JsonAccessLog:
    """One JSON object per request, into ``log_group``."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT))


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        identity: Identity,
        handler: lambda_.IFunction,
        ui_origins: list[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        cors = None
        allowed = [*config.ui_origins, *(ui_origins or [])]  # cdk.json's, and the CloudFront UI's
        if allowed:
            cors = apigwv2.CorsPreflightOptions(
                allow_origins=allowed,
                allow_methods=[apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.DELETE],
                allow_headers=["authorization", "content-type"],
                max_age=Duration.hours(1),
            )
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description=f"export service ({config.name})",
            cors_preflight=cors,
            create_default_stage=False,
            default_authorizer=identity.authorizer,
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.stage = self.http_api.add_stage(
            "DefaultStage",
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=config.throttle_rate, burst_limit=config.throttle_burst),
            access_log_settings=JsonAccessLog(self.access_logs),
        )
        integration = integrations.HttpLambdaIntegration("Handler", handler)
        for method, path in AUTHORIZED_ROUTES:
            routes = self.http_api.add_routes(path=path, methods=[method], integration=integration)
            if (method, path) in CREATING_ROUTES:
                self._throttle_creating(f"{method.value} {path}", routes, config)
        for method, path in OPEN_ROUTES:
            routes = self.http_api.add_routes(
                path=path, methods=[method], integration=integration, authorizer=apigwv2.HttpNoneAuthorizer()
            )
            for route in routes:
                acknowledge(
                    route,
                    id="AwsSolutions-APIG4",
                    reason=f"{method.value} {path} is public by design (liveness probe and API documentation); "
                    "it returns no user data.",
                )

    def _throttle_creating(self, route_key: str, routes: list[apigwv2.HttpRoute], config: EnvConfig) -> None:
        """Stage route settings for ``route_key``; the stage waits for the route, which must exist first."""
        stage = self.stage.node.default_child
        assert isinstance(stage, apigwv2.CfnStage)
        stage.add_property_override(
            f"RouteSettings.{route_key}",
            {
                "ThrottlingRateLimit": max(1, config.throttle_rate // CREATING_SHARE),
                "ThrottlingBurstLimit": max(1, config.throttle_burst // CREATING_SHARE),
            },
        )
        for route in routes:
            stage.node.add_dependency(route)

    @property
    def url(self) -> str:
        assert self.stage.url is not None
        return self.stage.url
