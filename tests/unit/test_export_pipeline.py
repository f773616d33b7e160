"""The export's one pass: images fetched ahead stay in row order and bounded; fast getters read what extract reads."""

from __future__ import annotations

import io
import random
import threading
import time
import zipfile

import pytest

from exporter.exports.archive import ArchiveStats, CsvTable, write_ads, write_csv
from exporter.exports.fields import extract, getter
from exporter.output.zipstream import ZipStream

DOCUMENTS = [
    {"a": {"b": {"c": 1}}},
    {"a": [{"b": {"c": 2}}, {"b": [{"c": 3}, {"d": 4}]}]},
    {"a": "text"},
    {"a": {"b": "x"}},
    {"a": None},
    {},
    {"a": {"b": [1, 2]}},
    {"a": {"b": {"c": [1, [2]]}}},
    {"a": [None, {"b": None}]},
    {"a": {"b": {"c": None}}},
]


@pytest.mark.parametrize("path", ["a", "a.b", "a.b.c", "a.b.c.d", "x.y"])
def test_the_fast_getters_read_what_extract_reads(path: str) -> None:
    get = getter(path)
    for document in DOCUMENTS:
        assert get(document) == extract(document, path), document


class Sink:
    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def write(self, data: bytes) -> None:
        self.buffer.write(data)


def test_images_fetched_ahead_are_written_in_row_order_with_a_bounded_number_in_flight() -> None:
    # GIVEN 200 ads with 0 to 3 images each, and a store that answers after a random delay
    rows = [(f"obs-{i}", {"id": i, "media": [f"k/{i}-{n}.jpg" for n in range(i % 4)]}) for i in range(200)]
    in_flight, most = 0, 0
    lock = threading.Lock()

    def fetch(key: str) -> bytes | None:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(random.random() / 500)
        with lock:
            in_flight -= 1
        return None if key == "k/7-2.jpg" else key.encode()

    sink, stats = Sink(), ArchiveStats()
    archive = ZipStream(sink)
    table = CsvTable(["id"])
    # WHEN the ads are written by a pool of 8 fetchers, the CSV deflated alongside
    write_ads(archive, rows, ["id"], images=fetch, stats=stats, on_row=lambda n: None, table=table, image_fetchers=8)
    assert write_csv(archive, table) == 200
    table.close()
    archive.close()
    # THEN every entry is where one at a time would have put it, and at most 8 fetches ran at once
    names = zipfile.ZipFile(io.BytesIO(sink.buffer.getvalue())).namelist()
    expected = []
    for observation_id, document in rows:
        expected.append(f"{observation_id}/data.json")
        media = enumerate(document["media"], 1)
        expected += [f"{observation_id}/image_{n}.jpg" for n, key in media if key != "k/7-2.jpg"]
    assert [n.removeprefix("ads/") for n in names] == [*expected, "all_data.csv"]
    assert stats.missing_images == [{"observation_id": "obs-7", "key": "k/7-2.jpg"}]
    assert most <= 8
    with zipfile.ZipFile(io.BytesIO(sink.buffer.getvalue())) as zf:
        assert zf.testzip() is None
        assert zf.read("all_data.csv").decode().splitlines()[:2] == ["id", "0"]
