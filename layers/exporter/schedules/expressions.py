"""EventBridge Scheduler expressions: ``cron(…)``, ``rate(…)`` and ``at(…)``, parsed and evaluated.

``next_runs`` gives the fire times Scheduler would use, as aware UTC datetimes. Cron fields are
read in the schedule's time zone: a local time that does not exist (the hour skipped when
clocks go forward) is skipped, a local time that happens twice runs once, at its first
occurrence.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidRequest

MAX_YEAR = 2199  # Scheduler's last cron year
MIN_YEAR = 1970
MONTHS = {name.upper(): n for n, name in enumerate(calendar.month_abbr) if name}
# Scheduler numbers days of the week 1 (Sunday) to 7 (Saturday).
WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}

_WRAPPED = re.compile(r"^(cron|rate|at)\((.*)\)$", re.DOTALL)
_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


class InvalidExpression(InvalidRequest):
    """The schedule expression or time zone is not one Scheduler accepts (400)."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; anything else is a 400 naming it."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        raise InvalidExpression(f"timezone {name!r} is not an IANA time zone name (e.g. 'Europe/Paris', 'UTC')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidExpression(
            f"timezone {name!r} is not an IANA time zone name (e.g. 'Europe/Paris', 'UTC')"
        ) from error


# ---- cron -----------------------------------------------------------------------------------------


DayRule = Callable[[date], bool]


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: tuple[int, ...]
    years: tuple[int, ...]
    day: DayRule  # day of month or day of week, whichever is not '?'

    def local_times(self, start: datetime) -> Iterator[datetime]:
        """Every matching naive local time at or after the naive ``start``, in order."""
        for year in (y for y in self.years if y >= start.year):
            for month in (m for m in self.months if (year, m) >= (start.year, start.month)):
                yield from self._in_month(year, month, start)

    def _in_month(self, year: int, month: int, start: datetime) -> Iterator[datetime]:
        for day in range(1, calendar.monthrange(year, month)[1] + 1):
            today = date(year, month, day)
            if today < start.date() or not self.day(today):
                continue
            for hour in self.hours:
                for minute in self.minutes:
                    moment = datetime(year, month, day, hour, minute)
                    if moment >= start:
                        yield moment


def _number(text: str, names: dict[str, int], field: str) -> int:
    token = text.upper()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise InvalidExpression(f"cron {field}: {text!r} is not a number" + (" or a name" if names else ""))
    return int(token)


def _values(part: str, low: int, high: int, field: str, names: dict[str, int] | None = None) -> set[int]:
    """One comma-separated item of a field: ``*``, ``n``, ``a-b``, each optionally ``/step``."""
    names = names or {}
    base, _, step_text = part.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise InvalidExpression(f"cron {field}: step {step_text!r} is not a positive number")
        step = int(step_text)
    if base == "*":
        first, last = low, high
    elif "-" in base:
        a, _, b = base.partition("-")
        first, last = _number(a, names, field), _number(b, names, field)
    else:
        first = _number(base, names, field)
        last = high if step_text else first
    for value in (first, last):
        if not low <= value <= high:
            raise InvalidExpression(f"cron {field}: {value} is outside {low}-{high}")
    if first > last:
        raise InvalidExpression(f"cron {field}: range {base!r} runs backwards")
    return set(range(first, last + 1, step))


def _field(text: str, low: int, high: int, field: str, names: dict[str, int] | None = None) -> tuple[int, ...]:
    if not text:
        raise InvalidExpression(f"cron {field} is empty")
    values: set[int] = set()
    for part in text.split(","):
        values |= _values(part, low, high, field, names)
    return tuple(sorted(values))


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, target: int) -> bool:
    """``nW``: the weekday nearest to day ``target`` of the month, never crossing into another month."""
    last = _last_day(day)
    wanted = date(day.year, day.month, min(target, last))
    if wanted.weekday() == 5:  # Saturday → Friday, or Monday when the 1st is a Saturday
        wanted = wanted - timedelta(days=1) if wanted.day > 1 else wanted + timedelta(days=2)
    elif wanted.weekday() == 6:  # Sunday → Monday, or Friday when it is the last day
        wanted = wanted + timedelta(days=1) if wanted.day < last else wanted - timedelta(days=2)
    return day == wanted


def _day_of_month(text: str) -> DayRule:
    if text == "L":
        return lambda d: d.day == _last_day(d)
    if text == "LW":
        return lambda d: _nearest_weekday(d, _last_day(d))
    if text.endswith("W"):
        (target,) = _field(text[:-1], 1, 31, "day-of-month")
        return lambda d: _nearest_weekday(d, target)
    if "L" in text or "W" in text:
        raise InvalidExpression(f"cron day-of-month: {text!r} (L and W stand alone: 'L', 'LW', '15W')")
    days = set(_field(text, 1, 31, "day-of-month"))
    return lambda d: d.day in days


def _scheduler_weekday(d: date) -> int:
    return (d.isoweekday() % 7) + 1  # Sunday 1 … Saturday 7


