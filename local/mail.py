"""E-mail locally: the sender verified on the moto server's SES, where sent messages stay to be read.

``GET {aws_endpoint_url}/moto-api/data.json`` (the ``aws_endpoint_url`` of ``.local/stack.json``)
lists them under ``ses`` → ``Message`` (source, destinations, subject, body); nothing leaves the
machine. (moto answers that page 500 while an S3 multipart upload is in progress: ask again.)
"""

from __future__ import annotations

import os

from local.services import local_client

# The local stack's sender; ``EMAIL_SENDER`` in the shell overrides it.
LOCAL_SENDER = "exports@export-service.localhost"


def prepare(endpoint_url: str, ui_base_url: str) -> dict[str, str]:
    """Verify the sender on the moto server; the environment the worker, sweeper and assembler e-mail with."""
    sender = os.environ.get("EMAIL_SENDER") or LOCAL_SENDER
    local_client("ses", endpoint_url).verify_email_identity(EmailAddress=sender)
    return {"EMAIL_SENDER": sender, "UI_BASE_URL": ui_base_url}
