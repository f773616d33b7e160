"""The dataset catalogue: the shipped folders load; a malformed folder is refused naming it and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.datasets.catalogue import Format, load_catalogue, validate_catalogue
from exporter.datasets.parameters import parse_request
from exporter.datasets.sql import copy_csv, parse_select
from exporter.errors import DatasetNotFound, InvalidDataset, InvalidRequest
from exporter.jobs.model import Caller

REPO_DATASETS = Path(__file__).resolve().parents[2] / "datasets"
RANGE = """
[[parameters]]
name = "start_date"
type = "date"
required = true
"""


def _folder(root: Path, select: str | None, toml: str | None = None, delete: str | None = None) -> Path:
    folder = root / "broken"
    folder.mkdir()
    for name, text in (("select.sql", select), ("dataset.toml", toml), ("delete.sql", delete)):
        if text is not None:
            (folder / name).write_text(text)
    return root


def test_the_shipped_datasets_load_the_ckb_tasks_unchanged_and_observations_for_everyone() -> None:
    catalogue = validate_catalogue(REPO_DATASETS)
    names = [d.name for d in catalogue]
    assert {"agency", "source", "source_file", "source_run_page", "source_run_report", "observations"} <= set(names)
    ckb = catalogue.get("source_run_page")  # a bare CKB folder: COPY select.sql, delete.sql, no dataset.toml
    assert ckb.deletes and ckb.groups == ("admin",) and ckb.format is Format.CSV_GZ
    assert ckb.select.text.startswith("SELECT id, source_id")
    observations = catalogue.get("observations")
    assert [p.name for p in observations.parameters] == ["start_date", "end_date"]
    assert observations.runnable_by(Caller(user_id="anyone")) and not observations.deletes
    assert not ckb.runnable_by(Caller(user_id="anyone", groups=("analyst",)))


@pytest.mark.parametrize(
    ("select", "toml", "delete", "problem"),
    [
        (None, None, None, "select.sql is missing"),
        ("SELECT 1 WHERE 1 = %(limit)s", None, None, "placeholder %(limit)s with no declared parameter"),
        ("SELECT 1", RANGE, None, "parameter 'start_date' is declared but select.sql never uses"),
        ("SELECT 1", 'format = "xlsx"', None, "unknown format 'xlsx'"),
        ("SELECT %(n)s", '[[parameters]]\nname = "n"\ntype = "float"\nrequired = true', None, "unknown type 'float'"),
        ("SELECT 1; DROP TABLE x", None, None, "more than one statement"),
        ("UPDATE t SET a = 1", None, None, "is not a SELECT"),
        ("SELECT %s", None, None, "positional '%s'"),
        ("SELECT 1", None, "DELETE FROM t WHERE d < %(cutoff)s", "delete.sql has a placeholder %(cutoff)s"),
        ("SELECT 1", None, "TRUNCATE t", "delete.sql is not a DELETE"),
        ("SELECT 1", "title = ", None, "Invalid value"),
        ("SELECT 1", "groups = []", None, "groups must be a non-empty list"),
        (
            "SELECT %(n)s",
            '[[parameters]]\nname = "n"\ntype = "integer"\nrequired = false',
            None,
            "required = true or have a default",
        ),
        ("SELECT 1", 'colour = "red"', None, "unknown key 'colour'"),
        ("SELECT 1", '[schedule]\nexpression = "cron(0 2 * * *)"', None, "[schedule] cron needs 6 fields"),
        ("SELECT 1", '[schedule]\nexpression = "rate(1 day)"\ntimezone = "Mars/Olympus"', None, "Mars/Olympus"),
    ],
)
def test_a_malformed_dataset_is_refused_naming_the_folder_and_the_problem(
    tmp_path: Path, select: str | None, toml: str | None, delete: str | None, problem: str
) -> None:
    root = _folder(tmp_path, select, toml, delete)
    with pytest.raises(InvalidDataset) as refused:
        load_catalogue(root)
    assert "dataset broken" in str(refused.value) and problem in str(refused.value)


def test_a_missing_datasets_folder_fails_validation_but_is_an_empty_catalogue_at_run_time(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataset, match="no such datasets folder"):
        validate_catalogue(tmp_path / "nowhere")
    assert len(load_catalogue(tmp_path / "nowhere")) == 0


def test_a_ckb_select_with_a_literal_percent_is_kept_as_written() -> None:
    select = parse_select("COPY (SELECT name FROM t WHERE name LIKE 'a%') TO STDOUT WITH CSV HEADER;")
    assert select.text == "SELECT name FROM t WHERE name LIKE 'a%'" and not select.placeholders
    assert copy_csv(select).startswith("COPY (SELECT name FROM t WHERE name LIKE 'a%%'")


def test_request_parameters_are_typed_defaulted_and_refused_by_name() -> None:
    catalogue = load_catalogue(REPO_DATASETS)
    declared = catalogue.get("observations").parameters
    assert parse_request(declared, {"start_date": "2025-01-01", "end_date": "2025-01-31"}) == {
        "start_date": "2025-01-01",
        "end_date": "2025-01-31",
    }
    for raw, message in [
        ({"start_date": "2025-01-01"}, "parameter 'end_date' is required"),
        ({"start_date": "yesterday", "end_date": "2025-01-01"}, "parameter 'start_date' must be a date"),
        ({"start_date": 20250101, "end_date": "2025-01-01"}, "parameter 'start_date' must be a date"),
        ({"start_date": "2025-01-01", "end_date": "2025-01-01", "limit": 5}, "unknown parameter 'limit'"),
    ]:
        with pytest.raises(InvalidRequest, match=message):
            parse_request(declared, raw)


def test_a_dataset_outside_the_callers_groups_does_not_exist_for_them() -> None:
    catalogue = load_catalogue(REPO_DATASETS)
    with pytest.raises(DatasetNotFound):
        catalogue.runnable("agency", Caller(user_id="bob", groups=("analyst",)))
    assert catalogue.runnable("agency", Caller(user_id="root", is_admin=True)).name == "agency"
