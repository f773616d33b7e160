"""Application sources on the local stack: the bus, a queue and rule per application, their keys, the registry.

``local/applications.json`` is the local registry (applications, resources, filters). At start
the stack creates on the moto server the service's EventBridge bus, the assembly queue (with a
DLQ), one SQS queue per application and a rule per application routing its ``Export Requested``
events to that queue, as the CDK app routes them to the application's target. Each
application's pre-shared key is generated once into ``<state>/app-keys/<name>.key`` (never in
the repository) and stored as a moto secret; the registry with those secrets' ARNs is written to
``<state>/applications.json`` for the API and the internal API (``APPLICATIONS_FILE``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from exporter.adapters.events import EVENT_SOURCE
from local.services import local_client, put_secret

REGISTRY = Path(__file__).with_name("applications.json")
BUS_NAME = "export-service"
KEYS_DIR = "app-keys"
# Above the assembler's lease, as in AWS: a running assembly's message does not reappear.
ASSEMBLY_VISIBILITY_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class LocalApplications:
    bus_name: str
    registry_file: Path
    assembly_queue_url: str
    assembly_queue_arn: str
    queues: dict[str, str]  # application → the queue its requests land in
    key_files: dict[str, Path]

    def environment(self) -> dict[str, str]:
        """What the CDK app sets on the API, the internal API and the assembler."""
        return {
            "EVENT_BUS_NAME": self.bus_name,
            "APPLICATIONS_FILE": str(self.registry_file),
            "ASSEMBLY_QUEUE_URL": self.assembly_queue_url,
            "LOCAL_ASSEMBLY_QUEUE_ARN": self.assembly_queue_arn,
        }


def load_or_create_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def _queue(sqs: object, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[attr-defined]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]  # type: ignore[attr-defined]
    return str(url), str(arn)


def prepare(endpoint_url: str, state: Path, *, prefix: str = "export-service") -> LocalApplications:
    """The bus, queues, rules, keys and registry of the local applications; idempotent."""
    registry = json.loads(REGISTRY.read_text())
    events, sqs = local_client("events", endpoint_url), local_client("sqs", endpoint_url)
    events.create_event_bus(Name=BUS_NAME)
    _dlq_url, dlq_arn = _queue(sqs, f"{prefix}-assembly-dlq", {})
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
    assembly_url, assembly_arn = _queue(
        sqs,
        f"{prefix}-assembly",
        {"VisibilityTimeout": str(ASSEMBLY_VISIBILITY_TIMEOUT_SECONDS), "RedrivePolicy": redrive},
    )
    queues: dict[str, str] = {}
    key_files: dict[str, Path] = {}
    for name, config in registry.items():
        queue_url, queue_arn = _queue(sqs, f"{prefix}-app-{name}", {"VisibilityTimeout": "30"})
        pattern = {"source": [EVENT_SOURCE], "detail-type": ["Export Requested"], "detail": {"application": [name]}}
        rule = f"{prefix}-requests-{name}"
        events.put_rule(Name=rule, EventBusName=BUS_NAME, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=rule, EventBusName=BUS_NAME, Targets=[{"Id": name, "Arn": queue_arn}])
        key_files[name] = state / KEYS_DIR / f"{name}.key"
        config["secret_arn"] = put_secret(
            endpoint_url, f"{prefix}/applications/{name}", load_or_create_key(key_files[name])
        )
        queues[name] = queue_url
    registry_file = state / "applications.json"
    registry_file.write_text(json.dumps(registry, indent=2) + "\n")
    return LocalApplications(BUS_NAME, registry_file, assembly_url, assembly_arn, queues, key_files)
