"""Configuration of each function, validated once at cold start.

The keys are the environment variables the CDK app sets (see ``infra/``) and the local stack
exports; the names come from the seeds where they exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .captures.masking import DEFAULT_JSON_KEYS

T = TypeVar("T", bound=BaseModel)

# The identity provider's group (the ``cognito:groups`` claim) whose members see and manage every export.
ADMIN_GROUP = "admin"


class DatabaseSettings(BaseModel):
    """Either a full ``DATABASE_URL`` or a Secrets Manager secret of RDS shape."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    DATABASE_URL: str | None = None
    DATABASE_SECRET_ARN: str | None = None
    # RDS Proxy endpoint: overrides the host named in the secret.
    DATABASE_HOST: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DatabaseSettings:
        if not (self.DATABASE_URL or self.DATABASE_SECRET_ARN):
            raise ValueError("set DATABASE_URL or DATABASE_SECRET_ARN")
        return self


class ExportStoreSettings(DatabaseSettings):
    S3_BUCKET: str = Field(min_length=3)
    SQS_QUEUE_URL: str = Field(min_length=1)
    MAX_RETRIES: int = Field(default=3, ge=0, le=20)
    EXPORT_EXPIRATION_DAYS: int = Field(default=7, ge=1, le=3650)
    # The dataset folders (datasets/<name>/) shipped with the functions, relative to the working directory
    # (the function's root in Lambda, the repository locally); a missing folder means no datasets.
    DATASETS_PATH: str = Field(default="datasets", min_length=1)
    # The service's EventBridge bus: every job's Export Completed / Failed / Expired is published on it.
    EVENT_BUS_NAME: str | None = None


# A window longer than one Lambda run goes on in next runs (each hand-over recorded as a gap): a day at most,
# the bucket's limit for an open multipart upload being two.
DEFAULT_CAPTURE_MAX_SECONDS = 24 * 3600
CAPTURE_MAX_SECONDS_LIMIT = 24 * 3600


class ApiSettings(ExportStoreSettings):
    DOWNLOAD_URL_TTL_SECONDS: int = Field(default=900, ge=30, le=7 * 24 * 3600)
    # How long the download URLs of a data-exhaust request's answer work (Sunbird's: one day).
    DATASET_REQUEST_URL_TTL_SECONDS: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    MAX_BODY_BYTES: int = Field(default=256 * 1024, ge=1024)
    # The capture queue; without it POST /captures answers 503.
    CAPTURE_QUEUE_URL: str | None = None
    CAPTURE_MAX_SECONDS: int = Field(default=DEFAULT_CAPTURE_MAX_SECONDS, ge=1, le=CAPTURE_MAX_SECONDS_LIMIT)
    # Per-user limits, answered 429 with Retry-After: authenticated requests per minute, jobs pending or
    # running at once; and how long an Idempotency-Key gives back the job it made.
    MAX_REQUESTS_PER_MINUTE: int = Field(default=1200, ge=1, le=1_000_000)
    MAX_ACTIVE_JOBS_PER_USER: int = Field(default=20, ge=1, le=100_000)
    IDEMPOTENCY_KEY_HOURS: int = Field(default=24, ge=1, le=24 * 30)
    # Schedules: the most one user may hold, and where their EventBridge Scheduler schedules live and
    # fire. Without SCHEDULE_GROUP the schedules routes answer 503.
    MAX_SCHEDULES_PER_USER: int = Field(default=20, ge=0, le=10_000)
    SCHEDULE_GROUP: str | None = None
    SCHEDULE_TARGET_ARN: str | None = None  # the fire function
    SCHEDULE_ROLE_ARN: str | None = None  # the role Scheduler assumes to invoke it
    SCHEDULE_DLQ_ARN: str | None = None  # fires Scheduler could not deliver
    # Application sources (seed 001): the registry of source applications as JSON (or a file holding it),
    # and the EventBridge bus their requests go on. Without EVENT_BUS_NAME those routes answer 503.
    APPLICATIONS: str | None = None
    APPLICATIONS_FILE: str | None = None
    EVENT_BUS_NAME: str | None = None

    @model_validator(mode="after")
    def _schedules_complete(self) -> ApiSettings:
        names = ("SCHEDULE_TARGET_ARN", "SCHEDULE_ROLE_ARN", "SCHEDULE_DLQ_ARN")
        missing = [name for name in names if not getattr(self, name)]
        if self.SCHEDULE_GROUP and missing:
            raise ValueError(f"SCHEDULE_GROUP is set, so set {', '.join(missing)} too")
        return self


