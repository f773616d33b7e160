"""Scheduler expressions: the next run times a user is shown, and the 400s for what Scheduler would refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from exporter.schedules.expressions import InvalidExpression, next_runs
from exporter.schedules.relative import InvalidTemplate, render, validate

NOW = datetime(2026, 12, 3, 10, 0, 30, tzinfo=UTC)  # a Thursday


def runs(expression: str, timezone: str = "UTC", *, after: datetime = NOW, anchor: datetime = NOW) -> list[str]:
    return [t.isoformat() for t in next_runs(expression, timezone, after=after, anchor=anchor)]


@pytest.mark.parametrize(
    ("expression", "timezone", "expected"),
    [
        (
            "cron(0 2 * * ? *)",
            "UTC",
            ["2026-12-04T02:00:00+00:00", "2026-12-05T02:00:00+00:00", "2026-12-06T02:00:00+00:00"],
        ),
        (
            "cron(0 2 * * ? *)",
            "Europe/Paris",
            ["2026-12-04T01:00:00+00:00", "2026-12-05T01:00:00+00:00", "2026-12-06T01:00:00+00:00"],
        ),
        (
            "cron(0/20 10 * * ? *)",
            "UTC",
            ["2026-12-03T10:20:00+00:00", "2026-12-03T10:40:00+00:00", "2026-12-04T10:00:00+00:00"],
        ),
        (
            "cron(0 9 ? * MON-FRI *)",
            "America/New_York",
            ["2026-12-03T14:00:00+00:00", "2026-12-04T14:00:00+00:00", "2026-12-07T14:00:00+00:00"],
        ),
        (
            "cron(15 10 ? * 6L 2026-2027)",
            "UTC",
            ["2026-12-25T10:15:00+00:00", "2027-01-29T10:15:00+00:00", "2027-02-26T10:15:00+00:00"],
        ),
        (
            "cron(0 0 L * ? *)",
            "UTC",
            ["2026-12-31T00:00:00+00:00", "2027-01-31T00:00:00+00:00", "2027-02-28T00:00:00+00:00"],
        ),
        (
            "cron(0 0 LW 1,5 ? *)",
            "UTC",
            ["2027-01-29T00:00:00+00:00", "2027-05-31T00:00:00+00:00", "2028-01-31T00:00:00+00:00"],
        ),
        (
            "cron(0 0 1W * ? 2027)",
            "UTC",
            ["2027-01-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00", "2027-03-01T00:00:00+00:00"],
        ),
        (
            "cron(0 0 ? * 2#1 *)",
            "UTC",
            ["2026-12-07T00:00:00+00:00", "2027-01-04T00:00:00+00:00", "2027-02-01T00:00:00+00:00"],
        ),
        (
            "cron(0 12 29 FEB ? *)",
            "UTC",
            ["2028-02-29T12:00:00+00:00", "2032-02-29T12:00:00+00:00", "2036-02-29T12:00:00+00:00"],
        ),
        ("cron(0 0 1 1 ? 2026)", "UTC", []),
        (
            "rate(5 minutes)",
            "UTC",
            ["2026-12-03T10:05:30+00:00", "2026-12-03T10:10:30+00:00", "2026-12-03T10:15:30+00:00"],
        ),
        (
            "rate(1 day)",
            "Asia/Tokyo",
            ["2026-12-04T10:00:30+00:00", "2026-12-05T10:00:30+00:00", "2026-12-06T10:00:30+00:00"],
        ),
        ("at(2026-12-24T18:00:00)", "Europe/Paris", ["2026-12-24T17:00:00+00:00"]),
        ("at(2026-12-01T18:00:00)", "UTC", []),
    ],
)
def test_next_runs(expression: str, timezone: str, expected: list[str]) -> None:
    assert runs(expression, timezone) == expected


def test_a_local_time_skipped_by_the_clocks_going_forward_is_skipped_and_a_repeated_one_runs_once() -> None:
    # Paris: 2027-03-28 02:00 → 03:00 (02:30 does not exist); 2027-10-31 03:00 → 02:00 (02:30 happens twice)
    spring = runs("cron(30 2 * * ? *)", "Europe/Paris", after=datetime(2027, 3, 27, 12, tzinfo=UTC))
    assert spring[:2] == ["2027-03-29T00:30:00+00:00", "2027-03-30T00:30:00+00:00"]
    autumn = runs("cron(30 2 * * ? *)", "Europe/Paris", after=datetime(2027, 10, 30, 12, tzinfo=UTC))
    assert autumn[:2] == ["2027-10-31T00:30:00+00:00", "2027-11-01T01:30:00+00:00"]


def test_a_rate_counts_from_when_it_was_set() -> None:
    anchor = datetime(2026, 12, 3, 9, 58, tzinfo=UTC)
    assert runs("rate(2 minutes)", anchor=anchor) == [
        "2026-12-03T10:02:00+00:00",
        "2026-12-03T10:04:00+00:00",
        "2026-12-03T10:06:00+00:00",
    ]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("cron(0 2 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 2 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 2 * *)", "cron needs 6 fields"),
        ("cron(60 2 * * ? *)", "cron minutes: 60 is outside 0-59"),
        ("cron(0 2 * 13 ? *)", "cron month: 13 is outside 1-12"),
        ("cron(0 2 * FOO ? *)", "cron month: 'FOO' is not a number or a name"),
        ("cron(0 2 5-1 * ? *)", "range '5-1' runs backwards"),
        ("cron(0/0 2 * * ? *)", "step '0' is not a positive number"),
        ("cron(0 2 ? * 8 *)", "cron day-of-week: 8 is outside 1-7"),
        ("cron(0 2 ? * 2#6 *)", "the n of 'day#n' is 1 to 5"),
        ("cron(0 2 L5 * ? *)", "L and W stand alone"),
        ("cron(0 2 * * ? 2300)", "cron year: 2300 is outside 1970-2199"),
        ("rate(1 minutes)", "use 'minute' for 1 and 'minutes' for more"),
        ("rate(2 hour)", "use 'hour' for 1 and 'hours' for more"),
        ("rate(0 days)", "positive whole number"),
        ("rate(1.5 hours)", "positive whole number"),
        ("rate(3 weeks)", "is not minute(s), hour(s) or day(s)"),
        ("at(2026-12-24 18:00:00)", "is not at(yyyy-mm-ddThh:mm:ss)"),
        ("at(2026-13-01T00:00:00)", "is not a real date and time"),
        ("0 2 * * ? *", "is not cron(…), rate(…) or at(…)"),
    ],
)
def test_an_expression_scheduler_would_refuse_says_what_is_wrong(expression: str, fragment: str) -> None:
    with pytest.raises(InvalidExpression, match=None) as refused:
        next_runs(expression, "UTC", after=NOW, anchor=NOW)
    assert fragment in str(refused.value)


@pytest.mark.parametrize("timezone", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime", " UTC"])
def test_a_time_zone_that_is_not_iana_is_refused(timezone: str) -> None:
    with pytest.raises(InvalidExpression, match="is not an IANA time zone name"):
        next_runs("rate(1 day)", timezone, after=NOW, anchor=NOW)


def test_relative_parameters() -> None:
    fire = datetime(2026, 12, 2, 17, tzinfo=UTC)  # 02:00 on 3 December in Tokyo
    tokyo = ZoneInfo("Asia/Tokyo")
    template = {
        "start_date": "{{ run_date - 1 day }}",
        "end_date": "{{run_date}}",
        "since": "{{ run_time - 3 hours }}",
        "window": "from {{ run_date - 7 days }} to {{ run_date + 1 day }}",
        "after_ms": ["{{ run_ms - 1 hour }}"],
        "kept": 5,
    }
    assert render(template, fire, tokyo) == {
        "start_date": "2026-12-02",
        "end_date": "2026-12-03",
        "since": "2026-12-02T23:00:00+09:00",
        "window": "from 2026-11-26 to 2026-12-04",
        "after_ms": [str(int(fire.timestamp() * 1000) - 3_600_000)],
        "kept": 5,
    }


@pytest.mark.parametrize(
    "text", ["{{ today }}", "{{ run_date - 1 week }}", "{{ run_date - day }}", "{{ run_date * 2 days }}"]
)
def test_a_template_outside_the_grammar_is_refused(text: str) -> None:
    with pytest.raises(InvalidTemplate, match="is not run_date, run_time or run_ms"):
        validate({"start_date": text})
