"""The local stack: real services, the demo data, the emulated AWS around the real handlers.

``python -m local`` starts it and keeps it running until SIGINT or SIGTERM, then stops every
server it started and exits 0. State (PostgreSQL data, the token signing key, ``stack.json``)
lives in ``.local/`` or ``$LOCAL_STATE_DIR``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import warnings
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3

from exporter.adapters.postgres import apply_migrations, connect_url
from exporter.settings import DEFAULTS
from local import applications, demo_data, demo_datasets, demo_telemetry, gateway, mail, schedule_source
from local.identity import AUDIENCE, KEY_FILE, LocalIssuer, load_or_create_key
from local.services import (
    AwsResources,
    create_aws_resources,
    put_secret,
    start_moto,
    start_postgres,
    start_redis,
    use_local_aws,
)
from local.supervisor import LambdaProcess, Supervisor

log = logging.getLogger("local")

API_FUNCTION = "export-service-api"
WORKER_STOP_SECONDS = 60
CAPTURE_STOP_SECONDS = 20  # a capture container ends a running window after a few seconds (see capture_source)
MASKING_KEY_FILE = "masking-key"
DEFAULT_CAPTURE_CONCURRENCY = 2
# The worker's lease locally: a job whose worker died is requeued by the sweeper within about
# this long plus the sweeper's interval (AWS keeps the 120 s default).
WORKER_LEASE_SECONDS = 30
# Above the capture function's 15-minute timeout, as in AWS: a running window is never redelivered.
CAPTURE_VISIBILITY_TIMEOUT_SECONDS = 16 * 60


@dataclass(frozen=True)
class StackInfo:
    api_url: str
    token_url: str
    jwks_url: str
    issuer: str
    audience: str
    signing_key_file: str
    database_url: str
    redis_url: str
    aws_endpoint_url: str
    aws_region: str
    exports_bucket: str
    source_bucket: str
    queue_url: str
    dlq_url: str
    capture_queue_url: str
    pid: int
    event_bus_name: str = ""
    assembly_queue_url: str = ""
    application_queues: dict[str, str] | None = None  # application → the queue its requests land in
    application_key_files: dict[str, str] | None = None


def state_dir() -> Path:
    path = Path(os.environ.get("LOCAL_STATE_DIR", ".local")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_from_environment(*names: str) -> dict[str, str]:
    """The named settings as this shell sets them, else their defaults (``exporter.settings.DEFAULTS``)."""
    return {name: os.environ.get(name, str(DEFAULTS[name])) for name in names}


def handler_environment(database_url: str, redis_url: str, aws: AwsResources) -> dict[str, str]:
    """What the CDK app sets on the functions, pointed at the local services."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_SVC": redis_url,
        "S3_BUCKET": aws.exports_bucket,
        "SOURCE_BUCKET": aws.source_bucket,
        "SQS_QUEUE_URL": aws.queue_url,
        "DLQ_URL": aws.dlq_url,
        "LOCAL_QUEUE_ARN": aws.queue_arn,
        **settings_from_environment("MAX_RETRIES", "EXPORT_EXPIRATION_DAYS", "CAPTURE_MAX_SECONDS"),
        "POWERTOOLS_SERVICE_NAME": os.environ.get("POWERTOOLS_SERVICE_NAME", "export-service"),
        "POWERTOOLS_METRICS_NAMESPACE": os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ExportServiceLocal"),
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
        # The API's side of captures: without the queue POST /captures answers 503.
        "CAPTURE_QUEUE_URL": aws.capture_queue_url,
    }


def capture_environment(aws: AwsResources, masking_secret_arn: str) -> dict[str, str]:
    """What only the capture function gets on top of the handlers' environment (REDIS_SVC is shared)."""
    return {
        "MASKING_SECRET_ARN": masking_secret_arn,  # the persisted key, as a secret on the moto server
        "LOCAL_CAPTURE_QUEUE_URL": aws.capture_queue_url,
        "LOCAL_CAPTURE_QUEUE_ARN": aws.capture_queue_arn,
    }


def load_or_create_masking_key(state: Path) -> str:
    """The HMAC key of the capture pseudonyms, generated once and kept like the JWT signing key."""
    path = state / MASKING_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def seed_demo_data(database_url: str, aws: AwsResources) -> None:
    started = time.monotonic()
    docs = demo_data.build_observations()
    conn = connect_url(database_url)
    try:
        inserted = demo_data.seed_observations_if_empty(conn, docs)
        ckb_rows = demo_datasets.seed_ckb_tables(conn)  # the tables the demo datasets (datasets/) read
        ckb_rows.update(demo_telemetry.seed_telemetry(conn))  # the uci-* datasets' conversation telemetry
    finally:
        conn.close()
    uploaded = demo_data.upload_images(boto3.client("s3"), aws.source_bucket, docs)
    log.info(
        "demo data: %d observations inserted (0 = kept from before), %d images uploaded, ckb rows %s, %.1fs",
        inserted,
        uploaded,
        ckb_rows or "kept",
        time.monotonic() - started,
    )


