"""The archive: CSV cells safe in a spreadsheet, and a ZIP64 stream any unzip tool reads."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from exporter.exports.archive import ArchiveStats, csv_cell, neutralise, safe_name, write_ads, write_csv
from exporter.output.zipstream import ZipStream


class Collect:
    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def write(self, data: bytes) -> None:
        self.buffer.write(data)

    def open(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(io.BytesIO(self.buffer.getvalue()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+61 400 000", "'+61 400 000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Sponsored", "Sponsored"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised(text: str, expected: str) -> None:
    assert neutralise(text) == expected
    assert csv_cell(text) == expected


def test_cells_encode_numbers_plainly_and_structures_as_json() -> None:
    assert csv_cell(None) == ""
    assert csv_cell(True) == "true"
    assert csv_cell(-3) == "-3"
    assert csv_cell(0.25) == "0.25"
    assert csv_cell({"w": "1080"}) == '{"w":"1080"}'
    assert csv_cell(["=1+1"]) == '["=1+1"]'


def test_entry_names_cannot_escape_their_folder() -> None:
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("1759583019000.e60b8866-daa0") == "1759583019000.e60b8866-daa0"
    assert "/" not in safe_name("a/b")


def test_streamed_and_whole_entries_read_back_identically() -> None:
    # GIVEN a stream with a large streamed entry, a JSON entry and a stored image
    sink = Collect()
    archive = ZipStream(sink)
    lines = [f"{i},row {i}\r\n".encode() for i in range(50_000)]
    with archive.open("all_data.csv") as entry:
        for line in lines:
            entry.write(line)
    archive.write_bytes("ads/a/data.json", b'{"x": 1}')
    archive.write_bytes("ads/a/image_1.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", compress=False)
    archive.close()
    # THEN zipfile verifies every CRC and gets the same bytes back
    with sink.open() as zf:
        assert zf.testzip() is None
        assert zf.read("all_data.csv") == b"".join(lines)
        assert json.loads(zf.read("ads/a/data.json")) == {"x": 1}
        assert zf.getinfo("ads/a/image_1.jpg").compress_type == zipfile.ZIP_STORED
    assert archive.bytes_written == len(sink.buffer.getvalue())


def test_more_entries_than_classic_zip_allows_use_zip64_counts() -> None:
    sink = Collect()
    archive = ZipStream(sink)
    for i in range(70_000):
        archive.write_bytes(f"ads/{i}/data.json", b"{}")
    archive.close()
    with sink.open() as zf:
        names = zf.namelist()
    assert len(names) == 70_000
    assert names[-1] == "ads/69999/data.json"


def test_a_second_entry_cannot_start_while_one_streams() -> None:
    archive = ZipStream(Collect())
    with archive.open("all_data.csv"), pytest.raises(ValueError, match="still being written"):
        archive.write_bytes("x", b"")


def test_csv_and_ad_folders_follow_the_seed_layout() -> None:
    rows = [
        ("obs-1", {"observer": {"uuid": "u1"}, "tags": ["a", "b"], "media": ["k/1.jpg", "k/2.png"]}),
        ("obs-2", {"observer": {"uuid": "=cmd"}, "tags": [], "media": ["k/3.jpg"]}),
    ]
    images = {"k/1.jpg": b"one", "k/3.jpg": b"three"}
    sink = Collect()
    archive = ZipStream(sink)
    stats = ArchiveStats()
    write_ads(archive, rows, ["observer.uuid", "tags"], images=images.get, stats=stats, on_row=lambda n: None)
    assert write_csv(archive, rows, ["observer.uuid", "tags"]) == 2
    archive.close()
    with sink.open() as zf:
        table = list(csv.reader(io.StringIO(zf.read("all_data.csv").decode())))
        assert table == [["observer.uuid", "tags"], ["u1", '["a","b"]'], ["'=cmd", "[]"]]
        assert json.loads(zf.read("ads/obs-1/data.json")) == {"observer.uuid": "u1", "tags": ["a", "b"]}
        assert zf.read("ads/obs-1/image_1.jpg") == b"one"
        assert zf.read("ads/obs-2/image_1.jpg") == b"three"
        assert "ads/obs-1/image_2.png" not in zf.namelist()
    assert stats.missing_images == [{"observation_id": "obs-1", "key": "k/2.png"}]
    assert stats.images == 2
