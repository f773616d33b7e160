import json
from pathlib import Path

from aws_cdk.assertions import Match

from api.app import route_table
from api.public import PUBLIC_ROUTES
from infra.applications import INTERNAL_ROUTES

ROOT = Path(__file__).resolve().parents[2]
OPEN = {f"{method} {path}" for method, path in route_table() if (method, path) in PUBLIC_ROUTES}
AUTHORIZED = {f"{method} {path}" for method, path in route_table() if (method, path) not in PUBLIC_ROUTES}
KNOWN_OPEN = {"GET /health", "GET /openapi.json", "GET /docs"}
# The internal API's routes (tests/infra/test_applications.py): another function, keys checked in it.
INTERNAL = {f"{method.value} {path}" for method, path in INTERNAL_ROUTES}
KNOWN_AUTHORIZED = {
    "GET /exports/fields",
    "POST /exports",
    "GET /exports",
    "GET /exports/{export_id}",
    "DELETE /exports/{export_id}",
    "POST /exports/{export_id}/share",
    "POST /exports/{export_id}/unshare",
    "POST /schedules",
    "POST /api/export/v1/exports",
    "GET /api/export/v1/exports",
    "GET /api/export/v1/exports/{export_id}",
    "GET /api/export/v1/exports/{export_id}/status",
    "DELETE /api/export/v1/exports/{export_id}",
    "GET /api/export/v1/applications",
    "GET /schedules",
    "GET /schedules/{schedule_id}",
    "PATCH /schedules/{schedule_id}",
    "DELETE /schedules/{schedule_id}",
    "GET /datasets",
    "GET /datasets/{name}",
    "POST /datasets/{name}/exports",
    "POST /datasets/exports",
    "POST /dataset/v1/request/submit",
    "GET /dataset/v1/request/read/{tag}",
    "GET /dataset/v1/request/list/{tag}",
    *(
        f"{method} {prefix}{path}"
        for prefix in ("/captures", "/dataset-exporter/v1/captures")
        for method, path in (("POST", ""), ("GET", "/status"), ("GET", "/download"))
    ),
}


def routes(synth) -> dict[str, dict]:
    return {r["Properties"]["RouteKey"]: r["Properties"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()}


def test_given_the_api_routes_then_they_are_the_known_ones_in_api_gateway_syntax() -> None:
    assert OPEN == KNOWN_OPEN
    assert AUTHORIZED == KNOWN_AUTHORIZED


def test_given_the_api_then_only_health_and_docs_are_open_and_every_other_route_needs_a_jwt(dev) -> None:
    by_key = {key: route for key, route in routes(dev).items() if key not in INTERNAL}
    assert set(by_key) == OPEN | AUTHORIZED
    assert set(by_key) == KNOWN_OPEN | KNOWN_AUTHORIZED
    authorizer_id = next(iter(dev.resources("AWS::ApiGatewayV2::Authorizer")))
    for key in OPEN:
        assert by_key[key]["AuthorizationType"] == "NONE", key
        assert "AuthorizerId" not in by_key[key], key
    for key in AUTHORIZED:
        assert by_key[key]["AuthorizationType"] == "JWT", key
        assert by_key[key]["AuthorizerId"] == {"Ref": authorizer_id}, key


def test_given_the_checked_in_openapi_document_then_every_operation_has_an_api_gateway_route(dev) -> None:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    operations = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}
    assert operations <= set(routes(dev)), operations - set(routes(dev))


def test_given_cognito_mode_then_the_authorizer_trusts_the_stack_user_pool_and_client(dev) -> None:
    pool_id = next(iter(dev.resources("AWS::Cognito::UserPool")))
    client_ids = set(dev.resources("AWS::Cognito::UserPoolClient"))  # the API's and the web UI's
    authorizer = next(iter(dev.resources("AWS::ApiGatewayV2::Authorizer").values()))["Properties"]
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    assert {a["Ref"] for a in authorizer["JwtConfiguration"]["Audience"]} == client_ids
    assert len(client_ids) == 2
    assert {"Ref": pool_id} in authorizer["JwtConfiguration"]["Issuer"]["Fn::Join"][1]
    dev.template.has_resource_properties(
        "AWS::Cognito::UserPoolGroup", {"GroupName": "admin", "UserPoolId": {"Ref": pool_id}}
    )
    dev.template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}, "MfaConfiguration": "OPTIONAL"},
    )


def test_given_prod_then_mfa_is_required(prod) -> None:
    prod.template.has_resource_properties("AWS::Cognito::UserPool", {"MfaConfiguration": "ON"})


