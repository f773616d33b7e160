"""The e-mail that says a job completed or failed, and the hook that sends it after the job's event.

It names the job (its name, or its kind and dataset), says the outcome (with the failure's
message) and links to the job's page in the UI, ``{UI_BASE_URL}/exports/{id}``, where the
person signs in to download. It never holds a download URL: a presigned URL in a mailbox
would be a bearer credential for the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from ..adapters.postgres import Database
from ..adapters.ses import Mailer
from ..jobs.events import COMPLETED, FAILED, JobEvent
from ..jobs.model import Export
from ..jobs.repository import JobsRepository
from ..registry import kind_of
from ..settings import NotifySettings
from .recipients import RecipientsRepository

logger = Logger(child=True)

# The events that e-mail the creator; an export expiring is not news they asked for.
EMAILED = (COMPLETED, FAILED)


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def detail_link(ui_base_url: str | None, export: Export) -> str | None:
    """The export's page in the UI (its router's ``/exports/{id}``); None when the UI's address is unknown."""
    if not ui_base_url:
        return None
    return f"{ui_base_url.rstrip('/')}/exports/{export.export_id}"


def title(export: Export) -> str:
    """How the e-mail names the job: its own name, or its kind and dataset."""
    name = getattr(export.parameters, "name", None)
    noun = kind_of(export.kind).noun
    if isinstance(name, str) and name:
        return f'{noun} "{name}"'
    return f"{noun} of {export.dataset}"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "now"


def _outcome(export: Export, event: JobEvent) -> tuple[str, list[str]]:
    """The subject's verb and the body's lines about the outcome."""
    if event.event == FAILED:
        return "failed", [f"It failed: {export.message or 'no reason was given'}."]
    lines = [f"It completed at {_when(export.completed_at)}."]
    if export.details.get("outcome") == "partial":
        lines.append("Some of its sources failed; the README.md and manifest.json in the file say which.")
    if export.expires_at:
        lines.append(f"The file can be downloaded until {_when(export.expires_at)}.")
    return "is ready", lines


def compose(export: Export, event: JobEvent, *, ui_base_url: str | None) -> Email:
    """The subject and plain-text body for ``event`` of ``export``."""
    what = title(export)
    verb, lines = _outcome(export, event)
    link = detail_link(ui_base_url, export)
    where = f"See it{' and download it' if event.event == COMPLETED else ''}: {link}" if link else None
    body = [f"Your {what} (id {export.export_id}).", "", *lines, ""]
    body += [where, ""] if where else ["Sign in to the export service to see it.", ""]
    body.append("You get this e-mail because you asked to be told when this export finished.")
    return Email(subject=f"Your {what} {verb}", body="\n".join(body) + "\n")


class EmailOnEnd:
    """The job events' ``on_event``: e-mails the job's recipient, if any, on Export Completed or Failed.

    It runs once per published event (the event's claim makes it once); a send that fails is
    logged and not retried.
    """

    def __init__(
        self,
        *,
        recipients: RecipientsRepository,
        jobs: JobsRepository,
        mailer: Mailer,
        sender: str,
        ui_base_url: str | None,
    ) -> None:
        self._recipients, self._jobs, self._mailer = recipients, jobs, mailer
        self._sender, self._ui_base_url = sender, ui_base_url

    def __call__(self, event: JobEvent) -> bool:
        """Whether an e-mail went out for ``event``."""
        if event.event not in EMAILED:
            return False
        address = self._recipients.of(event.export_id)
        export = self._jobs.get(event.export_id) if address else None
        if address is None or export is None:
            return False  # not asked for, or the export was deleted meanwhile
        email = compose(export, event, ui_base_url=self._ui_base_url)
        self._mailer.send(sender=self._sender, to=address, subject=email.subject, body=email.body)
        logger.info("export e-mail sent", extra={"export_id": str(event.export_id), "event": event.event})
        return True


def email_on_end(settings: NotifySettings, db: Database, mailer: Callable[[], Mailer]) -> EmailOnEnd | None:
    """The e-mail hook of a function that publishes job events; None without ``EMAIL_SENDER`` (no e-mail)."""
    if not settings.EMAIL_SENDER:
        return None
    return EmailOnEnd(
        recipients=RecipientsRepository(db),
        jobs=JobsRepository(db),
        mailer=mailer(),
        sender=settings.EMAIL_SENDER,
        ui_base_url=settings.UI_BASE_URL,
    )
