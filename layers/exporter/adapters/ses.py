"""E-mail: the port the notifications send through, and its SES (v2) adapter."""

from __future__ import annotations

from typing import Any, Protocol


class Mailer(Protocol):
    """Sends one plain-text e-mail; raises when it could not."""

    def send(self, *, sender: str, to: str, subject: str, body: str) -> None: ...


class SesMailer:
    """SES's ``SendEmail`` (API v2) from a verified identity; the role may send as that identity only."""

    def __init__(self, sesv2: Any) -> None:
        self._ses = sesv2

    def send(self, *, sender: str, to: str, subject: str, body: str) -> None:
        self._ses.send_email(
            FromEmailAddress=sender,
            Destination={"ToAddresses": [to]},
            Content={
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                }
            },
        )
