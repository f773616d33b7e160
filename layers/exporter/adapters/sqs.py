"""SQS behind the :class:`~exporter.adapters.ports.MessageQueue` port: one message per attempt."""

from __future__ import annotations

from typing import Any

MAX_DELAY_SECONDS = 900  # SQS's limit on DelaySeconds


class JobQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs, self._url = sqs, queue_url

    def send(self, message: Any, *, delay_seconds: int = 0) -> None:
        """``message`` is a kind's pydantic message model, sent as its JSON."""
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=message.model_dump_json(),
            DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
        )


def backoff_seconds(attempt: int, base: int) -> int:
    """Delay before attempt ``attempt + 1``: base, 2*base, 4*base ... capped at SQS's 15 minutes."""
    return int(min(base * 2 ** max(attempt - 1, 0), MAX_DELAY_SECONDS))
