"""The export's per-row shortcuts write exactly what the general rules write, for hostile values too.

A CSV line joined without the ``csv`` module must be the line ``csv.writer`` writes for the
same cells, and the one-function projection must read what ``extract`` reads, path by path.
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.exports.archive import ArchiveStats, CsvTable, write_ads, write_csv
from exporter.exports.fields import extract, projector
from exporter.output.cells import csv_cell, csv_line
from exporter.output.zipstream import ZipStream


def written_by_csv_module(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_cell(v) for v in values])
    return buffer.getvalue()


HOSTILE_ROWS: list[list[Any]] = [
    ["plain", 1, 2.5, None, True, False],
    ['say "hi"', "a,b", "line\nbreak", "carriage\rreturn", "crlf\r\n", ""],
    ["=1+1", "+61", "-2", "@SUM(A1)", "\tcmd", "\rx"],
    [-3, -0.0, 1e300, 1.5e-7, 10**40, -(10**25)],
    [{"w": "1080", "q": 'a"b'}, ["=x", "y,z"], {"nested": {"list": [1, None, "\n"]}}, [], {}],
    ["ünïcødé", "日本語", "emoji 🙂", "\u2028sep", "nul\x00byte", " spaced "],
    [""],
    ["", ""],
    [None],
    [],
    ['"'],
    [","],
    ["only"],
]


@pytest.mark.parametrize("values", HOSTILE_ROWS)
def test_a_joined_csv_line_is_the_line_the_csv_module_writes(values: list[Any]) -> None:
    assert csv_line(values) == written_by_csv_module(values)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.sampled_from(list("ab,\"\r\n=+-@\t '\x00é日🙂")) | st.characters(), max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(JSON_VALUES, max_size=7))
def test_any_row_of_json_values_gives_the_csv_modules_line(values: list[Any]) -> None:
    assert csv_line(values) == written_by_csv_module(values)


KEYS = st.sampled_from(["a", "b", "c"])
DOCUMENTS = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=10,
)
PATHS = st.lists(st.lists(KEYS, min_size=1, max_size=4).map(".".join), min_size=1, max_size=5, unique=True)


@settings(max_examples=400, deadline=None)
@given(DOCUMENTS, PATHS)
def test_the_projection_reads_what_extract_reads_in_request_order(document: Any, paths: list[str]) -> None:
    projected = projector(paths)(document)
    assert list(projected) == paths
    assert projected == {path: extract(document, path) for path in paths}


def test_paths_that_look_like_code_are_only_keys() -> None:
    paths = ["x'] or __import__('os')#", "a.b}", "{p0}", "fallback"]
    document = {"x'] or __import__('os')#": 1, "a": {"b}": [2]}, "{p0}": "t", "fallback": None}
    assert projector(paths)(document) == {path: extract(document, path) for path in paths}


def test_the_csv_table_of_hostile_rows_reads_back_as_the_cells(tmp_path: Any) -> None:
    # GIVEN ads whose fields hold every kind of troublesome value
    fields = [f"f{i}" for i in range(7)]
    rows = [(f"obs-{n}", {f"f{i}": v for i, v in enumerate(values)}) for n, values in enumerate(HOSTILE_ROWS)]
    sink = io.BytesIO()
    zip_ = ZipStream(sink)
    table = CsvTable(fields)

    # WHEN the ads and the table are written in one pass
    write_ads(zip_, rows, fields, images=None, stats=ArchiveStats(), on_row=lambda _n: None, table=table)
    write_csv(zip_, table)
    zip_.close()
    table.close()

    # THEN the CSV is, byte for byte, what the csv module writes for those cells
    expected = written_by_csv_module(fields) + "".join(
        written_by_csv_module([document.get(f) for f in fields]) for _id, document in rows
    )
    text = zipfile.ZipFile(io.BytesIO(sink.getvalue())).read("all_data.csv").decode("utf-8")
    assert text == expected
    assert list(csv.reader(io.StringIO(text, newline="")))[3][2] == "'-2"


def test_entries_of_mixed_name_lengths_and_methods_read_back_with_their_crcs() -> None:
    # GIVEN entries whose names differ in length and script, stored and deflated, around a streamed one
    sink = io.BytesIO()
    zip_ = ZipStream(sink)
    entries = {f"ads/{'x' * n}/data.json": bytes([n]) * (n * 97) for n in range(1, 40, 3)}
    entries["ads/ünïcødé-日本/data.json"] = "é".encode() * 3000
    for number, (name, data) in enumerate(entries.items()):
        zip_.write_bytes(name, data, compress=number % 2 == 0)
    with zip_.open("all_data.csv") as entry:
        entry.write(b"a,b\r\n" * 1000)
    zip_.write_bytes("ads/after/data.json", b"{}", compress=False)
    zip_.close()

    # THEN an unzip tool finds every entry, its bytes and a matching CRC
    archive = zipfile.ZipFile(io.BytesIO(sink.getvalue()))
    assert archive.testzip() is None
    assert {name: archive.read(name) for name in entries} == entries
    assert archive.read("all_data.csv") == b"a,b\r\n" * 1000
    assert archive.namelist()[-1] == "ads/after/data.json"
