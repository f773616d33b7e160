"""A capture window's account: hand-overs and Redis outages told apart in its message."""

from __future__ import annotations

from exporter.captures.run import Window

START = 1_764_770_000.0


def test_hand_overs_are_counted_as_such_even_when_one_is_still_open_at_the_windows_end() -> None:
    window = Window(start=START, end=START + 60)
    window.gap(START + 10, START + 10.2, handover=True)  # a hand-over the next run closed
    window.gap(START + 20, START + 23)  # Redis away
    window.gap(START + 50, START + 60, handover=True)  # a hand-over whose next run came after the end
    message = window.message()
    assert message is not None
    assert message.startswith("Redis disconnected 1 time(s) and the capture went on in 2 next run(s);")
    assert window.gaps_count == 3 and window.handovers == 2


def test_while_a_next_run_subscribes_the_open_gap_is_said_to_be_the_hand_over() -> None:
    window = Window(start=START, end=START + 60, open_since=START + 30, handing_over=True)
    assert window.message() == "the capture goes on in a next run; nothing is captured since 2025-12-03T13:53:50.000Z"
    window.handing_over = False
    assert (window.message() or "").startswith("Redis is unreachable since")