def resend_pending_jobs(database_url: str, queue_url: str) -> None:
    """The sweeper, once, at start: moto starts empty, so the message of every pending job is sent again.

    PostgreSQL keeps its data between runs of the stack but the moto server does not: without
    this, a job left pending by the previous run would wait for the stale-pending sweep.
    """
    from exporter.adapters.postgres import Database
    from exporter.adapters.sqs import JobQueue
    from exporter.jobs.repository import JobsRepository
    from exporter.jobs.sweeper import sweep

    database = Database(lambda: connect_url(database_url))
    try:
        report = sweep(JobsRepository(database), JobQueue(boto3.client("sqs"), queue_url), stale_pending_seconds=0)
    finally:
        database.close()
    if report.resent or report.failed or report.requeued:
        log.info(
            "jobs left by the previous run: %d resent, %d requeued, %d failed (captures are not resent)",
            len(report.resent),
            len(report.requeued),
            len(report.failed),
        )


def worker_process(state: Path) -> LambdaProcess:
    """The SQS event source and the sweeper schedule, in a process of their own (see event_source)."""
    env = {**os.environ, "LEASE_SECONDS": os.environ.get("LEASE_SECONDS", str(WORKER_LEASE_SECONDS))}
    return LambdaProcess("worker", [sys.executable, "-m", "local.event_source"], env, state / "lambda" / "worker.json")


def capture_processes(state: Path, count: int, env: dict[str, str]) -> list[LambdaProcess]:
    """``count`` warm containers of the capture function, each polling the capture queue (batch 1)."""
    return [
        LambdaProcess(
            f"capture-{n}",
            [sys.executable, "-m", "local.capture_source", str(n)],
            {**os.environ, **env},
            state / "lambda" / f"capture-{n}.json",
        )
        for n in range(1, count + 1)
    ]


def assembler_process(state: Path) -> LambdaProcess:
    """The assembler's SQS event source and its sources sweep, in a process of their own."""
    env = {**os.environ, "LEASE_SECONDS": os.environ.get("LEASE_SECONDS", str(WORKER_LEASE_SECONDS))}
    command = [sys.executable, "-m", "local.assembler_source"]
    return LambdaProcess("assembler", command, env, state / "lambda" / "assembler.json")


def demo_application_processes(state: Path, apps: applications.LocalApplications, api_url: str) -> list[LambdaProcess]:
    """One process per demo application, polling its queue and answering through the internal API."""
    return [
        LambdaProcess(
            f"app-{name}",
            [sys.executable, "-m", "local.demo_applications", name],
            {
                **os.environ,
                "LOCAL_API_URL": api_url,
                "LOCAL_APP_QUEUE_URL": queue_url,
                "LOCAL_APP_KEY_FILE": str(apps.key_files[name]),
            },
            state / "lambda" / f"app-{name}.json",
        )
        for name, queue_url in apps.queues.items()
    ]


def load_internal_handler() -> Any:
    from internal.handler import lambda_handler  # after the environment is set

    return lambda_handler


def stop_worker_process(process: subprocess.Popen[bytes], timeout: float = WORKER_STOP_SECONDS) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("process %d busy after %.0fs; killed (a message it held comes back later)", process.pid, timeout)
        process.kill()
        process.wait()


def stop_processes(processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM to all of them at once, then wait for each (so shutdown takes one timeout, not one each)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        stop_worker_process(process, timeout)


def start_demo_events(redis_url: str) -> subprocess.Popen[bytes] | None:
    """``DEMO_EVENTS=1``: NEF demo traffic on the local Redis in the background (``local.demo_events``)."""
    if os.environ.get("DEMO_EVENTS", "").lower() not in ("1", "true", "yes"):
        return None
    command = [sys.executable, "-m", "local.demo_events", "--redis-url", redis_url]
    return subprocess.Popen(command, env=dict(os.environ))  # noqa: S603 - the stack's own Redis URL


def load_api_handler() -> Any:
    from api.handler import lambda_handler  # after the environment is set, as Lambda's cold start does

    return lambda_handler


def write_stack_json(path: Path, info: StackInfo) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(info), indent=2) + "\n")
    temporary.replace(path)  # readers never see half a file


