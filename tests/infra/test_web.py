"""The web UI in AWS: a private bucket behind CloudFront, security headers, SPA routing, and the
config.json the UI reads (API URL and Cognito settings), generated at deploy."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Match


def one(synth, type_: str, prefix: str = "") -> tuple[str, dict]:
    found = {k: v for k, v in synth.resources(type_).items() if k.startswith(prefix)}
    assert len(found) == 1, list(found)
    return next(iter(found.items()))


def distribution_config(synth) -> dict:
    return one(synth, "AWS::CloudFront::Distribution")[1]["Properties"]["DistributionConfig"]


def test_given_the_site_bucket_then_it_is_private_encrypted_tls_only_and_logged(dev) -> None:
    site_id, site = one(dev, "AWS::S3::Bucket", "WebSite")
    props = site["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "web/"
    assert "WebsiteConfiguration" not in props  # served by CloudFront through OAC, never as a website
    policy = next(
        p for p in dev.resources("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": site_id}
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [
        s.get("Condition") for s in statements if s["Effect"] == "Deny"
    ]
    public = [s for s in statements if s["Effect"] == "Allow" and s["Principal"] in ("*", {"AWS": "*"})]
    assert public == []


def test_given_the_distribution_then_only_it_reads_the_bucket_through_origin_access_control(dev) -> None:
    oac_id, oac = one(dev, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert oac["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    (origin,) = distribution_config(dev)["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    distribution_id, _ = one(dev, "AWS::CloudFront::Distribution")
    site_id, _ = one(dev, "AWS::S3::Bucket", "WebSite")
    dev.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": site_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:GetObject",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {
                                        "AWS:SourceArn": Match.object_like(
                                            {"Fn::Join": ["", Match.array_with([{"Ref": distribution_id}])]}
                                        )
                                    }
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


def test_given_a_viewer_on_http_then_it_is_redirected_to_https_and_can_only_read(dev) -> None:
    behavior = distribution_config(dev)["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert distribution_config(dev)["DefaultRootObject"] == "index.html"


def test_given_every_response_then_it_carries_the_security_headers(dev) -> None:
    policy_id, policy = one(dev, "AWS::CloudFront::ResponseHeadersPolicy")
    assert distribution_config(dev)["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": policy_id}
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 31536000,
        "IncludeSubdomains": True,
        "Override": True,
    }
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ReferrerPolicy"] == {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": True}
    parts = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Join"][1]
    csp = "".join(p if isinstance(p, str) else f"<{next(iter(p.values()))}>" for p in parts)
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "frame-ancestors 'none'" in csp
    # fetch() may reach the site, the regional API and the stack's Cognito Hosted UI domain, nothing else
    connect = re.search(r"connect-src ([^;]+);", csp).group(1).split()
    domain_id, _ = one(dev, "AWS::Cognito::UserPoolDomain")
    assert connect == [
        "'self'",
        "https://*.execute-api.<AWS::Region>.<AWS::URLSuffix>",
        f"https://<{domain_id}>.auth.<AWS::Region>.amazoncognito.com",
    ]


def test_given_a_client_side_route_then_cloudfront_answers_with_the_app(dev) -> None:
    # /exports/new is no object: S3 answers 403 (404 if listing were allowed); the app answers with 200
    assert distribution_config(dev)["CustomErrorResponses"] == [
        {"ErrorCode": status, "ResponseCode": 200, "ResponsePagePath": "/index.html", "ErrorCachingMinTTL": 0}
        for status in (403, 404)
    ]


def test_given_a_deploy_then_web_and_a_generated_config_json_are_published_and_invalidated(dev) -> None:
    _, deployment = one(dev, "Custom::CDKBucketDeployment")
    props = deployment["Properties"]
    site_id, _ = one(dev, "AWS::S3::Bucket", "WebSite")
    distribution_id, _ = one(dev, "AWS::CloudFront::Distribution")
    assert props["DestinationBucketName"] == {"Ref": site_id}
    assert props["DistributionId"] == {"Ref": distribution_id}
    assert props["DistributionPaths"] == ["/*"]
    # every file is revalidated by browsers, so the next page load after a deploy gets the new UI
    assert props["SystemMetadata"] == {"cache-control": "no-cache"}
    assets = [dev.outdir / f"asset.{key.removesuffix('.zip')}" for key in props["SourceObjectKeys"]]
    site, config = assets
    assert (site / "index.html").is_file() and (site / "ui" / "app.js").is_file()

    # config.json: the API URL, the Hosted UI endpoints and the web client, filled in at deploy
    markers = props["SourceMarkers"][1]
    text = (config / "config.json").read_text()
    for marker, value in markers.items():
        text = text.replace(marker, json.dumps(json.dumps(value)))
    generated = json.loads(text)
    resolved = {k: json.loads(v) for k, v in _flatten(generated).items()}
    api_id, _ = one(dev, "AWS::ApiGatewayV2::Api")
    client_id, _ = one(dev, "AWS::Cognito::UserPoolClient", "IdentityUsersWebClient")
    assert {"Ref": api_id} in resolved["apiUrl"]["Fn::Join"][1]
    assert generated["auth"]["mode"] == "oauth"
    assert resolved["auth.clientId"]["Fn::Join"][1] == ['"', {"Ref": client_id}, '"']
    for key, path in (("authorizeUrl", "/oauth2/authorize"), ("tokenUrl", "/oauth2/token")):
        assert resolved[f"auth.{key}"]["Fn::Join"][1][-1] == f'.amazoncognito.com{path}"'
    assert resolved["auth.redirectUri"]["Fn::Join"][1][-1] == '/signin"'


def _flatten(value: dict, prefix: str = "") -> dict[str, str]:
    """Leaves of the generated config that were markers (JSON strings), by dotted key."""
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            out.update(_flatten(item, f"{prefix}{key}."))
        elif isinstance(item, str) and item.startswith("{"):
            out[f"{prefix}{key}"] = item
    return out


def test_given_cognito_then_the_ui_client_uses_the_code_flow_with_pkce_back_to_cloudfront(dev) -> None:
    distribution_id, _ = one(dev, "AWS::CloudFront::Distribution")
    signin = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "/signin"]]}
    dev.template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "GenerateSecret": False,  # a public client: PKCE instead of a secret in the browser
            "AllowedOAuthFlows": ["code"],
            "AllowedOAuthFlowsUserPoolClient": True,
            "CallbackURLs": [signin],
            "LogoutURLs": [signin],
            "SupportedIdentityProviders": ["COGNITO"],
        },
    )
    dev.template.has_resource_properties(
        "AWS::Cognito::UserPoolDomain",
        {"Domain": {"Fn::Join": ["-", ["export-service-dev", {"Ref": "AWS::AccountId"}]]}},
    )
