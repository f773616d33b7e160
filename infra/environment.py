"""The one place that sets the functions' environment (read by layers/exporter/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass

from infra.cache import Cache
from infra.config import EnvConfig
from infra.database import Database
from infra.queue import JobQueue
from infra.storage import ExportStore

SERVICE_NAME = "export-service"
METRICS_NAMESPACE = "ExportService"


@dataclass(frozen=True)
class ServiceEnvironment:
    config: EnvConfig
    database: Database
    store: ExportStore
    jobs: JobQueue
    cache: Cache

    def _common(self) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "DATABASE_SECRET_ARN": self.database.secret.secret_arn,
        }

    def _database_and_bucket(self) -> dict[str, str]:
        return {
            **self._common(),
            "DATABASE_HOST": self.database.proxy.endpoint,
            "S3_BUCKET": self.store.bucket.bucket_name,
            "EXPORT_EXPIRATION_DAYS": str(self.config.export_expiration_days),
        }

    def _export_store(self) -> dict[str, str]:
        """``ExportStoreSettings``: through the RDS Proxy, the bucket, the queue, the seeds' knobs."""
        return {
            **self._database_and_bucket(),
            "SQS_QUEUE_URL": self.jobs.queue.queue_url,
            "MAX_RETRIES": str(self.config.max_retries),
        }

    def _settings(self, *names: str) -> dict[str, str]:
        return {name: str(self.config.settings[name]) for name in names}

    def api(self) -> dict[str, str]:
        return {
            **self._export_store(),
            **self._settings("DOWNLOAD_URL_TTL_SECONDS", "MAX_BODY_BYTES", "CAPTURE_MAX_SECONDS"),
            **self._settings("MAX_REQUESTS_PER_MINUTE", "MAX_ACTIVE_JOBS_PER_USER", "IDEMPOTENCY_KEY_HOURS"),
            "CAPTURE_QUEUE_URL": self.jobs.capture_queue.queue_url,
        }

    def worker(self) -> dict[str, str]:
        return {
            **self._export_store(),
            **self._settings("LEASE_SECONDS", "RETRY_BACKOFF_SECONDS"),
            "SOURCE_BUCKET": self.store.source_bucket.bucket_name,
        }

    def fire(self) -> dict[str, str]:
        """``FireSettings``: the schedule fire function writes job rows and their first message."""
        return self._export_store()

    def sweeper(self) -> dict[str, str]:
        return {**self._export_store(), "DLQ_URL": self.jobs.dead_letter_queue.queue_url}

    def capture(self, *, masking_secret_arn: str) -> dict[str, str]:
        """``CaptureSettings``: Valkey over TLS with AUTH from a secret, the masking key from a secret."""
        masking = self.config.masking
        environment = {
            **self._database_and_bucket(),
            **self._settings("CAPTURE_MAX_SECONDS", "LEASE_SECONDS", "CAPTURE_PROCESSES"),
            # A window longer than one run goes on in a next run, started by a message on this queue.
            "CAPTURE_QUEUE_URL": self.jobs.capture_queue.queue_url,
            "REDIS_SVC": self.cache.url,
            "REDIS_AUTH_SECRET_ARN": self.cache.auth_secret.secret_arn,
            "MASKING_SECRET_ARN": masking_secret_arn,
            "MASK_LINK_ACROSS_CAPTURES": str(masking.link_across_captures).lower(),
        }
        if masking.json_keys:  # otherwise the model's default list
            environment["MASK_JSON_KEYS"] = ",".join(masking.json_keys)
        return environment

    def internal(self, *, applications: str, assembly_queue_url: str) -> dict[str, str]:
        """``InternalSettings``: the registry with each application's key secret, the assembly queue."""
        return {
            **self._export_store(),
            **self._settings("MAX_UPLOAD_BYTES", "UPLOAD_URL_TTL_SECONDS"),
            "APPLICATIONS": applications,
            "ASSEMBLY_QUEUE_URL": assembly_queue_url,
        }

    def assembler(self, *, assembly_queue_url: str) -> dict[str, str]:
        """``AssemblerSettings``: the assembler and its sources sweep."""
        return {
            **self._export_store(),
            **self._settings("LEASE_SECONDS", "RETRY_BACKOFF_SECONDS", "SOURCE_TIMEOUT_SECONDS"),
            "ASSEMBLY_QUEUE_URL": assembly_queue_url,
        }

    def migrate(self, digest: str) -> dict[str, str]:
        """Direct to the instance (no DATABASE_HOST); ``MIGRATIONS_DIGEST`` re-runs the trigger."""
        return {**self._common(), "MIGRATIONS_DIGEST": digest}