def test_given_the_stage_then_it_throttles_and_writes_json_access_logs(dev) -> None:
    stage = next(iter(dev.resources("AWS::ApiGatewayV2::Stage").values()))["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40}
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert log_format["requestId"] == "$context.requestId"
    assert log_format["status"] == "$context.status"
    assert "Fn::GetAtt" in stage["AccessLogSettings"]["DestinationArn"]


def test_given_a_ui_origin_then_cors_allows_only_it_and_the_cloudfront_ui(dev, prod) -> None:
    for synth, configured in ((dev, "http://localhost:5173"), (prod, "https://exports.example.org")):
        distribution = next(iter(synth.resources("AWS::CloudFront::Distribution")))
        web = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}
        synth.template.has_resource_properties(
            "AWS::ApiGatewayV2::Api",
            {"CorsConfiguration": Match.object_like({"AllowOrigins": [configured, web]})},
        )


def test_given_an_existing_oidc_issuer_then_no_user_pool_is_created_and_the_authorizer_trusts_it(
    tmp_path,
) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.app import build_app

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["environments"]["dev"]["auth"] = {"issuer": "https://login.example.org/", "audience": ["exports"]}
    app = cdk.App(context={**context, "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    app, stack = build_app(app)
    template = Template.from_stack(stack)
    assert not template.find_resources("AWS::Cognito::UserPool")
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"JwtConfiguration": {"Issuer": "https://login.example.org/", "Audience": ["exports"]}},
    )
    assert "UserPoolId" not in template.find_outputs("*")


def test_given_the_stage_then_each_post_that_creates_work_is_throttled_harder_than_the_default(dev) -> None:
    stage_id, stage = next(iter(dev.resources("AWS::ApiGatewayV2::Stage").items()))
    default = stage["Properties"]["DefaultRouteSettings"]
    route_settings = stage["Properties"]["RouteSettings"]
    creating = {key for key in AUTHORIZED if key.startswith("POST ") and not key.endswith(("/share", "/unshare"))}
    assert {"POST /exports", "POST /captures", "POST /dataset-exporter/v1/captures"} <= creating
    assert set(route_settings) == creating
    for key in creating:
        assert route_settings[key]["ThrottlingRateLimit"] < default["ThrottlingRateLimit"], key
        assert route_settings[key]["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"], key
    # the routes exist before the stage names them in its settings
    route_ids = {
        rid for rid, r in dev.resources("AWS::ApiGatewayV2::Route").items() if r["Properties"]["RouteKey"] in creating
    }
    assert route_ids <= set(stage.get("DependsOn", [])), stage_id


def test_given_the_api_function_then_snapstart_restores_its_published_version_behind_the_live_alias(dev, prod) -> None:
    for synth in (dev, prod):
        function_id, function = synth.function("api.handler.lambda_handler")
        assert function["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        aliases = [
            v["Properties"]
            for v in synth.resources("AWS::Lambda::Alias").values()
            if v["Properties"]["FunctionName"] == {"Ref": function_id}
        ]
        assert len(aliases) == 1
        alias = aliases[0]
        assert alias["Name"] == "live"
        version_id = alias["FunctionVersion"]["Fn::GetAtt"][0]
        assert synth.resources("AWS::Lambda::Version")[version_id]["Properties"]["FunctionName"] == {"Ref": function_id}
        version = synth.resources("AWS::Lambda::Version")[version_id]
        # the published version waits for the schema, as the function does
        assert "Migrations" in "".join(version["DependsOn"])
        # a replaced version goes, and with it the snapshot billed while it exists
        assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Delete", "Delete")


def test_given_the_api_routes_then_api_gateway_invokes_the_live_alias_never_the_unpublished_function(dev) -> None:
    function_id, _ = dev.function("api.handler.lambda_handler")
    (alias_id,) = [
        k
        for k, v in dev.resources("AWS::Lambda::Alias").items()
        if v["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    internal_id, _ = dev.function("internal.handler.lambda_handler")
    integrations = {
        json.dumps(i["Properties"]["IntegrationUri"]) for i in dev.resources("AWS::ApiGatewayV2::Integration").values()
    }
    assert integrations == {json.dumps({"Ref": alias_id}), json.dumps({"Fn::GetAtt": [internal_id, "Arn"]})}
    invoked = [
        p["Properties"]["FunctionName"]
        for p in dev.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    on_api = [name for name in invoked if name in ({"Ref": alias_id}, {"Fn::GetAtt": [function_id, "Arn"]})]
    assert len(on_api) == len(KNOWN_OPEN | KNOWN_AUTHORIZED)  # one per route
    assert all(name == {"Ref": alias_id} for name in on_api)


def test_given_the_stack_then_no_snapstart_warning_is_left_unanswered(dev) -> None:
    from aws_cdk.assertions import Annotations

    assert not Annotations.from_stack(dev.stack).find_warning("*", Match.string_like_regexp("SnapStart"))
