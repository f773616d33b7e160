"""A capture's rows formatted by child processes are the rows the one-process path writes, in order."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time

import pytest
from pydantic import ValidationError

from bench.nef_events import messages, subscribers
from exporter.captures.masking import Masker
from exporter.captures.parallel import CaptureRows, InProcessRows, ParallelRows, RowWorkerDied, capture_rows
from exporter.settings import CaptureSettings, load

KEY = b"unit-masking-key-0123456789abcdef"
FORK = multiprocessing.get_context("fork")
SETTINGS = {
    "DATABASE_URL": "postgresql://x/y",
    "S3_BUCKET": "exports",
    "REDIS_SVC": "redis:6379",
    "MASKING_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:masking",
}


def _varied_messages(count: int) -> list[tuple[bytes | str, bytes | str, float]]:
    """NEF event reports, with plain text, JSON that is not an object, formulas and large bodies among them."""
    stream = messages(subscribers(200), seed=5)
    odd: list[tuple[str, str]] = [
        ("broadcast:raw", "UE imsi-001010999999999 lost at 10.99.0.1, call +33698765432"),
        ("broadcast:batch", json.dumps([{"supi": "imsi-001010123456789"}, {"pei": "imei-490154203237518"}])),
        ("broadcast:formula", json.dumps({"event": "=cmd|' /C calc'!A0", "msisdn": 33612345678})),
        ("broadcast:unicode", json.dumps({"event": "RÉSEAU", "text": 'Café ☕ \r\n "quoted"'}, ensure_ascii=False)),
        ("broadcast:big", json.dumps({"event": "BULK", "items": [f"imsi-00101{n:010d}" for n in range(3000)]})),
        ("broadcast:number", "1010123456789012"),
        ("broadcast:empty", ""),
    ]
    result: list[tuple[bytes | str, bytes | str, float]] = []
    for n in range(count):
        channel, text = odd[n // 97 % len(odd)] if n % 97 == 0 else next(stream)
        as_bytes = n % 3 != 0  # redis-py gives bytes; str is accepted too
        result.append(
            (channel.encode() if as_bytes else channel, text.encode() if as_bytes else text, 1.8e9 + n * 0.0137)
        )
    return result


def _csv(rows: CaptureRows, batch: list[tuple[bytes | str, bytes | str, float]], chunks: list[bytes]) -> bytes:
    for channel, data, received in batch:
        rows.add(channel, data, received)
        rows.tick()
    rows.finish()
    rows.close()
    return b"".join(chunks)


def _masker() -> Masker:
    return Masker(KEY).for_capture("3f1c0d2e-capture", link_across_captures=False)


@pytest.mark.parametrize(("workers", "batch_messages"), [(1, 500), (2, 37), (3, 1)])
def test_rows_from_child_processes_are_byte_for_byte_the_in_process_rows(workers: int, batch_messages: int) -> None:
    # GIVEN 3,000 varied NEF messages with their receive times
    batch = _varied_messages(3000)
    # WHEN they are written by the one-process path and by child processes (batches of several sizes)
    alone: list[bytes] = []
    expected = _csv(InProcessRows(_masker(), alone.append), batch, alone)
    parallel: list[bytes] = []
    rows = ParallelRows(_masker(), parallel.append, workers=workers, context=FORK, batch_messages=batch_messages)
    got = _csv(rows, batch, parallel)
    # THEN the CSV is the same, byte for byte, header first and every message once in its order
    assert got == expected
    assert got.startswith(b"timestamp,channel,event,user,data\r\n")
    assert got.count(b"\r\n") >= len(batch) + 1
    assert b"001010999999999" not in got and b"490154203237518" not in got


def test_a_slow_channels_rows_are_sent_after_a_short_time_not_held_for_a_full_batch() -> None:
    # GIVEN rows formatted by a child, batches of 1,000 messages or 50 ms
    chunks: list[bytes] = []
    rows = ParallelRows(_masker(), chunks.append, workers=1, context=FORK, batch_messages=1000, batch_seconds=0.05)
    try:
        # WHEN three messages arrive and the run keeps ticking
        for channel, data, received in _varied_messages(3):
            rows.add(channel, data, received)
        assert 0.0 < rows.due_in() <= 0.05
        deadline = time.monotonic() + 10
        while len(b"".join(chunks).splitlines()) < 4:
            assert time.monotonic() < deadline, "the rows were held"
            rows.tick()
            time.sleep(0.01)
        # THEN the three rows were written without waiting for the batch to fill or the window to end
        assert rows.due_in() == float("inf")
        rows.finish()
    finally:
        rows.close()


def test_a_child_that_dies_fails_the_rows_with_a_clear_error() -> None:
    # GIVEN rows formatted by two children, some already sent
    chunks: list[bytes] = []
    rows = ParallelRows(_masker(), chunks.append, workers=2, context=FORK, batch_messages=10)
    batch = _varied_messages(200)
    try:
        for channel, data, received in batch[:100]:
            rows.add(channel, data, received)
        # WHEN one child is killed and the messages keep coming
        os.kill(rows.pids[1] or 0, signal.SIGKILL)
        # THEN the rows fail, saying which process ended and that the capture is incomplete
        with pytest.raises(RowWorkerDied, match=r"capture-rows-1 .* exit code -9 .* the capture is incomplete"):
            for channel, data, received in batch[100:]:
                rows.add(channel, data, received)
            rows.finish()
    finally:
        rows.close()
    # AND no child is left running
    assert not [child for child in multiprocessing.active_children() if child.name.startswith("capture-rows-")]


def test_one_process_formats_in_place_and_more_start_their_children() -> None:
    header = b"timestamp,channel,event,user,data\r\n"
    alone_chunks: list[bytes] = []
    alone = capture_rows(_masker(), alone_chunks.append, processes=1, start_method="fork")
    assert isinstance(alone, InProcessRows)
    alone.finish()
    assert alone_chunks == [header]
    several_chunks: list[bytes] = []
    several = capture_rows(_masker(), several_chunks.append, processes=3, start_method="fork")
    try:
        assert isinstance(several, ParallelRows) and len(several.pids) == 2
        several.finish()
    finally:
        several.close()
    assert several_chunks == [header]


def test_a_capture_runs_in_one_process_unless_configured_and_in_at_most_six() -> None:
    assert load(CaptureSettings, SETTINGS).CAPTURE_PROCESSES == 1
    assert load(CaptureSettings, {**SETTINGS, "CAPTURE_PROCESSES": "6"}).CAPTURE_PROCESSES == 6
    for wrong in ("0", "7"):
        with pytest.raises(ValidationError, match="CAPTURE_PROCESSES"):
            load(CaptureSettings, {**SETTINGS, "CAPTURE_PROCESSES": wrong})
