import json
from pathlib import Path

import pytest

from tests.infra.conftest import cdk_context

EXPECTED_HANDLERS = {
    "api.handler.lambda_handler",
    "worker.handler.lambda_handler",
    "worker.sweeper.lambda_handler",
    "migrate.handler.lambda_handler",
    "capture.handler.lambda_handler",
    "scheduler.handler.lambda_handler",
    "internal.handler.lambda_handler",
    "assembler.handler.lambda_handler",
    "assembler.sweep.lambda_handler",
    "token_trigger.handler.lambda_handler",
}
# Reaches no database, cache, queue or AWS API, so it runs outside the VPC (tests/infra/test_identity.py).
OUTSIDE_VPC = {"token_trigger.handler.lambda_handler"}
COMMON_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "DATABASE_SECRET_ARN"}
STORE_ENV = {"DATABASE_HOST", "S3_BUCKET", "SQS_QUEUE_URL", "MAX_RETRIES", "EXPORT_EXPIRATION_DAYS"}


def test_given_every_service_function_then_it_is_arm64_python_traced_json_logged_and_in_the_vpc_if_it_reaches_anything(
    dev,
) -> None:
    functions = dev.app_functions()
    assert {f["Properties"]["Handler"] for f in functions.values()} == EXPECTED_HANDLERS
    layer_id, _ = dev.shared_layer()
    for logical_id, fn in functions.items():
        props = fn["Properties"]
        assert props["Architectures"] == ["arm64"], logical_id
        assert props["Runtime"] == "python3.13", logical_id
        assert props["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert props["LoggingConfig"]["LogFormat"] == "JSON", logical_id
        assert {"Ref": layer_id} in props["Layers"], logical_id  # the catalogue's readers add the datasets
        if props["Handler"] in OUTSIDE_VPC:
            assert "VpcConfig" not in props, logical_id
            continue
        assert len(props["VpcConfig"]["SubnetIds"]) == 2, logical_id
        assert props["VpcConfig"]["SecurityGroupIds"], logical_id


def test_given_the_configuration_then_memory_and_timeouts_follow_it(dev, prod) -> None:
    assert dev.function("worker.handler.lambda_handler")[1]["Properties"]["Timeout"] == 300
    assert prod.function("worker.handler.lambda_handler")[1]["Properties"]["Timeout"] == 900
    assert dev.function("api.handler.lambda_handler")[1]["Properties"]["MemorySize"] == 512
    assert prod.function("api.handler.lambda_handler")[1]["Properties"]["MemorySize"] == 1024
    for synth in (dev, prod):
        capture = synth.function("capture.handler.lambda_handler")[1]["Properties"]
        assert (capture["Timeout"], capture["MemorySize"]) == (900, 512)


def test_given_the_configuration_then_the_workers_tmp_holds_what_one_run_spools_and_the_rest_keep_512_mb(
    dev, prod
) -> None:
    # The worker and the assembler (sized like it) spool a ZIP's central directory and compressed CSV in /tmp
    for synth, size in ((dev, 2048), (prod, 10240)):
        for handler in ("worker.handler.lambda_handler", "assembler.handler.lambda_handler"):
            assert synth.function(handler)[1]["Properties"]["EphemeralStorage"] == {"Size": size}, handler
        # the API keeps Lambda's included 512 MB (SnapStart allows no more)
        assert synth.function("api.handler.lambda_handler")[1]["Properties"]["EphemeralStorage"] == {"Size": 512}


@pytest.mark.parametrize("size", [256, 10_241])
def test_given_an_ephemeral_storage_lambda_does_not_offer_then_loading_the_configuration_fails(size: int) -> None:
    from infra.config import ConfigError, load_config

    environments = json.loads(json.dumps(cdk_context()["environments"]))
    environments["dev"]["functions"]["worker"]["ephemeralStorageMb"] = size
    with pytest.raises(ConfigError, match=r"functions\.worker: ephemeralStorageMb must be between 512 and 10240"):
        load_config("dev", environments)


def test_given_each_function_then_it_reads_the_settings_its_model_declares(dev) -> None:
    proxy_id = next(iter(dev.resources("AWS::RDS::DBProxy")))

    def env(handler: str) -> dict:
        return dev.function(handler)[1]["Properties"]["Environment"]["Variables"]

    api, worker, sweeper, migrate, capture = (
        env("api.handler.lambda_handler"),
        env("worker.handler.lambda_handler"),
        env("worker.sweeper.lambda_handler"),
        env("migrate.handler.lambda_handler"),
        env("capture.handler.lambda_handler"),
    )
    assert set(api) == COMMON_ENV | STORE_ENV | {
        "DOWNLOAD_URL_TTL_SECONDS",
        "MAX_BODY_BYTES",
        "DATASETS_PATH",
        "CAPTURE_QUEUE_URL",
        "CAPTURE_MAX_SECONDS",
        "MAX_SCHEDULES_PER_USER",
        "MAX_REQUESTS_PER_MINUTE",
        "MAX_ACTIVE_JOBS_PER_USER",
        "IDEMPOTENCY_KEY_HOURS",
        "SCHEDULE_GROUP",
        "SCHEDULE_TARGET_ARN",
        "SCHEDULE_ROLE_ARN",
        "SCHEDULE_DLQ_ARN",
        "APPLICATIONS",
        "EVENT_BUS_NAME",
    }
    assert set(env("scheduler.handler.lambda_handler")) == COMMON_ENV | STORE_ENV | {"DATASETS_PATH"}
    assert set(worker) == COMMON_ENV | STORE_ENV | {
        "DATASETS_PATH",
        "SOURCE_BUCKET",
        "LEASE_SECONDS",
        "RETRY_BACKOFF_SECONDS",
        "UI_BASE_URL",
        "EVENT_BUS_NAME",
    }
    assert set(sweeper) == COMMON_ENV | STORE_ENV | {"DLQ_URL", "EVENT_BUS_NAME", "UI_BASE_URL"}
    assert set(migrate) == COMMON_ENV | {"MIGRATIONS_DIGEST"}
    assert set(capture) == COMMON_ENV | {
        "DATABASE_HOST",
        "S3_BUCKET",
        "EXPORT_EXPIRATION_DAYS",
        "REDIS_SVC",
        "REDIS_AUTH_SECRET_ARN",
        "MASKING_SECRET_ARN",
        "MASK_LINK_ACROSS_CAPTURES",
        "CAPTURE_MAX_SECONDS",
        "LEASE_SECONDS",
        "CAPTURE_PROCESSES",
        "CAPTURE_QUEUE_URL",
    }
    assert api["CAPTURE_MAX_SECONDS"] == capture["CAPTURE_MAX_SECONDS"] == "86400"
    assert capture["MASK_LINK_ACROSS_CAPTURES"] == "false"
    for variables in (api, worker, sweeper, capture):
        assert variables["DATABASE_HOST"] == {"Fn::GetAtt": [proxy_id, "Endpoint"]}
        assert variables["EXPORT_EXPIRATION_DAYS"] == "7"
    assert api["MAX_RETRIES"] == worker["MAX_RETRIES"] == sweeper["MAX_RETRIES"] == "3"
    assert worker["SOURCE_BUCKET"] == "ad-observatory-images-dev"


def test_given_each_function_asset_then_it_holds_only_its_own_package(dev) -> None:
    for fn in dev.app_functions().values():
        package = fn["Properties"]["Handler"].split(".")[0]
        asset_hash = fn["Metadata"]["aws:asset:path"]
        entries = {p.name for p in (dev.outdir / asset_hash).iterdir()}
        assert entries == {package}, (package, entries)
        assert not list((dev.outdir / asset_hash).rglob("__pycache__"))


def test_given_the_layer_then_it_targets_arm64_and_the_function_runtime(dev) -> None:
    layer = dev.shared_layer()[1]["Properties"]
    assert layer["CompatibleArchitectures"] == ["arm64"]
    assert layer["CompatibleRuntimes"] == ["python3.13"]


def test_given_the_layer_bundling_then_it_installs_aarch64_binary_wheels_only(tmp_path: Path) -> None:
    from infra.functions import install_command

    command = " ".join(install_command(tmp_path / "python", Path("layers/requirements.txt")))
    assert "--only-binary" in command and ":all:" in command
    assert "--python-version 3.13" in command
    assert "manylinux2014_aarch64" in command or "aarch64-manylinux2014" in command
    assert f"--target {tmp_path / 'python'}" in command


def test_given_each_function_then_its_environment_matches_its_settings_model(dev) -> None:
    from exporter.settings import (
        ApiSettings,
        AssemblerSettings,
        CaptureSettings,
        InternalSettings,
        SweeperSettings,
        WorkerSettings,
    )

    for handler, model in (
        ("api.handler.lambda_handler", ApiSettings),
        ("capture.handler.lambda_handler", CaptureSettings),
        ("worker.handler.lambda_handler", WorkerSettings),
        ("worker.sweeper.lambda_handler", SweeperSettings),
        ("internal.handler.lambda_handler", InternalSettings),
        ("assembler.handler.lambda_handler", AssemblerSettings),
        ("assembler.sweep.lambda_handler", AssemblerSettings),
    ):
        variables = dev.function(handler)[1]["Properties"]["Environment"]["Variables"]
        settings = {k for k in variables if not k.startswith("POWERTOOLS_")}
        assert settings <= set(model.model_fields), (handler, settings - set(model.model_fields))
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        assert required <= settings, (handler, required - settings)
