"""Per-environment settings, read from the ``environments`` block of ``cdk.json`` context.

Choose one with ``-c env=dev`` (the default) or ``-c env=prod``. Any key may be overridden for
one synth with ``-c environments=...`` replaced wholesale, or by editing ``cdk.json``. Nothing here
names an account or a region: those come from the CLI credentials (``CDK_DEFAULT_*``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_logs as logs

from exporter.applications.catalogue import NAME_PATTERN
from exporter.settings import CAPTURE_MAX_SECONDS_LIMIT, DEFAULTS


class ConfigError(ValueError):
    """The ``cdk.json`` context does not describe a usable environment."""


# Lambda's /tmp: 512 MB included, up to 10,240 MB.
EPHEMERAL_STORAGE_MB = (512, 10_240)


@dataclass(frozen=True)
class FunctionConfig:
    memory_mb: int
    timeout_seconds: int
    # /tmp: an export spools its ZIP central directory (about 124 bytes an entry) and its compressed
    # all_data.csv there, so the worker's grows with the rows one run can write (ephemeralStorageMb).
    ephemeral_storage_mb: int = EPHEMERAL_STORAGE_MB[0]

    def __post_init__(self) -> None:
        low, high = EPHEMERAL_STORAGE_MB
        if not low <= self.ephemeral_storage_mb <= high:
            raise ConfigError(f"ephemeralStorageMb must be between {low} and {high}, got {self.ephemeral_storage_mb}")

    @property
    def timeout(self) -> Duration:
        return Duration.seconds(self.timeout_seconds)


@dataclass(frozen=True)
class DatabaseConfig:
    instance_type: str = "t4g.micro"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    multi_az: bool = False
    deletion_protection: bool = False
    backup_retention_days: int = 1


@dataclass(frozen=True)
class AuthConfig:
    """Cognito user pool created by the stack, unless an OIDC issuer and audience are given."""

    issuer: str | None = None
    audience: tuple[str, ...] = ()
    mfa_required: bool = False
    domain_prefix: str | None = None  # Hosted UI: <prefix>.auth.<region>.amazoncognito.com

    @property
    def uses_cognito(self) -> bool:
        return self.issuer is None


@dataclass(frozen=True)
class WorkerConfig(FunctionConfig):
    batch_size: int = 5
    max_concurrency: int = 5
    max_receive_count: int = 5


@dataclass(frozen=True)
class CaptureFunctionConfig(FunctionConfig):
    """The capture function; its queue's batch size is always 1 (one window per invocation)."""

    max_concurrency: int = 5
    max_receive_count: int = 3


@dataclass(frozen=True)
class CacheConfig:
    """ElastiCache (Valkey) the capture subscribes to; ``multi_az`` needs two or more nodes."""

    node_type: str = "cache.t4g.micro"
    nodes: int = 1
    multi_az: bool = False
    # Security groups of the publishers (in this VPC) let in on the Valkey port; empty = none.
    publisher_security_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaskingConfig:
    """Optional capture masking knobs; unset keys keep the defaults of ``CaptureSettings``."""

    json_keys: tuple[str, ...] = ()
    link_across_captures: bool = False


# A dataset source's secret: Secrets Manager, any partition and region, the complete ARN.
SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+\Z")
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}\Z")

# The services an application's rule may target, by the ARN's service and resource type.
TARGET_KINDS = {"sqs": "queue", "lambda": "function", "events": "api-destination"}


@dataclass(frozen=True)
class SourceApplication:
    """One source application of the registry: its resources (name → allowed filters) and its rule's target.

    ``target_arn`` is an SQS queue, a Lambda function or an EventBridge API destination; ``None``
    means no rule routes the application's requests (they stay on the bus).
    """

    name: str
    resources: Mapping[str, tuple[str, ...]]
    target_arn: str | None = None

    @property
    def target_kind(self) -> str | None:
        """``queue``, ``function`` or ``api-destination`` (read from the ARN), ``None`` without a target."""
        if self.target_arn is None:
            return None
        return TARGET_KINDS[self.target_arn.split(":")[2]]

    def registry_entry(self) -> dict[str, Any]:
        """The application as ``exporter.applications.catalogue`` reads it (without its key's secret)."""
        return {"resources": {name: {"filters": list(filters)} for name, filters in self.resources.items()}}


