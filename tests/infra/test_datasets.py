"""Operator datasets in the template: shipped as a layer, checked at synth, their sources and their schedules."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from conftest import ROOT, Synthesized, cdk_context
from test_iam_and_migrations import as_list, policy_of

from exporter.adapters.ports import TimedSchedule
from exporter.adapters.scheduler import EventBridgeScheduler, SchedulerTarget
from exporter.datasets.catalogue import validate_catalogue
from exporter.errors import InvalidDataset
from infra.app import build_app
from infra.config import ConfigError, load_config

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

API = "api.handler.lambda_handler"
WORKER = "worker.handler.lambda_handler"
FIRE = "scheduler.handler.lambda_handler"
READERS = (API, WORKER, FIRE)  # the functions that read the catalogue
REPO_DATASETS = ROOT / "datasets"
SOURCE_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:exports/archive-db-AbC123"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def scheduled_in(folder: Path) -> dict[str, dict]:
    """``{dataset: its [schedule] table}`` read straight from the dataset.toml files."""
    found = {}
    for toml in sorted(folder.glob("*/dataset.toml")):
        schedule = tomllib.loads(toml.read_text()).get("schedule")
        if schedule is not None:
            found[toml.parent.name] = schedule
    return found


def context_with(**overrides: object) -> dict:
    return {
        **cdk_context(),
        "env": "dev",
        "aws:cdk:bundling-stacks": [],
        "aws:cdk:enable-asset-metadata": True,
        **overrides,
    }


def datasets_layer(synth: Synthesized) -> tuple[str, dict]:
    layers = {k: v for k, v in synth.resources("AWS::Lambda::LayerVersion").items() if k.startswith("Datasets")}
    assert len(layers) == 1, list(layers)
    return next(iter(layers.items()))


def operator_schedules(synth: Synthesized) -> dict[str, dict]:
    """``{dataset: schedule properties}`` of every Scheduler schedule the template makes."""
    found: dict[str, dict] = {}
    for resource in synth.resources("AWS::Scheduler::Schedule").values():
        props = resource["Properties"]
        name = json.loads(props["Target"]["Input"])["dataset"]
        assert name not in found, f"two schedules fire dataset {name}"
        found[name] = props
    return found


def env_of(synth: Synthesized, handler: str) -> dict:
    return synth.function(handler)[1]["Properties"]["Environment"]["Variables"]


# ---- shipped with the functions ---------------------------------------------------------------------


def test_given_the_functions_that_read_the_catalogue_then_they_carry_the_datasets_layer_and_its_path(dev) -> None:
    layer_id, _ = datasets_layer(dev)
    shared_id, _ = dev.shared_layer()
    for handler in READERS:
        props = dev.function(handler)[1]["Properties"]
        # Disjoint paths (/opt/python, /opt/datasets), so their order does not matter.
        assert sorted(layer["Ref"] for layer in props["Layers"]) == sorted([shared_id, layer_id]), handler
        assert props["Environment"]["Variables"]["DATASETS_PATH"] == "/opt/datasets", handler
    for fn in dev.app_functions().values():
        props = fn["Properties"]
        if props["Handler"] not in READERS:
            assert props["Layers"] == [{"Ref": shared_id}], props["Handler"]
            assert "DATASETS_PATH" not in props.get("Environment", {}).get("Variables", {}), props["Handler"]


def test_given_the_datasets_layer_then_it_unpacks_to_the_repository_datasets_and_nothing_else(dev) -> None:
    _, layer = datasets_layer(dev)
    asset = dev.outdir / layer["Metadata"]["aws:asset:path"]
    assert {p.name for p in asset.iterdir()} == {"datasets"}  # Lambda unpacks a layer at /opt
    shipped = validate_catalogue(asset / "datasets")
    assert [d.name for d in shipped] == [d.name for d in validate_catalogue(REPO_DATASETS)]
    assert "observations" in shipped.datasets
    for original in REPO_DATASETS.glob("*/*"):
        copy = asset / "datasets" / original.relative_to(REPO_DATASETS)
        assert copy.read_bytes() == original.read_bytes(), copy
    assert not list(asset.rglob("__pycache__"))


# ---- checked at synth -------------------------------------------------------------------------------


def failing_app(datasets: Path, outdir: Path) -> cdk.App:
    """An app over ``datasets`` (its synth output kept outside the folder)."""
    return cdk.App(context=context_with(datasetsPath=str(datasets)), outdir=str(outdir))


def write_dataset(root: Path, name: str, *, select: str, toml: str = "") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "select.sql").write_text(select)
    if toml:
        (folder / "dataset.toml").write_text(toml)
    return folder


def test_given_a_dataset_with_an_undeclared_placeholder_then_synth_fails_naming_the_folder_and_problem(
    tmp_path: Path,
) -> None:
    write_dataset(tmp_path / "datasets", "fine", select="SELECT 1")
    write_dataset(tmp_path / "datasets", "broken", select="SELECT * FROM ckb.agency WHERE created_at >= %(since)s")
    app = failing_app(tmp_path / "datasets", tmp_path / "out")
    with pytest.raises(InvalidDataset, match=r"dataset broken \(.*broken\).*placeholder %\(since\)s"):
        build_app(app)


def test_given_an_unknown_format_then_synth_fails_naming_the_folder_and_the_format(tmp_path: Path) -> None:
    write_dataset(tmp_path / "datasets", "odd", select="SELECT 1", toml='format = "xlsx"\n')
    app = failing_app(tmp_path / "datasets", tmp_path / "out")
    with pytest.raises(InvalidDataset, match=r"dataset odd .*unknown format 'xlsx'"):
        build_app(app)


def test_given_a_schedule_scheduler_would_refuse_then_synth_fails_naming_the_dataset(tmp_path: Path) -> None:
    hour_25 = '[schedule]\nexpression = "cron(0 25 * * ? *)"\n'
    write_dataset(tmp_path / "datasets", "nightly", select="SELECT 1", toml=hour_25)
    app = failing_app(tmp_path / "datasets", tmp_path / "out")
    with pytest.raises(InvalidDataset, match=r"dataset nightly .*\[schedule\]"):
        build_app(app)
    toml = '[schedule]\nexpression = "rate(1 day)"\ntimezone = "Mars/Olympus"\n'
    (tmp_path / "datasets" / "nightly" / "dataset.toml").write_text(toml)
    with pytest.raises(InvalidDataset, match=r"dataset nightly .*timezone 'Mars/Olympus'"):
        build_app(failing_app(tmp_path / "datasets", tmp_path / "out2"))


def test_given_a_dataset_reading_a_source_the_environment_does_not_configure_then_synth_fails(tmp_path: Path) -> None:
    write_dataset(tmp_path / "datasets", "archived", select="SELECT 1", toml='source = "archive"\n')
    app = failing_app(tmp_path / "datasets", tmp_path / "out")
    with pytest.raises(ConfigError, match=r"dataset archived .*source 'archive'.*dev\.datasetSources"):
        build_app(app)


def test_given_a_datasets_path_that_is_no_folder_then_synth_fails_saying_so(tmp_path: Path) -> None:
    app = failing_app(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(InvalidDataset, match="no such datasets folder"):
        build_app(app)


# ---- sources per environment ---------------------------------------------------------------------------


def with_source(arn: object) -> dict:
    environments = json.loads(json.dumps(cdk_context()["environments"]))
    environments["dev"]["datasetSources"] = {"archive": arn}
    return environments


def test_given_the_shipped_environments_then_they_configure_no_source_and_the_worker_reads_none(dev, prod) -> None:
    for synth in (dev, prod):
        assert "DATASET_SOURCES" not in env_of(synth, WORKER)
    environments = cdk_context()["environments"]
    assert environments["dev"]["datasetSources"] == environments["prod"]["datasetSources"] == {}


def test_given_a_source_secret_arn_then_the_config_holds_it_by_name() -> None:
    config = load_config("dev", with_source(SOURCE_ARN))
    assert dict(config.dataset_sources) == {"archive": SOURCE_ARN}


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://exporter:secret@archive.internal:5432/archive",
        "arn:aws:ssm:us-east-1:111122223333:parameter/archive-db",
        "arn:aws:secretsmanager:us-east-1:111122223333:archive-db",
        "exports/archive-db",
        42,
    ],
)
def test_given_a_source_that_is_not_a_secrets_manager_secret_arn_then_config_is_refused(value: object) -> None:
    with pytest.raises(ConfigError, match=r"dev\.datasetSources\.archive must be the complete ARN"):
        load_config("dev", with_source(value))


def test_given_datasource_sources_that_are_not_an_object_then_config_is_refused() -> None:
    environments = with_source(SOURCE_ARN)
    environments["dev"]["datasetSources"] = [SOURCE_ARN]
    with pytest.raises(ConfigError, match=r"dev\.datasetSources must be an object"):
        load_config("dev", environments)


@pytest.fixture(scope="module")
def sourced(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """dev with one source and a folder of its own: the repository's datasets plus one reading that source.

    Synth runs cdk-nag, so an unacknowledged finding fails here.
    """
    base = tmp_path_factory.mktemp("sourced")
    folder = base / "ops-datasets"
    shutil.copytree(REPO_DATASETS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    write_dataset(
        folder,
        "archive-events",
        select="SELECT * FROM events WHERE at < %(before)s",
        toml='source = "archive"\n\n[[parameters]]\nname = "before"\ntype = "date"\nrequired = true\n\n'
        '[schedule]\nexpression = "rate(1 hour)"\ntimezone = "Europe/Paris"\n'
        'parameters = { before = "{{ run_date }}" }\n',
    )
    outdir = base / "out"
    app = cdk.App(
        context=context_with(environments=with_source(SOURCE_ARN), datasetsPath=str(folder)), outdir=str(outdir)
    )
    app, stack = build_app(app)
    app.synth()
    return Synthesized(app, stack, Template.from_stack(stack), outdir)


def test_given_a_source_then_the_worker_has_it_as_dataset_sources_and_may_read_exactly_that_secret(
    sourced,
) -> None:
    assert json.loads(env_of(sourced, WORKER)["DATASET_SOURCES"]) == {"archive": SOURCE_ARN}
    granted = [s for s in policy_of(sourced, WORKER) if SOURCE_ARN in as_list(s["Resource"])]
    assert len(granted) == 1
    assert as_list(granted[0]["Action"]) == ["secretsmanager:GetSecretValue"]
    assert as_list(granted[0]["Resource"]) == [SOURCE_ARN]
    for fn in sourced.app_functions().values():
        if fn["Properties"]["Handler"] != WORKER:
            assert "DATASET_SOURCES" not in fn["Properties"].get("Environment", {}).get("Variables", {})
            assert SOURCE_ARN not in json.dumps(policy_of(sourced, fn["Properties"]["Handler"]))


def test_given_another_datasets_folder_then_it_lands_under_its_own_name(sourced) -> None:
    _, layer = datasets_layer(sourced)
    asset = sourced.outdir / layer["Metadata"]["aws:asset:path"]
    assert {p.name for p in asset.iterdir()} == {"ops-datasets"}
    assert "archive-events" in validate_catalogue(asset / "ops-datasets").datasets
    for handler in READERS:
        assert env_of(sourced, handler)["DATASETS_PATH"] == "/opt/ops-datasets"


# ---- operator schedules ---------------------------------------------------------------------------------


def scheduler_role_and_dlq(synth: Synthesized) -> tuple[str, str]:
    (role_id,) = [
        k
        for k, role in synth.resources("AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "scheduler.amazonaws.com"
    ]
    (dlq_id,) = [k for k in synth.resources("AWS::SQS::Queue") if k.startswith("SchedulesDeadLetters")]
    return role_id, dlq_id


def test_given_each_dataset_with_a_schedule_then_exactly_one_scheduler_schedule_fires_it(dev) -> None:
    expected = scheduled_in(REPO_DATASETS)
    assert "observations" in expected
    schedules = operator_schedules(dev)
    assert set(schedules) == set(expected)
    fire_id, _ = dev.function(FIRE)
    role_id, dlq_id = scheduler_role_and_dlq(dev)
    (group_id,) = dev.resources("AWS::Scheduler::ScheduleGroup")
    for name, props in schedules.items():
        assert json.loads(props["Target"]["Input"]) == {"dataset": name, "fire_time": SCHEDULED_TIME}
        assert props["ScheduleExpression"] == expected[name]["expression"]
        assert props["ScheduleExpressionTimezone"] == expected[name].get("timezone", "UTC")
        assert props["GroupName"] == {"Ref": group_id}
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert props["State"] == "ENABLED"
        assert props["Target"]["Arn"] == {"Fn::GetAtt": [fire_id, "Arn"]}
        assert props["Target"]["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert props["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}


def test_given_an_operator_schedule_then_it_retries_like_the_api_user_schedules(dev) -> None:
    api_made = EventBridgeScheduler(None, SchedulerTarget("g", "fn", "role", "dlq"))._definition(
        TimedSchedule(name="s", expression="cron(0 2 * * ? *)", timezone="UTC", enabled=True)
    )
    for props in operator_schedules(dev).values():
        assert props["Target"]["RetryPolicy"] == api_made["Target"]["RetryPolicy"]
        assert props["FlexibleTimeWindow"] == api_made["FlexibleTimeWindow"]


def test_given_datasets_without_a_schedule_then_no_scheduler_schedule_fires_them(dev, prod) -> None:
    unscheduled = {d.name for d in validate_catalogue(REPO_DATASETS)} - set(scheduled_in(REPO_DATASETS))
    assert {"agency", "source_file"} <= unscheduled
    for synth in (dev, prod):
        assert not unscheduled & set(operator_schedules(synth))
        assert len(synth.resources("AWS::Scheduler::Schedule")) == len(scheduled_in(REPO_DATASETS))


def test_given_a_scheduled_dataset_in_another_folder_then_its_schedule_keeps_its_time_zone(sourced) -> None:
    schedules = operator_schedules(sourced)
    assert set(schedules) == set(scheduled_in(REPO_DATASETS)) | {"archive-events"}
    assert schedules["archive-events"]["ScheduleExpression"] == "rate(1 hour)"
    assert schedules["archive-events"]["ScheduleExpressionTimezone"] == "Europe/Paris"
