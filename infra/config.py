"""Per-environment settings, read from the ``environments`` block of ``cdk.json`` context.

Choose one with ``-c env=dev`` (the default) or ``-c env=prod``. Any key may be overridden for
one synth with ``-c environments=...`` replaced wholesale, or by editing ``cdk.json``. Nothing here
names an account or a region: those come from the CLI credentials (``CDK_DEFAULT_*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_logs as logs


class ConfigError(ValueError):
    """The ``cdk.json`` context does not describe a usable environment."""


@dataclass(frozen=True)
class FunctionConfig:
    memory_mb: int
    timeout_seconds: int

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
    settings: dict[str, int] = field(default_factory=dict)
    throttle_rate: int = 50
    throttle_burst: int = 100
    log_retention_days: int = 30
    api_5xx_rate_percent: float = 5.0
    job_age_alarm_minutes: int = 15

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


# Application settings with the seeds' names and their defaults (layers/exporter/settings.py).
DEFAULT_SETTINGS: dict[str, int] = {
    "MAX_RETRIES": 3,
    "EXPORT_EXPIRATION_DAYS": 7,
    "DOWNLOAD_URL_TTL_SECONDS": 900,
    "MAX_BODY_BYTES": 256 * 1024,
    "LEASE_SECONDS": 120,
    "RETRY_BACKOFF_SECONDS": 30,
}


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
    except (KeyError, TypeError) as exc:
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
    db_raw = raw.get("database", {})
    functions = raw.get("functions", {})
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
        settings=settings,
        throttle_rate=int(api_raw.get("throttleRate", 50)),
        throttle_burst=int(api_raw.get("throttleBurst", 100)),
        log_retention_days=int(raw.get("logRetentionDays", 30)),
        api_5xx_rate_percent=float(alarms.get("api5xxRatePercent", 5.0)),
        job_age_alarm_minutes=int(alarms.get("jobAgeMinutes", 15)),
    )