def _day_of_week(text: str) -> DayRule:
    if text == "L":
        return lambda d: _scheduler_weekday(d) == WEEKDAYS["SAT"]
    if text.endswith("L"):
        weekday = _number(text[:-1], WEEKDAYS, "day-of-week")
        _check_weekday(weekday)
        return lambda d: _scheduler_weekday(d) == weekday and d.day + 7 > _last_day(d)
    if "#" in text:
        day_text, _, nth_text = text.partition("#")
        weekday = _number(day_text, WEEKDAYS, "day-of-week")
        _check_weekday(weekday)
        if not nth_text.isdigit() or not 1 <= int(nth_text) <= 5:
            raise InvalidExpression(f"cron day-of-week: {text!r} (the n of 'day#n' is 1 to 5)")
        nth = int(nth_text)
        return lambda d: _scheduler_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth
    weekdays = set(_field(text, 1, 7, "day-of-week", WEEKDAYS))
    return lambda d: _scheduler_weekday(d) in weekdays


def _check_weekday(weekday: int) -> None:
    if not 1 <= weekday <= 7:
        raise InvalidExpression(f"cron day-of-week: {weekday} is outside 1-7 (1 is Sunday)")


def parse_cron(body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise InvalidExpression(
            f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise InvalidExpression("cron: exactly one of day-of-month and day-of-week must be '?'")
    return Cron(
        minutes=_field(minutes, 0, 59, "minutes"),
        hours=_field(hours, 0, 23, "hours"),
        months=_field(month, 1, 12, "month", MONTHS),
        years=_field(year, MIN_YEAR, MAX_YEAR, "year"),
        day=_day_of_week(dow) if dom == "?" else _day_of_month(dom),
    )


# ---- rate and at ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    period: timedelta


@dataclass(frozen=True)
class At:
    local: datetime  # naive, in the schedule's time zone


def parse_rate(body: str) -> Rate:
    parts = body.split()
    if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) < 1:
        raise InvalidExpression("rate needs a positive whole number and a unit, e.g. rate(5 minutes), rate(1 day)")
    value, unit = int(parts[0]), parts[1]
    singular = unit.removesuffix("s")
    if singular not in RATE_UNITS:
        raise InvalidExpression(f"rate unit {unit!r} is not minute(s), hour(s) or day(s)")
    if (value == 1) != (unit == singular):
        raise InvalidExpression(f"rate({value} {unit}): use '{singular}' for 1 and '{singular}s' for more")
    return Rate(timedelta(seconds=value * RATE_UNITS[singular]))


def parse_at(body: str) -> At:
    if not _AT.match(body):
        raise InvalidExpression(f"at({body}) is not at(yyyy-mm-ddThh:mm:ss)")
    try:
        return At(datetime.fromisoformat(body))
    except ValueError as error:
        raise InvalidExpression(f"at({body}) is not a real date and time") from error


Expression = Cron | Rate | At
_PARSERS: dict[str, Callable[[str], Expression]] = {"cron": parse_cron, "rate": parse_rate, "at": parse_at}


def parse(expression: str) -> Expression:
    """``expression`` parsed; a 400 that says what is wrong otherwise."""
    match = _WRAPPED.match(expression.strip()) if isinstance(expression, str) else None
    if match is None:
        raise InvalidExpression(
            f"expression {expression!r} is not cron(…), rate(…) or at(…), e.g. 'cron(0 2 * * ? *)', 'rate(1 day)'"
        )
    kind, body = match.groups()
    return _PARSERS[kind](body.strip())


# ---- fire times ------------------------------------------------------------------------------------


def _resolve(local: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a naive local time, or None when that local time does not exist in ``tz``."""
    aware = local.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        return None  # skipped by a clock change
    return utc


def fire_times(expression: Expression, tz: ZoneInfo, *, after: datetime, anchor: datetime) -> Iterator[datetime]:
    """Fire times strictly after ``after`` (aware), in order, as aware UTC datetimes.

    ``anchor`` is when a rate schedule was (re)set: it fires at anchor + k * period.
    """
    if isinstance(expression, Rate):
        elapsed = max((after - anchor) // expression.period + 1, 1)
        k = elapsed
        while True:
            yield (anchor + k * expression.period).astimezone(UTC)
            k += 1
    if isinstance(expression, At):
        moment = _resolve(expression.local, tz)
        if moment is not None and moment > after:
            yield moment
        return
    start = (after.astimezone(tz).replace(tzinfo=None) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    seen: set[datetime] = set()
    for local in expression.local_times(start):
        moment = _resolve(local, tz)
        if moment is not None and moment > after and moment not in seen:
            seen.add(moment)
            yield moment


def next_runs(expression: str, timezone: str, *, after: datetime, anchor: datetime, count: int = 3) -> list[datetime]:
    """The next ``count`` fire times after ``after`` (fewer when the expression ends)."""
    times = fire_times(parse(expression), zone(timezone), after=after, anchor=anchor)
    return [t for _, t in zip(range(count), times, strict=False)]
