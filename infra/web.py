"""The web UI: a private S3 bucket behind CloudFront (origin access control, HTTPS only, security
headers, SPA routing), filled from ``web/`` with a generated ``config.json`` at deploy.

Built in two steps because the pieces refer to each other: the distribution first (its URL is the
Cognito callback and a CORS origin of the API), then ``publish`` once the API and the sign-in
settings exist. The CSP names the API by its regional execute-api wildcard, not by its id: the
API's CORS list names the distribution, so naming the API here would be a dependency cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Aws, DefaultStackSynthesizer, Duration, Fn, Stack, Token
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.config import EnvConfig
from infra.nag import acknowledge, finding_resource
from webpolicy import content_security_policy

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
SIGN_IN_PATH = "/signin"


class Web(Construct):
    """Exposes ``url`` (https://<distribution domain>) and ``sign_in_url`` (the OAuth redirect URI)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        access_log_bucket: s3.IBucket,
        connect_origins: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="web/",
            removal_policy=config.removal_policy,
            auto_delete_objects=config.destroys_data,
        )
        # CloudFront standard logs are delivered with ACLs, which the shared log bucket disables.
        self.cdn_logs = s3.Bucket(
            self,
            "CdnLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(90))],
            removal_policy=config.removal_policy,
            auto_delete_objects=config.destroys_data,
        )
        acknowledge(
            self.cdn_logs,
            id="AwsSolutions-S1",
            reason="This bucket receives the CloudFront access logs of the UI; logging it to itself would loop.",
        )
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="export service UI: HSTS, CSP, nosniff, frame DENY, referrer policy",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(connect_origins), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
            ),
        )
        # Client-side routes (/exports/new, /exports/{id}) are not objects: S3 answers 403 through
        # OAC, and the app's index.html answers instead, with 200.
        spa = [
            cloudfront.ErrorResponse(
                http_status=status, response_http_status=200, response_page_path="/index.html", ttl=Duration.seconds(0)
            )
            for status in (403, 404)
        ]
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment=f"export service UI ({config.name})",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
            ),
            error_responses=spa,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.cdn_logs,
            log_file_prefix="cloudfront/",
        )
        acknowledge(
            self.distribution,
            id="AwsSolutions-CFR1",
            reason="Researchers sign in from anywhere; access is controlled by Cognito and the API's JWT "
            "authorizer, so no geo restriction.",
        )
        acknowledge(
            self.distribution,
            id="AwsSolutions-CFR2",
            reason="Static files only, no writes and no forms; every API call is authorized by a JWT. A WAF "
            "web ACL would be a per-request cost without a rule to put in it yet.",
        )
        acknowledge(
            self.distribution,
            id="AwsSolutions-CFR4",
            reason="The default *.cloudfront.net certificate (no custom domain in this stack) cannot pin a "
            "minimum TLS version; a custom domain with ACM and TLSv1.2_2021 is the upgrade path.",
        )
        self.url = f"https://{self.distribution.distribution_domain_name}"
        self.sign_in_url = f"{self.url}{SIGN_IN_PATH}"

    def publish(self, *, api_url: str, auth: dict[str, Any]) -> s3deploy.BucketDeployment:
        """Upload ``web/`` and ``config.json`` ({apiUrl, auth}); invalidate the CDN's copies."""
        deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            sources=[
                s3deploy.Source.asset(str(WEB_DIR)),
                s3deploy.Source.json_data("config.json", {"apiUrl": api_url, "auth": auth}),
            ],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            # Browsers revalidate every file (a 304 when unchanged), so a deploy shows up at the next load.
            cache_control=[s3deploy.CacheControl.no_cache()],
            memory_limit=256,
        )
        self._acknowledge_deployment_function()
        return deployment

    def _acknowledge_deployment_function(self) -> None:
        """CDK's BucketDeployment runs one singleton function per stack, with CDK's own policy."""
        stack = Stack.of(self)
        qualifier = stack.node.try_get_context("@aws-cdk/core:bootstrapQualifier") or (
            DefaultStackSynthesizer.DEFAULT_QUALIFIER
        )
        partition, account, region = (
            f"<{pseudo}>" if Token.is_unresolved(value) else value
            for pseudo, value in (
                ("AWS::Partition", stack.partition),
                ("AWS::AccountId", stack.account),
                ("AWS::Region", stack.region),
            )
        )
        assets = f"Resource::arn:{partition}:s3:::cdk-{qualifier}-assets-{account}-{region}/*"
        site = finding_resource(self, self.bucket.arn_for_objects("*"))
        copying = (
            "CDK's BucketDeployment function copies the UI from the CDK asset bucket into the site bucket; "
            "CDK generates its policy"
        )
        for child in stack.node.children:
            if not child.node.id.startswith("Custom::CDKBucketDeployment"):
                continue
            acknowledge(
                child,
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                reason=f"{copying}; the AWS-managed policy only lets it write its own logs.",
            )
            for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"):
                acknowledge(
                    child,
                    id=f"AwsSolutions-IAM5[Action::{action}]",
                    reason=f"{copying} (read the asset, write and prune the site): CDK's grantRead/grantWrite "
                    "action groups, on those two buckets only.",
                )
            for resource in (assets, site):
                acknowledge(
                    child,
                    id=f"AwsSolutions-IAM5[{resource}]",
                    reason=f"{copying}; object actions on the asset bucket's and the site bucket's objects.",
                )
            acknowledge(
                child,
                id="AwsSolutions-IAM5[Resource::*]",
                reason=f"{copying}; cloudfront:CreateInvalidation/GetInvalidation, which CDK grants on '*' "
                "so the deployment can invalidate the UI's distribution.",
            )
            acknowledge(
                child,
                id="AwsSolutions-L1",
                reason="The BucketDeployment function's runtime is chosen by aws-cdk-lib and moves with CDK upgrades.",
            )


def execute_api_origin() -> str:
    """Every HTTP API of this account's region (see the module docstring for why not the one API)."""
    return Fn.join("", ["https://*.execute-api.", Aws.REGION, ".", Aws.URL_SUFFIX])
