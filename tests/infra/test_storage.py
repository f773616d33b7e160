from aws_cdk.assertions import Match


def exports_bucket(synth) -> tuple[str, dict]:
    buckets = {
        k: v
        for k, v in synth.resources("AWS::S3::Bucket").items()
        if v["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "exports/"
    }
    assert len(buckets) == 1
    return next(iter(buckets.items()))


def test_given_the_exports_bucket_then_it_is_private_and_encrypted(dev) -> None:
    dev.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "exports/"}),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )


def test_given_every_bucket_then_its_policy_denies_requests_without_tls(dev) -> None:
    buckets = dev.resources("AWS::S3::Bucket")
    policies = dev.resources("AWS::S3::BucketPolicy")
    protected = set()
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                assert statement["Effect"] == "Deny" and statement["Action"] == "s3:*"
                protected.add(policy["Properties"]["Bucket"]["Ref"])
    assert protected == set(buckets)


def test_given_outputs_then_they_expire_after_export_expiration_days(dev) -> None:
    _, bucket = exports_bucket(dev)
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {"Id": "expire-outputs", "Prefix": "outputs/", "ExpirationInDays": 7, "Status": "Enabled"} in rules
    assert {
        "Id": "abort-incomplete-multipart-uploads",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        "Status": "Enabled",
    } in rules


def test_given_the_exports_bucket_then_access_logs_go_to_the_log_bucket(dev) -> None:
    _, bucket = exports_bucket(dev)
    target = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    log_bucket = dev.resources("AWS::S3::Bucket")[target]
    assert "LoggingConfiguration" not in log_bucket["Properties"]


def test_given_dev_then_buckets_are_destroyed_and_given_prod_then_retained(dev, prod) -> None:
    assert {b["DeletionPolicy"] for b in dev.resources("AWS::S3::Bucket").values()} == {"Delete"}
    assert dev.resources("Custom::S3AutoDeleteObjects")
    assert {b["DeletionPolicy"] for b in prod.resources("AWS::S3::Bucket").values()} == {"Retain"}
    assert not prod.resources("Custom::S3AutoDeleteObjects")


def test_given_long_exports_then_their_checkpoints_expire_where_the_worker_keeps_them(dev) -> None:
    from exporter.jobs.checkpoints import CHECKPOINTS_PREFIX

    dev.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        {
                            "Id": "expire-checkpoints",
                            "Prefix": CHECKPOINTS_PREFIX,
                            "ExpirationInDays": 3,
                            "Status": "Enabled",
                        }
                    ]
                )
            }
        },
    )