class FireSettings(ExportStoreSettings):
    """The schedule fire function: reads the schedule, requests its export on the job queue."""


class NotifySettings(BaseModel):
    """E-mail on completion or failure: the SES identity sent from (none: no e-mail), the UI's address for links.

    Every function that publishes jobs' state changes (worker, sweeper, assembler) sends it, so it
    needs EVENT_BUS_NAME too. Without UI_BASE_URL the e-mail has no link to the export's page.
    """

    EMAIL_SENDER: str | None = Field(default=None, min_length=3)
    UI_BASE_URL: str | None = Field(default=None, pattern=r"^https?://")


class WorkerSettings(ExportStoreSettings, NotifySettings):
    SOURCE_BUCKET: str = Field(min_length=3)
    LEASE_SECONDS: int = Field(default=120, ge=10, le=3600)
    PROGRESS_INTERVAL_SECONDS: float = Field(default=3.0, gt=0)
    PART_SIZE_BYTES: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    FETCH_BATCH_ROWS: int = Field(default=2000, ge=1, le=100_000)
    RETRY_BACKOFF_SECONDS: int = Field(default=30, ge=0, le=900)
    # Other databases a dataset may read (dataset.toml's ``source``): JSON {name: Secrets Manager secret ARN
    # (RDS shape) or postgresql:// URL}. A dataset without a source reads the service's own database.
    DATASET_SOURCES: str | None = None
    DATASET_GZIP_LEVEL: int = Field(default=6, ge=1, le=9)
    # A query export longer than one run checkpoints at a boundary every CHECKPOINT_EVERY_ROWS rows, once
    # less than CHECKPOINT_RESERVE_SECONDS (plus one more stretch of rows) is left of the invocation, or
    # of RUN_SECONDS when that is set; the next run goes on from there.
    CHECKPOINT_EVERY_ROWS: int = Field(default=10_000, ge=100, le=10_000_000)
    CHECKPOINT_RESERVE_SECONDS: float = Field(default=60.0, ge=0, le=600)
    RUN_SECONDS: float | None = Field(default=None, gt=0, le=900)


class SweeperSettings(ExportStoreSettings, NotifySettings):
    DLQ_URL: str | None = None


# A part uploaded in the request body: API Gateway and Lambda take about 6 MB, base64 inflates by a third.
MAX_UPLOAD_BYTES_LIMIT = 4 * 1024 * 1024


class InternalSettings(ExportStoreSettings):
    """The internal API (seed 001): source applications upload an export's parts with their own keys."""

    APPLICATIONS: str | None = None
    APPLICATIONS_FILE: str | None = None
    ASSEMBLY_QUEUE_URL: str = Field(min_length=1)
    # Larger parts go through a presigned S3 upload the same route hands out.
    MAX_UPLOAD_BYTES: int = Field(default=MAX_UPLOAD_BYTES_LIMIT, ge=1024, le=MAX_UPLOAD_BYTES_LIMIT)
    UPLOAD_URL_TTL_SECONDS: int = Field(default=900, ge=60, le=7 * 24 * 3600)