@dataclass(frozen=True)
class EnvConfig:
    name: str
    removal: str  # "destroy" or "retain"
    source_bucket_name: str
    ui_origins: tuple[str, ...]
    alarm_email: str | None
    database: DatabaseConfig
    auth: AuthConfig
    api: FunctionConfig
    worker: WorkerConfig
    sweeper: FunctionConfig
    migrate: FunctionConfig
    capture: CaptureFunctionConfig
    cache: CacheConfig = field(default_factory=CacheConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    settings: dict[str, int] = field(default_factory=dict)
    throttle_rate: int = 50
    throttle_burst: int = 100
    log_retention_days: int = 30
    api_5xx_rate_percent: float = 5.0
    job_age_alarm_minutes: int = 15
    # Application sources: the registry, and the SES identity notifications are sent from (None: no email).
    applications: tuple[SourceApplication, ...] = ()
    email_sender: str | None = None
    # Other databases datasets read (dataset.toml's ``source``): name → Secrets Manager secret ARN.
    dataset_sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def removal_policy(self) -> RemovalPolicy:
        """Dev tears down cleanly; prod keeps data (bucket, database, logs, keys)."""
        return RemovalPolicy.DESTROY if self.destroys_data else RemovalPolicy.RETAIN

    @property
    def destroys_data(self) -> bool:
        return self.removal == "destroy"

    @property
    def log_retention(self) -> logs.RetentionDays:
        """``logRetentionDays`` as CloudWatch Logs understands it (every log group of the stack)."""
        if self.log_retention_days not in _RETENTION:
            raise ConfigError(f"logRetentionDays={self.log_retention_days}: choose one of {sorted(_RETENTION)}")
        return _RETENTION[self.log_retention_days]

    @property
    def max_retries(self) -> int:
        return self.settings["MAX_RETRIES"]

    @property
    def export_expiration_days(self) -> int:
        return self.settings["EXPORT_EXPIRATION_DAYS"]

    @property
    def capture_max_seconds(self) -> int:
        return self.settings["CAPTURE_MAX_SECONDS"]


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


# The application settings ``cdk.json`` may set, with their defaults from the settings models.
CONFIGURABLE_SETTINGS = (
    "MAX_RETRIES",
    "EXPORT_EXPIRATION_DAYS",
    "DOWNLOAD_URL_TTL_SECONDS",
    "MAX_BODY_BYTES",
    "LEASE_SECONDS",
    "RETRY_BACKOFF_SECONDS",
    "CAPTURE_MAX_SECONDS",
    "MAX_SCHEDULES_PER_USER",
    "MAX_REQUESTS_PER_MINUTE",
    "MAX_ACTIVE_JOBS_PER_USER",
    "IDEMPOTENCY_KEY_HOURS",
    "SOURCE_TIMEOUT_SECONDS",
    "CAPTURE_PROCESSES",
    "MAX_UPLOAD_BYTES",
    "UPLOAD_URL_TTL_SECONDS",
)
DEFAULT_SETTINGS: dict[str, int] = {name: int(DEFAULTS[name]) for name in CONFIGURABLE_SETTINGS}

LAMBDA_MAX_TIMEOUT_SECONDS = 900
LAMBDA_MAX_MEMORY_MB = 10_240
MB_PER_VCPU = 1769  # Lambda's CPU grows with memory: one vCPU at 1,769 MB, six at 10,240 MB
# A capture run hands over (or ends its window) this long before the capture function's timeout: the
# final part, the checkpoint (CHECKPOINT_RESERVE_SECONDS' default). A run needs as long again to record.
CAPTURE_UPLOAD_SECONDS = 60


def _function(raw: dict[str, Any], name: str, cls: type[FunctionConfig] = FunctionConfig) -> Any:
    values = raw.get(name)
    if not isinstance(values, dict):
        raise ConfigError(f"functions.{name} is missing")
    try:
        return cls(
            memory_mb=int(values["memoryMb"]),
            timeout_seconds=int(values["timeoutSeconds"]),
            **{_snake(k): int(v) for k, v in values.items() if k not in ("memoryMb", "timeoutSeconds")},
        )
    except (KeyError, TypeError, ConfigError) as exc:
        raise ConfigError(f"functions.{name}: {exc}") from exc


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def load_config(env_name: str, environments: dict[str, Any]) -> EnvConfig:
    """Build the settings of ``env_name`` from the ``environments`` context value."""
    if env_name not in environments:
        raise ConfigError(f"unknown env {env_name!r}; choose one of {sorted(environments)} with -c env=...")
    raw = environments[env_name]
    removal = raw.get("removal", "destroy")
    if removal not in ("destroy", "retain"):
        raise ConfigError(f"{env_name}.removal must be 'destroy' or 'retain', not {removal!r}")
    source_bucket = raw.get("sourceBucketName")
    if not source_bucket:
        raise ConfigError(f"{env_name}.sourceBucketName (the observation images bucket) is required")
    settings = {**DEFAULT_SETTINGS, **{k: int(v) for k, v in raw.get("settings", {}).items()}}
    unknown = set(settings) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ConfigError(f"{env_name}.settings has unknown keys {sorted(unknown)}")
    auth_raw = raw.get("auth", {})
    auth = AuthConfig(
        issuer=auth_raw.get("issuer") or None,
        audience=tuple(auth_raw.get("audience", ())),
        mfa_required=bool(auth_raw.get("mfaRequired", False)),
        domain_prefix=auth_raw.get("domainPrefix") or None,
    )
    if auth.issuer and not auth.audience:
        raise ConfigError(f"{env_name}.auth.issuer needs auth.audience")
    functions = raw.get("functions", {})
    capture = _function(functions, "capture", CaptureFunctionConfig)
    _check_capture(env_name, capture, settings["CAPTURE_MAX_SECONDS"], settings["CAPTURE_PROCESSES"])
    cache = _cache(env_name, raw.get("cache", {}))
    masking_raw = raw.get("masking", {})
    masking = MaskingConfig(
        json_keys=tuple(masking_raw.get("jsonKeys", ())),
        link_across_captures=bool(masking_raw.get("linkAcrossCaptures", False)),
    )
    db_raw = raw.get("database", {})
    alarms = raw.get("alarms", {})
    api_raw = raw.get("api", {})
    return EnvConfig(
        name=env_name,
        removal=removal,
        source_bucket_name=source_bucket,
        ui_origins=tuple(raw.get("uiOrigins", ())),
        alarm_email=alarms.get("email") or None,
        database=DatabaseConfig(
            instance_type=db_raw.get("instanceType", "t4g.micro"),
            allocated_storage_gb=int(db_raw.get("allocatedStorageGb", 20)),
            max_allocated_storage_gb=int(db_raw.get("maxAllocatedStorageGb", 100)),
            multi_az=bool(db_raw.get("multiAz", False)),
            deletion_protection=bool(db_raw.get("deletionProtection", False)),
            backup_retention_days=int(db_raw.get("backupRetentionDays", 1)),
        ),
        auth=auth,
        api=_function(functions, "api"),
        worker=_function(functions, "worker", WorkerConfig),
        sweeper=_function(functions, "sweeper"),
        migrate=_function(functions, "migrate"),
        capture=capture,
        cache=cache,
        masking=masking,
        settings=settings,
        throttle_rate=int(api_raw.get("throttleRate", 50)),
        throttle_burst=int(api_raw.get("throttleBurst", 100)),
        log_retention_days=int(raw.get("logRetentionDays", 30)),
        api_5xx_rate_percent=float(alarms.get("api5xxRatePercent", 5.0)),
        job_age_alarm_minutes=int(alarms.get("jobAgeMinutes", 15)),
        applications=_applications(env_name, raw.get("applications", {})),
        email_sender=raw.get("email", {}).get("sender") or None,
        dataset_sources=_dataset_sources(env_name, raw.get("datasetSources", {})),
    )


def _check_capture(env_name: str, capture: CaptureFunctionConfig, max_seconds: int, processes: int) -> None:
    """A run must have time to record besides the hand-over, one run fit in Lambda's limit, a window in a
    day (longer windows go on in next runs), and each capture process (``CAPTURE_PROCESSES``) needs a vCPU
    of its own: Lambda gives one per 1,769 MB."""
    required = min(processes * MB_PER_VCPU, LAMBDA_MAX_MEMORY_MB)
    if processes > 1 and capture.memory_mb < required:
        raise ConfigError(
            f"{env_name}: settings.CAPTURE_PROCESSES={processes} needs functions.capture.memoryMb of at least "
            f"{required} (one vCPU per {MB_PER_VCPU} MB), got {capture.memory_mb}"
        )
    if capture.timeout_seconds > LAMBDA_MAX_TIMEOUT_SECONDS:
        raise ConfigError(f"{env_name}.functions.capture.timeoutSeconds is above Lambda's {LAMBDA_MAX_TIMEOUT_SECONDS}")
    if capture.timeout_seconds < 2 * CAPTURE_UPLOAD_SECONDS:
        raise ConfigError(
            f"{env_name}.functions.capture.timeoutSeconds={capture.timeout_seconds} leaves less than "
            f"{CAPTURE_UPLOAD_SECONDS} s to record besides the {CAPTURE_UPLOAD_SECONDS} s a run keeps to hand over"
        )
    if not 1 <= max_seconds <= CAPTURE_MAX_SECONDS_LIMIT:
        raise ConfigError(
            f"{env_name}: settings.CAPTURE_MAX_SECONDS={max_seconds} is not between 1 and {CAPTURE_MAX_SECONDS_LIMIT}"
        )


def _cache(env_name: str, raw: dict[str, Any]) -> CacheConfig:
    cache = CacheConfig(
        node_type=raw.get("nodeType", "cache.t4g.micro"),
        nodes=int(raw.get("nodes", 1)),
        multi_az=bool(raw.get("multiAz", False)),
        publisher_security_group_ids=tuple(raw.get("publisherSecurityGroupIds", ())),
    )
    if not 1 <= cache.nodes <= 6:
        raise ConfigError(f"{env_name}.cache.nodes must be 1 (a primary) to 6 (a primary and five replicas)")
    if cache.multi_az and cache.nodes < 2:
        raise ConfigError(f"{env_name}.cache.multiAz needs cache.nodes >= 2 (a replica to fail over to)")
    return cache


def _applications(env_name: str, raw: dict[str, Any]) -> tuple[SourceApplication, ...]:
    """``applications``: ``{name: {resources: {resource: {filters: [...]}}, targetArn}}``."""
    applications = []
    for name, values in raw.items():
        where = f"{env_name}.applications.{name}"
        if not re.match(NAME_PATTERN, name):
            raise ConfigError(f"{where}: application names must match {NAME_PATTERN}")
        resources = values.get("resources")
        if not isinstance(resources, dict) or not resources:
            raise ConfigError(f"{where}.resources must name at least one resource")
        application = SourceApplication(
            name=name,
            resources={resource: tuple(spec.get("filters", ())) for resource, spec in resources.items()},
            target_arn=values.get("targetArn") or None,
        )
        if application.target_arn is not None and not _is_target(application.target_arn):
            raise ConfigError(
                f"{where}.targetArn must be the ARN of an SQS queue, a Lambda function or an API destination"
            )
        applications.append(application)
    return tuple(applications)


def _is_target(arn: str) -> bool:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] not in TARGET_KINDS:
        return False
    if parts[2] == "lambda":
        return parts[5] == "function" and len(parts) >= 7
    if parts[2] == "events":
        return parts[5].startswith("api-destination/")
    return bool(parts[5])


def _dataset_sources(env_name: str, raw: Any) -> dict[str, str]:
    """``datasetSources``: ``{name: complete ARN of a Secrets Manager secret (RDS shape)}``."""
    where = f"{env_name}.datasetSources"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object {{name: Secrets Manager secret ARN}}")
    for name, arn in raw.items():
        if not SOURCE_NAME.match(name):
            raise ConfigError(f"{where}: source names must match {SOURCE_NAME.pattern}, not {name!r}")
        if not isinstance(arn, str) or not SECRET_ARN.match(arn):
            raise ConfigError(
                f"{where}.{name} must be the complete ARN of a Secrets Manager secret "
                f"(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>), not {arn!r}"
            )
    return dict(raw)
