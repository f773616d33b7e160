"""A Redis pattern subscription that can be re-made, so a capture survives a disconnect and can say for how long."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from aws_lambda_powertools import Logger

logger = Logger(child=True)

CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


@dataclass(frozen=True)
class SubscriptionConfig:
    read_timeout_seconds: float = 0.25
    reconnect_initial_seconds: float = 0.05
    reconnect_max_seconds: float = 2.0
    subscribe_timeout_seconds: float = 5.0


class Subscription:
    """A pattern subscription that can be re-made; every failure surfaces as a connection error."""

    def __init__(self, connect: Callable[[], redis.Redis], pattern: str, config: SubscriptionConfig) -> None:
        self._connect, self._pattern, self._config = connect, pattern, config
        self._client: redis.Redis | None = None
        self.pubsub: Any = None
        self.failures = 0  # failed attempts of the last reopen()

    def open(self) -> None:
        self.close()
        self._client = self._connect()
        self.pubsub = self._client.pubsub()
        self.pubsub.psubscribe(self._pattern)
        deadline = time.monotonic() + self._config.subscribe_timeout_seconds
        while True:  # subscribed only once the server confirms it
            reply = self.pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if reply is not None and reply["type"] == "psubscribe":
                return
            if time.monotonic() >= deadline:
                raise redis.TimeoutError("no psubscribe confirmation")

    def close(self) -> None:
        for closeable in (self.pubsub, self._client):
            if closeable is not None:
                with contextlib.suppress(Exception):  # a broken connection may fail to close; dropped anyway
                    closeable.close()
        self.pubsub, self._client = None, None

    def reopen(self, until_monotonic: float, *, while_waiting: Callable[[], None] = lambda: None) -> bool:
        """Resubscribe with backoff until it works (True) or the window ends (False).

        ``while_waiting`` runs after every failed attempt: the run keeps its lease (and shows
        the open gap) however long Redis is away.
        """
        delay = self._config.reconnect_initial_seconds
        self.failures = 0
        while time.monotonic() < until_monotonic:
            try:
                self.open()
                return True
            except CONNECTION_ERRORS as error:
                self.failures += 1
                self.close()
                logger.warning("redis subscribe failed; retrying", extra={"error": type(error).__name__})
                while_waiting()
                time.sleep(max(0.0, min(delay, until_monotonic - time.monotonic())))
                delay = min(delay * 2, self._config.reconnect_max_seconds)
        return False
