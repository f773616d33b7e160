"""Operator datasets: the ``datasets/`` folder checked at synth, shipped as a layer, and its other databases.

The folder is the repository's ``datasets/`` unless the ``datasetsPath`` context value names
another (``-c datasetsPath=...``, relative to the repository). ``cdk synth`` reads it whole with
``validate_catalogue`` before building anything, so a malformed dataset stops the synth with a
message naming the folder and the problem. The layer's asset is the folder's parent filtered to
the folder alone, so it lands at ``/opt/<folder>`` in the functions that read the catalogue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import IgnoreMode
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, Node

from exporter.datasets.catalogue import Catalogue, Dataset, validate_catalogue
from infra.config import ConfigError, EnvConfig
from infra.functions import ARCHITECTURE, RUNTIME, package_excludes

ROOT = Path(__file__).resolve().parent.parent
DATASETS_CONTEXT = "datasetsPath"
DEFAULT_DATASETS = ROOT / "datasets"
LAYER_ROOT = "/opt"  # where Lambda unpacks a layer


@dataclass(frozen=True)
class OperatorDatasets:
    """The dataset folder the stack ships and the catalogue read from it."""

    folder: Path
    catalogue: Catalogue

    @property
    def path_in_lambda(self) -> str:
        """``DATASETS_PATH`` of the functions the layer is attached to."""
        return f"{LAYER_ROOT}/{self.folder.name}"

    def scheduled(self) -> list[Dataset]:
        """The datasets with an operator ``[schedule]``, by name."""
        return [dataset for dataset in self.catalogue if dataset.schedule is not None]


def datasets_folder(node: Node) -> Path:
    """The ``datasetsPath`` context value (relative to the repository), or the repository's ``datasets/``."""
    configured = node.try_get_context(DATASETS_CONTEXT)
    return (ROOT / configured).resolve() if configured else DEFAULT_DATASETS


def read_datasets(folder: Path, config: EnvConfig) -> OperatorDatasets:
    """The catalogue at ``folder``, checked whole; :class:`InvalidDataset` or :class:`ConfigError` otherwise.

    Beyond ``validate_catalogue`` (which also checks each operator schedule's expression and time
    zone): each dataset's ``source`` is configured for the environment.
    """
    catalogue = validate_catalogue(folder)
    for dataset in catalogue:
        if dataset.source is not None and dataset.source not in config.dataset_sources:
            raise ConfigError(
                f"dataset {dataset.name} ({folder / dataset.name}) reads source {dataset.source!r}, "
                f"which {config.name}.datasetSources in cdk.json does not name"
            )
    return OperatorDatasets(folder, catalogue)


class DatasetsLayer(Construct):
    """The dataset folders as a Lambda layer, and the grants of the databases they read."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, datasets: OperatorDatasets) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.datasets = datasets
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description=f"operator datasets ({datasets.folder.name}/), unpacked at {datasets.path_in_lambda}",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(datasets.folder.parent),
                exclude=package_excludes(datasets.folder.name),
                ignore_mode=IgnoreMode.GIT,
            ),
        )

    def ship_to(self, *functions: lambda_.Function) -> None:
        """``functions`` read the catalogue: the layer, and ``DATASETS_PATH`` where it lands."""
        for fn in functions:
            fn.add_layers(self.layer)
            fn.add_environment("DATASETS_PATH", self.datasets.path_in_lambda)

    def read_sources(self, worker: lambda_.Function) -> None:
        """The worker runs the datasets: ``DATASET_SOURCES``, and the read of exactly those secrets."""
        sources = self.config.dataset_sources
        if not sources:
            return
        worker.add_environment("DATASET_SOURCES", json.dumps(dict(sources), sort_keys=True))
        worker.add_to_role_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=sorted(sources.values()))
        )
