"""Go-style capture durations: what is accepted, and 400 messages that name the limit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exporter.captures.durations import InvalidDuration, capture_seconds, format_seconds, parse_go_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60s", 60), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("1m30s", 90), ("1.5m", 90), ("2000ms", 2), ("14m", 840)],
)
def test_go_durations_are_read_as_go_reads_them(text: str, seconds: int) -> None:
    assert capture_seconds(text, max_seconds=6 * 3600) == seconds


def test_go_grammar_details() -> None:
    assert parse_go_duration("0") == 0
    assert parse_go_duration("-1.5h") == Decimal(-5400)
    assert parse_go_duration("1h2m3s4ms5us6ns") == Decimal("3723.004005006")
    assert parse_go_duration("3µs") == Decimal("0.000003")
    for bad in ("", "s", "60", "1d", "1h 30m", "m5", "1..5s", "ten seconds"):
        with pytest.raises(ValueError):
            parse_go_duration(bad)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "duration is required"),
        ("", "duration is required"),
        (60, "duration is required"),
        ("0s", "must be positive"),
        ("0", "must be positive"),
        ("-5m", "must be positive"),
        ("forever", "is not a Go duration"),
        ("1.5s", "whole number of seconds"),
        ("15m", "longer than the maximum of 14m"),
        ("841s", "longer than the maximum of 14m"),
    ],
)
def test_bad_durations_are_refused_naming_the_limit(value: object, fragment: str) -> None:
    # GIVEN the default maximum of 14 minutes WHEN a bad duration is asked for THEN the message says why and the limit
    with pytest.raises(InvalidDuration) as caught:
        capture_seconds(value, max_seconds=840)
    assert fragment in str(caught.value)
    assert "14m" in str(caught.value)


def test_limits_are_spelled_as_go_durations() -> None:
    assert [format_seconds(s) for s in (840, 5400, 61, 3600, 0)] == ["14m", "1h30m", "1m1s", "1h", "0s"]
