"""The job-event publisher of a function that ends jobs: the bus, and the e-mail to creators who asked."""

from __future__ import annotations

from ..adapters import aws
from ..adapters.events import EventBridgeBus
from ..adapters.postgres import Database
from ..adapters.ses import SesMailer
from ..jobs.events import JobEventsRepository, JobNotifier
from ..settings import AssemblerSettings, SweeperSettings, WorkerSettings
from .email import email_on_end


def job_notifier(config: WorkerSettings | SweeperSettings | AssemblerSettings, db: Database) -> JobNotifier | None:
    """Publishes jobs' state changes on the bus, e-mailing creators who asked; None without EVENT_BUS_NAME.

    ``db`` is the function's own database (the one its jobs repository uses): no connection of its own.
    """
    if not config.EVENT_BUS_NAME:
        return None
    return JobNotifier(
        JobEventsRepository(db),
        EventBridgeBus(aws.client("events"), config.EVENT_BUS_NAME),
        on_event=email_on_end(config, db, lambda: SesMailer(aws.client("sesv2"))),
    )
