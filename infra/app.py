"""CDK entry point (``cdk.json`` runs ``python -m infra.app``); ``-c env=dev|prod`` picks settings."""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import load_config
from infra.datasets import datasets_folder, read_datasets
from infra.stack import ExportServiceStack


def build_app(app: cdk.App | None = None) -> tuple[cdk.App, ExportServiceStack]:
    """The app with cdk-nag's AwsSolutions pack validating every synth.

    The configuration and the dataset folders are checked before any construct is made, so a
    bad value or a malformed dataset stops the synth at once with a message naming it.
    """
    app = app or cdk.App()
    env_name = app.node.try_get_context("env") or "dev"
    environments: dict[str, Any] = app.node.try_get_context("environments") or {}
    config = load_config(env_name, environments)
    datasets = read_datasets(datasets_folder(app.node), config)
    stack = ExportServiceStack(
        app,
        f"ExportService-{config.name}",
        config=config,
        datasets=datasets,
        description=f"Serverless export service ({config.name})",
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
        termination_protection=not config.destroys_data,
    )
    # DBProxyTargetGroup takes no Tags (CloudFormation rejects them).
    untaggable = ["AWS::RDS::DBProxyTargetGroup"]
    cdk.Tags.of(stack).add("service", "export-service", exclude_resource_types=untaggable)
    cdk.Tags.of(stack).add("environment", config.name, exclude_resource_types=untaggable)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