class AssemblerSettings(ExportStoreSettings, NotifySettings):
    """The assembler: zips an applications export's parts; its sweep times out sources that never answer."""

    ASSEMBLY_QUEUE_URL: str = Field(min_length=1)
    SOURCE_TIMEOUT_SECONDS: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    LEASE_SECONDS: int = Field(default=120, ge=10, le=3600)
    PROGRESS_INTERVAL_SECONDS: float = Field(default=3.0, gt=0)
    PART_SIZE_BYTES: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    RETRY_BACKOFF_SECONDS: int = Field(default=30, ge=0, le=900)


class CaptureSettings(DatabaseSettings):
    """The capture Lambda: Redis in, the exports bucket out, the masking key from Secrets Manager."""

    S3_BUCKET: str = Field(min_length=3)
    EXPORT_EXPIRATION_DAYS: int = Field(default=7, ge=1, le=3650)
    # Seed 000's name: "host:port", redis://host:port/0, or rediss://host:port (TLS, ElastiCache).
    REDIS_SVC: str = Field(min_length=1)
    # ElastiCache AUTH token: a secret whose string is the token, or JSON {"password", "username"?}.
    REDIS_AUTH_SECRET_ARN: str | None = None
    # The HMAC key: a secret holding a string of at least 32 characters, or JSON {"key": ...}.
    MASKING_SECRET_ARN: str = Field(min_length=1)
    MASK_JSON_KEYS: str = ",".join(DEFAULT_JSON_KEYS)
    MASK_LINK_ACROSS_CAPTURES: bool = False
    CAPTURE_MAX_SECONDS: int = Field(default=DEFAULT_CAPTURE_MAX_SECONDS, ge=1, le=CAPTURE_MAX_SECONDS_LIMIT)
    # Processes a capture uses: 1 masks in the run's own process; N > 1 reads in it and masks in
    # N - 1 child processes (Lambda gives one vCPU per 1,769 MB of memory, six at most).
    CAPTURE_PROCESSES: int = Field(default=1, ge=1, le=6)
    LEASE_SECONDS: int = Field(default=120, ge=10, le=3600)
    PROGRESS_INTERVAL_SECONDS: float = Field(default=3.0, gt=0)
    PART_SIZE_BYTES: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    # A window longer than a run: the run hands over once less than CHECKPOINT_RESERVE_SECONDS is left of
    # the invocation (or of RUN_SECONDS when set), and the next run, started by a message on this queue,
    # goes on. Without the queue a window must fit in one run.
    CAPTURE_QUEUE_URL: str | None = None
    CHECKPOINT_RESERVE_SECONDS: float = Field(default=60.0, ge=0, le=600)
    RUN_SECONDS: float | None = Field(default=None, gt=0, le=900)

    @property
    def mask_json_keys(self) -> list[str]:
        return [k.strip() for k in self.MASK_JSON_KEYS.split(",") if k.strip()]

    @property
    def redis_url(self) -> str:
        return self.REDIS_SVC if "://" in self.REDIS_SVC else f"redis://{self.REDIS_SVC}"


Default = int | float | str | bool


def _field_defaults(*models: type[BaseModel]) -> dict[str, Default]:
    """Every setting that has a default, by name; one name must have one default in every model."""
    defaults: dict[str, Default] = {}
    for model in models:
        for name, field in model.model_fields.items():
            if field.is_required() or field.default is None:
                continue
            if defaults.setdefault(name, field.default) != field.default:
                raise TypeError(f"{name} defaults to {defaults[name]!r} in one model and {field.default!r} in another")
    return defaults


# The default of each setting, read from the models above: the CDK app, the local stack and the
# tests take a default from here rather than repeating it.
DEFAULTS: Mapping[str, Default] = MappingProxyType(
    _field_defaults(ApiSettings, WorkerSettings, SweeperSettings, CaptureSettings, InternalSettings, AssemblerSettings)
)


def load(model: type[T], environ: Mapping[str, str]) -> T:
    """Validate the environment into ``model``; unknown keys are ignored."""
    return model.model_validate(dict(environ))