def configure_logging() -> None:
    """One readable line per event from the emulators; the handlers' Powertools JSON logs go to stdout."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    for noisy in ("pgserver", "werkzeug", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(stop: threading.Event) -> None:
    """Start everything, wait for ``stop``, stop everything (in reverse order)."""
    started = time.monotonic()
    state = state_dir()
    (state / "stack.json").unlink(missing_ok=True)
    with ExitStack() as running:
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            postgres = start_postgres(state / "pgdata", keep=True)
            running.callback(postgres.stop)
            database_url = postgres.url
        redis_url = os.environ.get("REDIS_SVC")
        if not redis_url:
            redis = start_redis()
            running.callback(redis.stop)
            redis_url = redis.url
        moto = start_moto()
        running.callback(moto.stop)
        use_local_aws(moto.endpoint_url)
        aws = create_aws_resources(moto.endpoint_url, capture_visibility_timeout=CAPTURE_VISIBILITY_TIMEOUT_SECONDS)

        conn = connect_url(database_url)
        try:
            apply_migrations(conn)
        finally:
            conn.close()
        seed_demo_data(database_url, aws)
        os.environ.update(handler_environment(database_url, redis_url, aws))
        apps = applications.prepare(moto.endpoint_url, state)
        os.environ.update(apps.environment())
        os.environ.update(schedule_source.prepare(moto.endpoint_url, aws.dlq_arn))
        scheduler = schedule_source.start_process()  # moto never fires schedules: this process does
        running.callback(stop_worker_process, scheduler, schedule_source.STOP_SECONDS)

        server = gateway.bind(int(os.environ.get("API_PORT", "8080")))
        running.callback(server.server_close)
        api_url = gateway.base_url(server)
        issuer = LocalIssuer(key=load_or_create_key(state), issuer=f"{api_url}/local")
        api_gateway = gateway.ApiGateway(issuer, load_api_handler, API_FUNCTION, internal=load_internal_handler)
        gateway.start(server, api_gateway)
        running.callback(server.shutdown)
        os.environ.update(mail.prepare(moto.endpoint_url, ui_base_url=api_url))  # the UI is served at the API's URL

        resend_pending_jobs(database_url, aws.queue_url)
        supervisor = Supervisor()
        worker = supervisor.start(worker_process(state))
        running.callback(lambda: stop_worker_process(worker.process) if worker.process else None)
        concurrency = int(os.environ.get("CAPTURE_CONCURRENCY", DEFAULT_CAPTURE_CONCURRENCY))
        masking_secret = put_secret(moto.endpoint_url, "export-service/masking-key", load_or_create_masking_key(state))
        captures = [
            supervisor.start(process)
            for process in capture_processes(state, concurrency, capture_environment(aws, masking_secret))
        ]
        running.callback(lambda: stop_processes([c.process for c in captures if c.process], CAPTURE_STOP_SECONDS))
        side = [supervisor.start(assembler_process(state))]
        side += [supervisor.start(p) for p in demo_application_processes(state, apps, api_url)]
        running.callback(lambda: stop_processes([p.process for p in side if p.process], CAPTURE_STOP_SECONDS))

        info = StackInfo(
            api_url=api_url,
            token_url=f"{api_url}/local/token",
            jwks_url=f"{api_url}/local/.well-known/jwks.json",
            issuer=issuer.issuer,
            audience=AUDIENCE,
            signing_key_file=str(state / KEY_FILE),
            database_url=database_url,
            redis_url=redis_url,
            aws_endpoint_url=moto.endpoint_url,
            aws_region=os.environ["AWS_REGION"],
            exports_bucket=aws.exports_bucket,
            source_bucket=aws.source_bucket,
            queue_url=aws.queue_url,
            dlq_url=aws.dlq_url,
            capture_queue_url=aws.capture_queue_url,
            pid=os.getpid(),
            event_bus_name=apps.bus_name,
            assembly_queue_url=apps.assembly_queue_url,
            application_queues=apps.queues,
            application_key_files={name: str(path) for name, path in apps.key_files.items()},
        )
        write_stack_json(state / "stack.json", info)
        running.callback((state / "stack.json").unlink, missing_ok=True)
        demo_events = start_demo_events(redis_url)
        if demo_events is not None:
            running.callback(stop_worker_process, demo_events, 5)
        log.info("ready in %.1fs: API %s, endpoints in %s", time.monotonic() - started, api_url, state / "stack.json")
        log.info('token: curl -s -XPOST %s -d \'{"user_id": "alice"}\'', info.token_url)
        while not stop.wait(0.5):
            supervisor.check()  # a Lambda process that died is started again
        log.info("stopping")
    log.info("stopped")


def main() -> int:
    configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run(stop)
    return 0
