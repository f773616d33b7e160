"""Who is e-mailed when a job ends: the caller's address, recorded with the job when they ask for it.

The address comes from the caller's token at request time (its ``email`` claim) and is written
with the job's row (``exports.notify_email``, by ``JobsRepository.create``); only the e-mail
reads it back. It never goes into an event, a queue message, an API answer or a log line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ..adapters.postgres import Database

# RFC 5321's longest path; one @ between a local part and a domain with a dot, nothing that could break a header.
MAX_ADDRESS = 320
_ADDRESS = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")

SELECT_RECIPIENT = "SELECT notify_email FROM exports WHERE export_id = %s"


def usable_address(value: Any) -> str | None:
    """``value`` as an address to e-mail, or None when it cannot be one."""
    if not isinstance(value, str) or len(value) > MAX_ADDRESS or not _ADDRESS.fullmatch(value):
        return None
    return value


class RecipientsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def of(self, export_id: UUID) -> str | None:
        rows = self._db.run([(SELECT_RECIPIENT, (str(export_id),))])
        return str(rows[0][0]) if rows and rows[0][0] else None


@dataclass(frozen=True)
class NotifyTo:
    """A request's ``notify: true``: e-mail ``address`` when the job completes or fails."""

    address: str

    def __repr__(self) -> str:  # the address stays out of anything that prints this
        return "NotifyTo(address=<hidden>)"
