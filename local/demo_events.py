"""Demo traffic for captures: NEF event-exposure messages published to the local stack's Redis.

    make demo-events                              # 5 messages/s until Ctrl-C
    make demo-events ARGS="--seconds 60 --rate 20"
    DEMO_EVENTS=1 make dev                        # the stack runs this in the background

The messages are ``bench/nef_events.py``'s (location reports, reachability, PDU session
status, ... of a few dozen subscribers, on ``broadcast:<event>`` channels), so a capture of
``broadcast:*`` has something realistic to record and mask. The Redis address comes from
``--redis-url`` or from ``stack.json`` in ``$LOCAL_STATE_DIR`` (``.local``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import redis

from bench.nef_events import publish_at_rate, subscribers

log = logging.getLogger("local.events")

DEFAULT_RATE = 5.0
DEFAULT_SUBSCRIBERS = 40
REPORT_EVERY_SECONDS = 30.0


def redis_url_from_stack(state_dir: Path) -> str:
    path = state_dir / "stack.json"
    if not path.exists():
        raise SystemExit(f"no {path}: start the stack first (make dev), or pass --redis-url")
    return str(json.loads(path.read_text())["redis_url"])


class Counter:
    """Wraps ``publish`` to count what was sent and to say so every ``every`` seconds."""

    def __init__(self, publish: Any, every: float = REPORT_EVERY_SECONDS) -> None:
        self._publish, self._every = publish, every
        self.sent = 0
        self.subscribers_reached = 0
        self._next = time.monotonic() + every

    def __call__(self, channel: str, text: str) -> None:
        self.subscribers_reached += int(self._publish(channel, text) or 0)
        self.sent += 1
        if time.monotonic() >= self._next:
            self._next = time.monotonic() + self._every
            log.info("demo events: %d published so far (%d deliveries)", self.sent, self.subscribers_reached)


def publish(redis_url: str, *, rate: float, seconds: float, users: int) -> int:
    """Publish at ``rate`` per second for ``seconds`` (inf = until interrupted); the number sent."""
    client = redis.Redis.from_url(redis_url)
    counter = Counter(client.publish)
    log.info("demo events: %.4g message(s)/s of %d subscribers to %s on broadcast:*", rate, users, redis_url)
    try:
        publish_at_rate(counter, subscribers(users), rate=rate, seconds=seconds)
    except KeyboardInterrupt:
        pass
    except redis.ConnectionError as error:
        log.warning("demo events: Redis went away (%s); stopping", error)
    finally:
        client.close()
    log.info("demo events: %d published", counter.sent)
    return counter.sent


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.demo_events", description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=float(os.environ.get("DEMO_EVENTS_RATE", DEFAULT_RATE)))
    parser.add_argument("--seconds", type=float, default=float("inf"), help="stop after this long (default: Ctrl-C)")
    parser.add_argument("--users", type=int, default=DEFAULT_SUBSCRIBERS, help="distinct subscribers")
    parser.add_argument("--redis-url", help="default: redis_url of stack.json in $LOCAL_STATE_DIR (.local)")
    args = parser.parse_args(argv)
    if not args.rate > 0 or not args.seconds > 0 or args.users < 1:
        parser.error("--rate and --seconds must be positive, --users at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it like Ctrl-C
    redis_url = args.redis_url or redis_url_from_stack(Path(os.environ.get("LOCAL_STATE_DIR", ".local")))
    publish(redis_url, rate=args.rate, seconds=args.seconds, users=args.users)
    return 0


if __name__ == "__main__":
    sys.exit(main())
