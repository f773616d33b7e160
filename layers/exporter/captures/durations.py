"""Go-style durations ("90s", "5m", "1h30m"), the capture API's unit of time (seed 000).

The grammar is Go's ``time.ParseDuration``: an optional sign, then one or more decimal
numbers, each with an optional fraction and a unit (``ns``, ``us``/``µs``, ``ms``, ``s``,
``m``, ``h``). A capture window is a whole number of seconds between 1 and a maximum;
anything else is refused with a message that names the limit.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ..errors import InvalidRequest

_UNITS = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),  # U+00B5 micro sign
    "μs": Decimal("1e-6"),  # U+03BC greek mu
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
_TERM = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
MAX_TEXT = 64


class InvalidDuration(InvalidRequest):
    """A capture duration that is missing, malformed, not positive or too long (400)."""


def parse_go_duration(text: str) -> Decimal:
    """Seconds in ``text``, exactly; raises ``ValueError`` when it is not a Go duration."""
    if len(text) > MAX_TEXT:
        raise ValueError("too long")
    rest, sign = text, Decimal(1)
    if rest[:1] in ("+", "-"):
        sign = Decimal(-1) if rest[0] == "-" else Decimal(1)
        rest = rest[1:]
    if rest == "0":  # Go accepts a bare zero
        return Decimal(0)
    if not rest:
        raise ValueError("empty")
    total, position = Decimal(0), 0
    while position < len(rest):
        match = _TERM.match(rest, position)
        if match is None:
            raise ValueError(f"unexpected {rest[position:]!r}")
        try:
            total += Decimal(match.group(1)) * _UNITS[match.group(2)]
        except InvalidOperation as error:
            raise ValueError(str(error)) from error
        position = match.end()
    return sign * total


def capture_seconds(text: object, *, max_seconds: int) -> int:
    """The capture window in whole seconds, or :class:`InvalidDuration` naming the limit."""
    limit = f'a Go duration such as "60s", "5m" or "1h30m", from 1s to {format_seconds(max_seconds)}'
    if not isinstance(text, str) or not text.strip():
        raise InvalidDuration(f"duration is required: {limit}")
    try:
        seconds = parse_go_duration(text.strip())
    except ValueError as error:
        raise InvalidDuration(f"duration {text[:MAX_TEXT]!r} is not {limit}") from error
    if seconds <= 0:
        raise InvalidDuration(f"duration must be positive: {limit}")
    if seconds != seconds.to_integral_value():
        raise InvalidDuration(f"duration must be a whole number of seconds: {limit}")
    if seconds > max_seconds:
        raise InvalidDuration(f"duration {text.strip()} is longer than the maximum of {format_seconds(max_seconds)}")
    return int(seconds)


def format_seconds(seconds: int) -> str:
    """``840`` → ``"14m"``, ``5400`` → ``"1h30m"``, ``61`` → ``"1m1s"`` (Go's own spelling)."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"
