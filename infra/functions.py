"""The shared layer and the one factory that builds every Python function.

The layer is built by CDK *local* bundling (``pip install --platform manylinux2014_aarch64
--only-binary=:all:``), so ``cdk synth`` needs no Docker. Each function's asset is the
``functions/`` folder filtered to that function's own package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, IgnoreMode, ILocalBundling, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import EnvConfig, FunctionConfig
from infra.nag import acknowledge

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
LAYERS_DIR = ROOT / "layers"

# One runtime for the functions and for the wheels the layer is built with.
RUNTIME = lambda_.Runtime.PYTHON_3_13
PYTHON_VERSION = "3.13"
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
UV_PLATFORM = "aarch64-manylinux2014"  # the same platform in uv's spelling

_NOISE = ["__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", "*.egg-info"]


def package_excludes(package: str) -> list[str]:
    """Patterns (gitignore syntax) that keep only ``functions/<package>/`` in an asset."""
    return ["/*", f"!/{package}/", *_NOISE]


def source_digest(*paths: Path) -> str:
    """A stable digest of the files under ``paths`` (bytecode and caches ignored)."""
    digest = hashlib.sha256()
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(base.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@jsii.implements(ILocalBundling)
class LocalLayerBundling:
    """Installs the layer requirements for Lambda's platform and copies the domain package."""

    def __init__(self, requirements: Path, package: Path) -> None:
        self.requirements = requirements
        self.package = package

    def try_bundle(self, output_dir: str, *, image=None, **_: object) -> bool:
        target = Path(output_dir) / "python"
        target.mkdir(parents=True, exist_ok=True)
        command = install_command(target, self.requirements)
        subprocess.run(command, check=True, stdout=sys.stderr)  # noqa: S603 - fixed argv, no shell
        _drop_runtime_provided(target)
        shutil.copytree(
            self.package,
            target / self.package.name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
        return True


def _drop_runtime_provided(target: Path) -> None:
    """The AWS SDK comes with the Lambda runtime; a second copy (pulled in by aws-xray-sdk) only adds weight."""
    for name in RUNTIME_PROVIDED:
        for path in [target / name, *target.glob(f"{name}-*.dist-info")]:
            if path.exists():
                shutil.rmtree(path)


def install_command(target: Path, requirements: Path) -> list[str]:
    """Wheels for Lambda (manylinux2014 aarch64, CPython 3.13) into ``target``, never an sdist build.

    pip from the running interpreter when it has one; in a uv venv (no pip) ``uv pip`` with the
    same meaning spelled uv's way.
    """
    if importlib.util.find_spec("pip") is not None:
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
            "--platform", PIP_PLATFORM,
            "--implementation", "cp",
            "--python-version", PYTHON_VERSION,
            "--only-binary=:all:",
            "--target", str(target),
            "--requirement", str(requirements),
        ]  # fmt: skip
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("layer bundling needs pip in the venv or uv on PATH")
    return [
        uv, "pip", "install", "--quiet", "--no-compile",
        "--python-platform", UV_PLATFORM,
        "--python-version", PYTHON_VERSION,
        "--only-binary", ":all:",
        "--target", str(target),
        "--requirement", str(requirements),
    ]  # fmt: skip


class SharedLayer(Construct):
    """The ``exporter`` domain package and its requirements, under ``python/``."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        requirements = LAYERS_DIR / "requirements.txt"
        package = LAYERS_DIR / "exporter"
        self.digest = source_digest(requirements, package)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description="exporter domain package + requirements (aarch64, cp313)",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(LAYERS_DIR),
                exclude=_NOISE,
                bundling=BundlingOptions(
                    # Docker fallback only: local bundling always succeeds or raises.
                    image=RUNTIME.bundling_image,
                    local=LocalLayerBundling(requirements, package),
                    command=[
                        "bash",
                        "-c",
                        f"pip install --no-compile --platform {PIP_PLATFORM} --implementation cp"
                        f" --python-version {PYTHON_VERSION} --only-binary=:all:"
                        " -r requirements.txt -t /asset-output/python"
                        " && cp -r exporter /asset-output/python/exporter",
                    ],
                ),
            ),
        )


@dataclass(frozen=True)
class FunctionPlacement:
    """Where functions run: the VPC, their subnets, and the endpoints they may reach."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    endpoints: Sequence[ec2.IConnectable] = ()


