"""The table `make bench` ends with: each run's figures side by side, and each goal judged met or missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.measure import Goal, record
from bench.summary import load_results, main, render


def recorded(monkeypatch: pytest.MonkeyPatch, path: Path, *lines: tuple[Goal, str, float, float | None, str]) -> Path:
    """A run's results file, written the way the benches write it."""
    monkeypatch.setenv("BENCH_RESULTS", str(path))
    for line in lines:
        record(*line)
    monkeypatch.delenv("BENCH_RESULTS")
    return path


def table(*files: Path) -> dict[str, list[str]]:
    """The rendered table's rows by their first cell: [today, run 1 .. run N, ratio, goal met?]."""
    rows = {}
    for line in render([load_results(path) for path in files]).splitlines()[2:]:
        cells = line.removeprefix("| ").removesuffix(" |").split(" | ")
        rows[cells[0]] = cells[1:]
    return rows


def row(rows: dict[str, list[str]], starts: str) -> list[str]:
    (found,) = [cells for title, cells in rows.items() if title.startswith(starts)]
    return found


def test_both_runs_are_shown_side_by_side_with_the_issues_starting_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = recorded(monkeypatch, tmp_path / "run1.jsonl", (Goal.EXPORT, "100,000 rows", 12_000, 40_000, "rows/s"))
    two = recorded(monkeypatch, tmp_path / "run2.jsonl", (Goal.EXPORT, "100,000 rows", 34_000, 40_000, "rows/s"))

    today, run1, run2, ratios, met = row(table(one, two), "export vs COPY (same select) TO STDOUT, 100,000 rows")

    assert today == "13-15k vs 84-124k rows/s (0.12-0.16)"
    assert run1 == "12,000 vs 40,000 rows/s"
    assert run2 == "34,000 vs 40,000 rows/s"
    assert ratios == "0.30 / 0.85"
    assert met == "in 1 of 2 runs: ratio 0.30 / 0.85 (goal ≥ 0.80)"


@pytest.mark.parametrize(
    ("goal", "figure", "baseline", "unit", "met"),
    [
        (Goal.EXPORT, 80, 100, "rows/s", True),
        (Goal.EXPORT, 79, 100, "rows/s", False),
        (Goal.DATASET, 81, 100, "rows/s", True),
        (Goal.DATASET, 60, 100, "rows/s", False),
        (Goal.IMAGES, 520, 100, "images/s", True),
        (Goal.IMAGES, 490, 100, "images/s", False),
        (Goal.CAPTURE, 60_000, 100_000, "msg/s", True),
        (Goal.CAPTURE, 60_000, 130_000, "msg/s", False),  # fast enough, but under half the raw dump
        (Goal.CAPTURE, 40_000, 50_000, "msg/s", False),  # near the raw dump, but under 50k msg/s
        (Goal.COLD_START, 290, 400, "ms", True),
        (Goal.COLD_START, 310, 400, "ms", False),
        (Goal.WARM_POST, 24.5, None, "ms", True),
        (Goal.WARM_POST, 25.5, None, "ms", False),
        (Goal.EXPORT_RSS, 150, 140, "MB", True),
        (Goal.EXPORT_RSS, 150, 100, "MB", False),  # grew by half
        (Goal.EXPORT_RSS, 100, 150, "MB", False),  # shrank by a third
        (Goal.EXPORT_RSS, 210, 200, "MB", False),  # flat, but over 200 MB
    ],
)
def test_each_goal_is_judged_on_its_own_bounds(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    goal: Goal,
    figure: float,
    baseline: float | None,
    unit: str,
    met: bool,
) -> None:
    runs = [recorded(monkeypatch, tmp_path / f"run{n}.jsonl", (goal, "case", figure, baseline, unit)) for n in (1, 2)]

    (judged,) = [cells[-1] for title, cells in table(*runs).items() if ", case (goal" in title]

    if met:
        assert judged == "yes"
    else:
        assert judged.startswith("no: "), judged


def test_a_missed_goal_says_by_how_much_in_each_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    capture = (Goal.CAPTURE, "CAPTURE_PROCESSES=2")
    one = recorded(monkeypatch, tmp_path / "run1.jsonl", (*capture, 16_000, 64_000, "msg/s"))
    two = recorded(monkeypatch, tmp_path / "run2.jsonl", (*capture, 12_000, 48_000, "msg/s"))

    *_, ratios, met = row(table(one, two), "capture, highest lossless rate vs raw pattern-subscribe dump")

    assert ratios == "0.25 / 0.25"
    assert met == "no: figure 16,000 msg/s / 12,000 msg/s (goal ≥ 50,000 msg/s); ratio 0.25 / 0.25 (goal ≥ 0.50)"


def test_every_goal_has_a_row_even_when_a_bench_did_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = recorded(monkeypatch, tmp_path / "run1.jsonl", (Goal.WARM_POST, "500 requests", 18.2, None, "ms"))

    rows = table(one, tmp_path / "missing.jsonl")

    assert len(rows) == len(Goal)
    assert row(rows, "warm POST /exports in process, p99, 500 requests")[1:] == [
        "18.2 ms",
        "not measured",
        "- / -",
        "yes",
    ]
    assert row(rows, "worker peak RSS")[-1] == "not measured (one size in BENCH_ROWS)"
    assert row(rows, "images")[1:3] == ["not measured", "not measured"]


def test_record_writes_nothing_without_a_results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)

    record(Goal.IMAGES, "400 rows", 900, 50, "images/s")

    assert list(tmp_path.iterdir()) == []


def test_the_table_is_printed_again_from_kept_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    one = recorded(monkeypatch, tmp_path / "run1.jsonl", (Goal.IMAGES, "400 rows", 900, 50, "images/s"))

    assert main(["--results", str(one)]) == 0

    printed = capsys.readouterr().out
    assert "| goal | today (the issue) | run 1 | ratio | goal met? |" in printed
    assert "| 900 vs 50 images/s | 18.00 | yes |" in printed
