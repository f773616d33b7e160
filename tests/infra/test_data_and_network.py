from aws_cdk.assertions import Match


def test_given_the_database_then_it_is_encrypted_private_and_backed_up(dev, prod) -> None:
    dev.template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "Engine": "postgres",
            "StorageEncrypted": True,
            "PubliclyAccessible": False,
            "BackupRetentionPeriod": 1,
            "MultiAZ": False,
            "DeletionProtection": False,
        },
    )
    prod.template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {"StorageEncrypted": True, "BackupRetentionPeriod": 14, "MultiAZ": True, "DeletionProtection": True},
    )
    assert {r["DeletionPolicy"] for r in dev.resources("AWS::RDS::DBInstance").values()} == {"Delete"}
    assert {r["DeletionPolicy"] for r in prod.resources("AWS::RDS::DBInstance").values()} == {"Retain"}


def test_given_the_database_then_credentials_live_in_secrets_manager_and_the_proxy_requires_tls(dev) -> None:
    attachment_id = next(iter(dev.resources("AWS::SecretsManager::SecretTargetAttachment")))
    dev.template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {"MasterUserPassword": Match.object_like({"Fn::Join": Match.any_value()})},
    )
    dev.template.has_resource_properties(
        "AWS::RDS::DBProxy",
        {
            "EngineFamily": "POSTGRESQL",
            "RequireTLS": True,
            "Auth": [Match.object_like({"AuthScheme": "SECRETS", "SecretArn": {"Ref": attachment_id}})],
        },
    )


def test_given_the_vpc_then_it_has_no_nat_and_no_internet_gateway(dev) -> None:
    assert not dev.resources("AWS::EC2::NatGateway")
    assert not dev.resources("AWS::EC2::InternetGateway")
    for subnet in dev.resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    assert dev.resources("AWS::EC2::FlowLog")


def test_given_the_vpc_then_s3_has_a_gateway_endpoint_and_sqs_and_secrets_interface_endpoints(dev) -> None:
    endpoints = [e["Properties"] for e in dev.resources("AWS::EC2::VPCEndpoint").values()]
    services = {
        (e.get("VpcEndpointType", "Gateway"), str(e["ServiceName"]).split(".")[-1] if isinstance(e["ServiceName"], str)
         else e["ServiceName"]["Fn::Join"][1][-1].split(".")[-1])
        for e in endpoints
    }  # fmt: skip
    assert services == {("Gateway", "s3"), ("Interface", "sqs"), ("Interface", "secretsmanager")}


def test_given_the_database_then_only_the_proxy_and_the_migrator_reach_it(dev) -> None:
    instance = next(iter(dev.resources("AWS::RDS::DBInstance").values()))["Properties"]
    db_sg = instance["VPCSecurityGroups"][0]["Fn::GetAtt"][0]
    proxy = next(iter(dev.resources("AWS::RDS::DBProxy").values()))["Properties"]
    proxy_sg = proxy["VpcSecurityGroupIds"][0]["Fn::GetAtt"][0]
    _migrate_id, migrate = dev.function("migrate.handler.lambda_handler")
    migrate_sg = migrate["Properties"]["VpcConfig"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]
    sources = {
        rule["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
        for rule in dev.resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [db_sg, "GroupId"]}
    }
    assert sources == {proxy_sg, migrate_sg}
    security_groups = dev.resources("AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in security_groups[db_sg]["Properties"]
