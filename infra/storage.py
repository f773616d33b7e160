"""The exports bucket (private, TLS-only, expiring outputs), its access-log bucket, and the
source-data bucket imported by name."""

from __future__ import annotations

from typing import TypedDict

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from exporter.jobs.checkpoints import CHECKPOINTS_PREFIX
from infra.config import EnvConfig
from infra.nag import acknowledge

OUTPUTS_PREFIX = "outputs/"
# Parts source applications upload (exporter.applications.internal); kept after assembly, expired here.
PARTS_PREFIX = "parts/"
PARTS_EXPIRATION_DAYS = 3
# What a long job keeps between its runs (exporter.jobs.lifecycle); the multipart upload a checkpoint
# holds is aborted after UPLOADS_ABORTED_AFTER_DAYS by the rule below, so it is of no use after that.
CHECKPOINTS_EXPIRATION_DAYS = 3
UPLOADS_ABORTED_AFTER_DAYS = 2


class _PrivateBucketProps(TypedDict):
    """What every bucket of the store shares: private, TLS-only, removed with the environment's policy."""

    block_public_access: s3.BlockPublicAccess
    enforce_ssl: bool
    removal_policy: RemovalPolicy
    auto_delete_objects: bool


class ExportStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, construct_id)
        common = _PrivateBucketProps(
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=config.removal_policy,
            auto_delete_objects=config.destroys_data,
        )
        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            # Server access logging delivers only to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(90))],
            **common,
        )
        self.bucket = s3.Bucket(
            self,
            "Exports",
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="exports/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-outputs",
                    prefix=OUTPUTS_PREFIX,
                    expiration=Duration.days(config.export_expiration_days),
                ),
                s3.LifecycleRule(
                    id="expire-parts", prefix=PARTS_PREFIX, expiration=Duration.days(PARTS_EXPIRATION_DAYS)
                ),
                # What a long export keeps between its runs; deleted when it ends, expired if it never does.
                s3.LifecycleRule(
                    id="expire-checkpoints",
                    prefix=CHECKPOINTS_PREFIX,
                    expiration=Duration.days(CHECKPOINTS_EXPIRATION_DAYS),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(UPLOADS_ABORTED_AFTER_DAYS),
                ),
            ],
            **common,
        )
        acknowledge(
            self.log_bucket,
            id="AwsSolutions-S1",
            reason="This is the access-log destination of the exports bucket; logging it to itself would loop.",
        )
        self.source_bucket = s3.Bucket.from_bucket_name(self, "Source", config.source_bucket_name)

    def grant_write_outputs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Multipart upload of archives under ``outputs/`` (the worker)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            resource_arns=[self.bucket.arn_for_objects(f"{OUTPUTS_PREFIX}*")],
        )

    def grant_serve_outputs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Presigned GET and delete of archives under ``outputs/`` (the api)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject", "s3:DeleteObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{OUTPUTS_PREFIX}*")],
        )

    def grant_abandon_checkpoints(self, grantee: iam.IGrantable) -> None:
        """Abort the upload and delete what a job kept when it is deleted between two runs (the api)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:AbortMultipartUpload"],
            resource_arns=[self.bucket.arn_for_objects(f"{OUTPUTS_PREFIX}*")],
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:DeleteObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{CHECKPOINTS_PREFIX}*")],
        )

    def grant_keep_checkpoints(self, grantee: iam.IGrantable) -> iam.Grant:
        """Store, read back and delete what a long job keeps between its runs (the worker, the capture)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{CHECKPOINTS_PREFIX}*")],
        )

    def grant_read_source(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read-only access to the observation images (the worker)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self.source_bucket.arn_for_objects("*")],
        )

    def grant_write_parts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Put and presigned put of uploaded parts under ``parts/``, and their size (the internal API)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject", "s3:GetObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{PARTS_PREFIX}*")],
        )

    def grant_read_parts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Streaming uploaded parts from ``parts/`` into the archive (the assembler)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{PARTS_PREFIX}*")],
        )
