"""Opt-in e-mail when an export completes or fails, sent with SES and read back from the moto server.

A request with ``notify: true`` e-mails the address in the caller's token (its ``email`` claim)
once, when the export completes or fails, with a link to the export's page in the UI and never
a download URL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import Message, ses_backends

from local import mail
from local.observations import insert_observations
from local.services import LOCAL_AWS_ENV
from tests.integration.applications_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.applications_fixtures import Sources, two_sources
from tests.integration.conftest import Queue, Reply
from tests.support import context, http_event, observation

QUERY = {"method": "PLATFORM_EQUALS", "args": ["facebook"]}
UI = "https://exports.example.test"
DAY = {"start_date": "2025-10-04", "end_date": "2025-10-04"}


@dataclass(frozen=True)
class Export:
    export_id: str


class Mailbox:
    """What the session's moto server (it runs in this process) accepted through SES."""

    def to(self, address: str) -> list[Message]:
        """Every e-mail SES accepted for ``address``, oldest first."""
        sent = ses_backends[DEFAULT_ACCOUNT_ID][LOCAL_AWS_ENV["AWS_REGION"]].sent_messages
        return [m for m in sent if isinstance(m, Message) and address in m.destinations["ToAddresses"]]


@pytest.fixture
def mail_env(moto_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sender verified on the moto server's SES and the UI's address, as the local stack sets them."""
    for key, value in mail.prepare(moto_server.endpoint_url, ui_base_url=UI).items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def mailbox(service_env, mail_env, monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    """The worker and sweeper publishing on a bus of this test's own and e-mailing from a verified sender."""
    bus = f"bus-{uuid.uuid4().hex[:10]}"
    boto3.client("events").create_event_bus(Name=bus)
    monkeypatch.setenv("EVENT_BUS_NAME", bus)
    from worker import dependencies as worker_deps

    for cached in (worker_deps.settings, worker_deps.worker, worker_deps.sweeper_settings, worker_deps.sweeper):
        cached.cache_clear()
    return Mailbox()


@pytest.fixture
def post(service_env) -> Callable[..., Reply]:
    """``post(path, body, email=...)``: the API's answer to a POST whose token has that ``email`` claim."""
    from api.handler import lambda_handler

    def call(path: str, body: Any, *, user: str = "dana", email: str | None = None, verified: bool = True) -> Reply:
        event = http_event("POST", path, user=user, body=body)
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        if email is not None:
            claims.update(email=email, email_verified="true" if verified else "false")
        response = lambda_handler(event, context())
        return Reply(response["statusCode"], json.loads(response["body"]), response.get("headers") or {})

    return call


def address() -> str:
    return f"dana+{uuid.uuid4().hex[:8]}@example.org"


def sweep() -> dict:
    from worker.sweeper import lambda_handler

    return dict(lambda_handler({}, context()))


def test_a_notified_export_that_completes_emails_its_creator_once_with_a_link_to_its_page(
    api, post, db, drain, mailbox
) -> None:
    # GIVEN a user whose token carries an e-mail address, asking to be told when their export is done
    insert_observations(db, [observation(1)])
    to = address()
    reply = post("/exports", {"query": QUERY, "notify": True}, email=to)
    assert reply.status == 202
    export_id = reply.body["export_id"]
    assert to not in json.dumps(reply.body)

    # WHEN the worker completes it (announcing it), then its event is offered again: two sweeps, one more announce
    drain()
    sweep()
    sweep()
    from worker import dependencies as worker_deps

    notifier = worker_deps.sweeper().notifier
    assert notifier is not None
    notifier.announce(uuid.UUID(export_id))

    # THEN exactly one e-mail reached them, from the service's sender, saying it is ready
    (sent,) = mailbox.to(to)
    assert sent.source == mail.LOCAL_SENDER
    assert sent.subject == "Your export of observations is ready"
    # with a link to the export's page in the UI, and no download URL
    assert f"{UI}/exports/{export_id}" in sent.body
    download = api("GET", f"/exports/{export_id}", user="dana").body
    assert download["status"] == "completed" and download["url"]
    assert download["url"] not in sent.body
    assert "X-Amz-Signature" not in sent.body and "X-Amz-Signature" not in sent.subject


def test_a_notified_dataset_export_that_fails_says_it_failed_and_why(
    api, post, db, jobs_queue: Queue, sqs, service_env, mailbox
) -> None:
    # GIVEN a dataset export asked with notify, whose message ends in the dead-letter queue
    to = address()
    reply = post("/datasets/observations/exports", {"parameters": DAY, "notify": True}, email=to)
    assert reply.status == 202
    export_id = reply.body["export_id"]
    (message,) = jobs_queue.take()
    sqs.send_message(QueueUrl=service_env.dlq_url, MessageBody=message)

    # WHEN the sweeper fails it (and runs again)
    sweep()
    sweep()

    # THEN one e-mail says the dataset export failed, with the reason the API shows, and links to its page
    failed = api("GET", f"/exports/{export_id}", user="dana").body
    assert failed["status"] == "failed" and failed["message"]
    (sent,) = mailbox.to(to)
    assert sent.subject == "Your dataset export of observations failed"
    assert f"It failed: {failed['message']}" in sent.body
    assert f"{UI}/exports/{export_id}" in sent.body


def test_a_notified_applications_export_that_ends_partial_emails_that_some_sources_failed(
    api, post, sources: Sources, mail_env
) -> None:
    # GIVEN the assembler e-mailing, and an applications export asked with notify by a user whose token has an address
    from assembler import dependencies as assembler_deps

    assembler_deps.settings.cache_clear()
    assembler_deps.assembler.cache_clear()
    to = address()
    reply = post("/api/export/v1/exports", two_sources(name="hosts", notify=True), email=to)
    assert reply.status == 202, reply.body
    assert to not in json.dumps(reply.body)
    export = Export(export_id=reply.body["id"])
    inventory, advisor = api("GET", f"/api/export/v1/exports/{export.export_id}/status", user="dana").body["sources"]

    # WHEN inventory uploads, advisor reports an error, and the assembler zips what there is
    assert sources.answer(str(export.export_id), inventory, "id,name\n1,web-1\n").status == 202
    assert sources.answer(str(export.export_id), advisor).status == 202
    sources.assemble()
    sources.sweep()

    # THEN one e-mail says the named export is ready, that some sources failed, and links to its page
    (sent,) = Mailbox().to(to)
    assert sent.subject == 'Your export "hosts" is ready'
    assert "Some of its sources failed" in sent.body
    assert f"{UI}/exports/{export.export_id}" in sent.body and "X-Amz-Signature" not in sent.body


def test_an_export_asked_without_notify_sends_no_email(post, db, drain, mailbox) -> None:
    # GIVEN a token with an e-mail address, and an export asked without notify
    insert_observations(db, [observation(1)])
    to = address()
    assert post("/exports", {"query": QUERY}, email=to).status == 202

    # WHEN it completes and the sweeper runs
    drain()
    sweep()

    # THEN no e-mail went to that address
    assert mailbox.to(to) == []


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({}, "notify: your token has no email claim, so there is no address to e-mail"),
        ({"email": "dana@example.org", "verified": False}, "notify: the e-mail address in your token is not verified"),
        ({"email": "not an address"}, "notify: the email claim of your token is not an e-mail address"),
    ],
)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/exports", {"query": QUERY, "notify": True}),
        ("/datasets/observations/exports", {"parameters": DAY, "notify": True}),
    ],
)
def test_notify_without_a_usable_email_claim_is_400_and_nothing_is_queued(
    post, jobs_queue: Queue, claims: dict[str, Any], message: str, path: str, body: dict[str, Any]
) -> None:
    reply = post(path, body, **claims)
    assert (reply.status, reply.body["message"]) == (400, message)
    assert jobs_queue.take() == []


def test_notify_on_an_applications_export_without_an_email_claim_is_400_and_nothing_is_created(
    api, post, sources: Sources
) -> None:
    reply = post("/api/export/v1/exports", two_sources(name="quiet", notify=True))
    assert (reply.status, reply.body["message"]) == (
        400,
        "notify: your token has no email claim, so there is no address to e-mail",
    )
    assert api("GET", "/api/export/v1/exports", user="dana").body["data"] == []
