# Actions that have no resource-level permissions, each acknowledged (with its reason) in infra/.
JUSTIFIED_STAR_ACTIONS = {
    "xray:PutTraceSegments",  # active tracing (infra/functions.py)
    "xray:PutTelemetryRecords",
    "logs:PutRetentionPolicy",  # CDK's LogRetention helper for the RDS log groups (infra/stack.py)
    "logs:DeleteRetentionPolicy",
    "cloudfront:CreateInvalidation",  # CDK's BucketDeployment invalidates the UI's distribution (infra/web.py)
    "cloudfront:GetInvalidation",
}


def statements(synth):
    for logical_id, policy in synth.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield logical_id, statement
    for logical_id, role in synth.resources("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield logical_id, statement


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_given_every_iam_policy_then_star_resources_carry_only_justified_actions(dev) -> None:
    for logical_id, statement in statements(dev):
        if "*" in as_list(statement.get("Resource", [])):
            assert set(as_list(statement["Action"])) <= JUSTIFIED_STAR_ACTIONS, (logical_id, statement)
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), (logical_id, action)


def policy_of(synth, handler: str) -> list[dict]:
    _fn_id, fn = synth.function(handler)
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def s3_grants(synth, handler: str) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in policy_of(synth, handler):
        actions = {a for a in as_list(statement["Action"]) if a.startswith("s3:")}
        if actions:
            grants[str(statement["Resource"])] = actions
    return grants


def test_given_the_worker_then_it_writes_outputs_keeps_checkpoints_and_only_reads_the_source_bucket(dev) -> None:
    grants = s3_grants(dev, "worker.handler.lambda_handler")
    by_actions = {frozenset(v): k for k, v in grants.items()}
    write = by_actions[frozenset({"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"})]
    read = by_actions[frozenset({"s3:GetObject"})]
    checkpoints = by_actions[frozenset({"s3:PutObject", "s3:GetObject", "s3:DeleteObject"})]
    assert "/outputs/*" in write
    assert "ad-observatory-images-dev/*" in read
    assert "/checkpoints/*" in checkpoints
    assert len(grants) == 3


def test_given_the_api_then_it_serves_and_deletes_outputs_and_a_deleted_jobs_checkpoint_only(dev) -> None:
    by_prefix: dict[str, set[str]] = {}
    for statement in policy_of(dev, "api.handler.lambda_handler"):
        actions = {a for a in as_list(statement["Action"]) if a.startswith("s3:")}
        resource = str(statement["Resource"])
        prefix = next((p for p in ("/outputs/*", "/checkpoints/*") if p in resource), resource)
        if actions:
            by_prefix.setdefault(prefix, set()).update(actions)
    assert by_prefix == {
        "/outputs/*": {"s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"},
        "/checkpoints/*": {"s3:DeleteObject"},
    }


def test_given_the_sweeper_then_it_consumes_the_dlq_and_sends_to_the_job_queue(dev) -> None:
    actions = {a for s in policy_of(dev, "worker.sweeper.lambda_handler") for a in as_list(s["Action"])}
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions
    assert "secretsmanager:GetSecretValue" in actions


def test_given_a_deploy_then_migrations_run_after_the_database_and_before_the_new_code(dev) -> None:
    trigger_id, trigger = next(iter(dev.resources("Custom::Trigger").items()))
    migrate_id, _ = dev.function("migrate.handler.lambda_handler")
    instance_id = next(iter(dev.resources("AWS::RDS::DBInstance")))
    assert trigger["Properties"]["InvocationType"] == "RequestResponse"
    version_id = trigger["Properties"]["HandlerArn"]["Ref"]
    assert dev.resources("AWS::Lambda::Version")[version_id]["Properties"]["FunctionName"] == {"Ref": migrate_id}
    assert instance_id in trigger["DependsOn"]
    # ... and after the rules that let the migrator reach the instance and Secrets Manager.
    migrate_sg = dev.function("migrate.handler.lambda_handler")[1]["Properties"]["VpcConfig"]["SecurityGroupIds"][0]
    migrator_rules = {
        rule_id
        for rule_id, rule in dev.resources("AWS::EC2::SecurityGroupIngress").items()
        if rule["Properties"].get("SourceSecurityGroupId") == migrate_sg
    }
    db_sg = next(iter(dev.resources("AWS::RDS::DBInstance").values()))["Properties"]["VPCSecurityGroups"][0]
    targets = {str(dev.resources("AWS::EC2::SecurityGroupIngress")[r]["Properties"]["GroupId"]) for r in migrator_rules}
    assert str(db_sg) in targets
    assert any("SecretsManager" in target for target in targets)
    assert migrator_rules <= set(trigger["DependsOn"])
    for handler in ("api.handler.lambda_handler", "worker.handler.lambda_handler", "worker.sweeper.lambda_handler"):
        _fn_id, fn = dev.function(handler)
        assert trigger_id in fn["DependsOn"], handler


def test_given_the_migrate_function_then_it_carries_the_layer_digest(dev) -> None:
    variables = dev.function("migrate.handler.lambda_handler")[1]["Properties"]["Environment"]["Variables"]
    layer = dev.stack.node.find_child("Shared")
    assert variables["MIGRATIONS_DIGEST"].startswith(f"{layer.digest}-")


def test_given_a_new_migration_file_then_the_digest_changes(tmp_path) -> None:
    from infra.functions import source_digest

    package = tmp_path / "exporter"
    (package / "migrations").mkdir(parents=True)
    (package / "migrations" / "0001_exports.sql").write_text("CREATE TABLE exports ();")
    before = source_digest(package)
    (package / "migrations" / "__pycache__").mkdir()
    (package / "migrations" / "__pycache__" / "x.pyc").write_bytes(b"noise")
    assert source_digest(package) == before
    (package / "migrations" / "0002_more.sql").write_text("ALTER TABLE exports ADD COLUMN x int;")
    assert source_digest(package) != before
