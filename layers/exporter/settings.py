"""Configuration of each function, validated once at cold start.

The keys are the environment variables the CDK app sets (see ``infra/``) and the local stack
exports; the names come from the seeds where they exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T", bound=BaseModel)


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


class ApiSettings(ExportStoreSettings):
    DOWNLOAD_URL_TTL_SECONDS: int = Field(default=900, ge=30, le=7 * 24 * 3600)
    MAX_BODY_BYTES: int = Field(default=256 * 1024, ge=1024)


class WorkerSettings(ExportStoreSettings):
    SOURCE_BUCKET: str = Field(min_length=3)
    LEASE_SECONDS: int = Field(default=120, ge=10, le=3600)
    PROGRESS_INTERVAL_SECONDS: float = Field(default=3.0, gt=0)
    PART_SIZE_BYTES: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    FETCH_BATCH_ROWS: int = Field(default=2000, ge=1, le=100_000)
    RETRY_BACKOFF_SECONDS: int = Field(default=30, ge=0, le=900)


class SweeperSettings(ExportStoreSettings):
    DLQ_URL: str | None = None


def load(model: type[T], environ: Mapping[str, str]) -> T:
    """Validate the environment into ``model``; unknown keys are ignored."""
    return model.model_validate(dict(environ))
