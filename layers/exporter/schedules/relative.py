"""Parameters relative to a run's fire time: ``"{{ run_date - 1 day }}"``.

The grammar, inside ``{{ }}`` anywhere in a string value of a schedule's target::

    term   := base [ ("+" | "-") N unit ]
    base   := run_date      the fire time's date in the schedule's time zone, 2026-12-03
            | run_time      the fire time in the schedule's time zone, 2026-12-03T02:00:00+01:00
            | run_ms        the fire time as milliseconds since the epoch (the query's DATETIME_* arguments)
    unit   := day | days | hour | hours

The offset moves the fire time before it is written, so ``run_date - 1 day`` is yesterday's
date and ``run_date - 1 hour`` is the date an hour before the run.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import InvalidRequest

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_TERM = re.compile(r"^\s*(run_date|run_time|run_ms)\s*(?:([+-])\s*(\d{1,5})\s*(days?|hours?)\s*)?$")
_UNITS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


class InvalidTemplate(InvalidRequest):
    """A ``{{ … }}`` that is not in the grammar (400)."""


def _format(base: str, moment: datetime) -> str:
    if base == "run_date":
        return moment.date().isoformat()
    if base == "run_time":
        return moment.isoformat()
    return str(int(moment.timestamp() * 1000))


def _term(text: str, fire_time: datetime | None, tz: ZoneInfo) -> str:
    match = _TERM.match(text)
    if match is None:
        raise InvalidTemplate(
            f"{{{{{text}}}}} is not run_date, run_time or run_ms with an optional ± N day(s)/hour(s), "
            "e.g. {{ run_date - 1 day }}"
        )
    base, sign, amount, unit = match.groups()
    if fire_time is None:  # validating only
        return ""
    offset = int(amount or 0) * _UNITS[(unit or "day").removesuffix("s")]
    local = fire_time.astimezone(tz)
    return _format(base, local - offset if sign == "-" else local + offset)


def render_text(text: str, fire_time: datetime | None, tz: ZoneInfo) -> str:
    return _TEMPLATE.sub(lambda m: _term(m.group(1), fire_time, tz), text)


def render(value: Any, fire_time: datetime | None, tz: ZoneInfo) -> Any:
    """``value`` (JSON) with every template in its strings replaced; ``fire_time`` None only validates."""
    if isinstance(value, str):
        return render_text(value, fire_time, tz)
    if isinstance(value, list):
        return [render(item, fire_time, tz) for item in value]
    if isinstance(value, dict):
        return {key: render(item, fire_time, tz) for key, item in value.items()}
    return value


def validate(value: Any) -> None:
    """Refuse (400) any template outside the grammar."""
    render(value, None, ZoneInfo("UTC"))