class PythonFunctionFactory:
    """Builds every Python function the same way: runtime, arm64, tracing, JSON logs, layer."""

    def __init__(self, config: EnvConfig, layer: lambda_.ILayerVersion, placement: FunctionPlacement) -> None:
        self.config = config
        self.layer = layer
        self.placement = placement

    def create(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        sizing: FunctionConfig,
        environment: Mapping[str, str],
        description: str,
        in_vpc: bool = True,
        snap_start: lambda_.SnapStartConf | None = None,
    ) -> lambda_.Function:
        """A function in the VPC's function subnets with a security group of its own.

        ``in_vpc=False`` only for a function that reaches no database, cache, queue or AWS API: outside
        the VPC it has no security group and no network interface, everything else is the same.
        ``snap_start`` only for a function whose initialisation opens no connection (the snapshot would
        hold it) and that is invoked through a published version or alias. A version a deploy replaced
        is deleted with its snapshot, which is billed for as long as the version exists.
        """
        package = handler.split(".", 1)[0]
        security_group = self._security_group(scope, construct_id) if in_vpc else None
        log_group = logs.LogGroup(
            scope,
            f"{construct_id}Logs",
            retention=self.config.log_retention,
            removal_policy=self.config.removal_policy,
        )
        fn = lambda_.Function(
            scope,
            construct_id,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=lambda_.Code.from_asset(
                str(FUNCTIONS_DIR), exclude=package_excludes(package), ignore_mode=IgnoreMode.GIT
            ),
            layers=[self.layer],
            memory_size=sizing.memory_mb,
            ephemeral_storage_size=Size.mebibytes(sizing.ephemeral_storage_mb),
            timeout=sizing.timeout,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=log_group,
            environment=dict(environment),
            snap_start=snap_start,
            current_version_options=_replaced_versions_deleted() if snap_start is not None else None,
            **self._network(security_group),
        )
        if security_group is not None:
            for endpoint in self.placement.endpoints:
                endpoint.connections.allow_default_port_from(security_group, f"{construct_id} to AWS API endpoint")
        acknowledge_lambda_basics(fn, self.config, in_vpc=in_vpc)
        return fn

    def _security_group(self, scope: Construct, construct_id: str) -> ec2.SecurityGroup:
        return ec2.SecurityGroup(
            scope,
            f"{construct_id}SecurityGroup",
            vpc=self.placement.vpc,
            description=f"{construct_id} function",
            allow_all_outbound=True,
        )

    def _network(self, security_group: ec2.ISecurityGroup | None) -> dict[str, Any]:
        """The function's VPC properties: the placement with ``security_group``, or none outside the VPC."""
        if security_group is None:
            return {}
        return {"vpc": self.placement.vpc, "vpc_subnets": self.placement.subnets, "security_groups": [security_group]}


def _replaced_versions_deleted() -> lambda_.VersionOptions:
    """CloudFormation deletes the previous published version once a deploy has replaced it (not on rollback)."""
    return lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY)


def acknowledge_lambda_basics(fn: lambda_.Function, config: EnvConfig, *, in_vpc: bool = True) -> None:
    """The nag findings every function of the factory shares, each with its reason."""
    acknowledge(
        fn,
        id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason="Lambda's own log-writing policy, scoped by AWS to CloudWatch Logs; kept managed so it tracks "
        "what the Lambda service needs.",
    )
    if in_vpc:
        acknowledge(
            fn,
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
            reason="Required for a function in a VPC: ENI create/describe/delete have no resource-level scoping, "
            "AWS maintains the action list.",
        )
    acknowledge(
        fn,
        id="AwsSolutions-IAM5[Resource::*]",
        reason="Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) are on '*': X-Ray "
        "supports no resource-level permissions; tests/infra asserts no other action is granted on '*'.",
    )
    acknowledge(
        fn,
        id="AwsSolutions-L1",
        reason=f"Pinned to {RUNTIME.name}: the layer's wheels are built for cp{PYTHON_VERSION.replace('.', '')} "
        "and the runtime moves together with the layer build in functions.py.",
    )
