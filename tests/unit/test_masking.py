"""Masking: every identity kind, wherever it appears, becomes a stable keyed pseudonym."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from bench.nef_events import EVENTS, event, messages, subscribers
from exporter.captures.masking import Masker
from exporter.captures.rows import CSV_HEADER, capture_row

KEY = b"k" * 32
PSEUDONYM = re.compile(r"^anon-[0-9a-f]{16}$")


@pytest.fixture
def masker() -> Masker:
    return Masker(KEY).for_capture("capture-1", link_across_captures=False)


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("imsi-001010123456789", "001010123456789"),
        ("001010123456789", "001010123456789"),
        ("msisdn-33612345678", "33612345678"),
        ("+33612345678", "33612345678"),
        ("imei-490154203237518", "490154203237518"),
        ("imeisv-4901542032375181", "4901542032375181"),
        ("10.45.1.7", "10.45.1.7"),
        ("2001:db8:0:1::abcd", "2001:db8:0:1::abcd"),
        ("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("nai-alice@realm.example", "alice@realm.example"),
        ("extid-bob@af.example", "bob@af.example"),
    ],
)
def test_each_identity_kind_is_replaced_by_a_pseudonym(masker: Masker, text: str, raw: str) -> None:
    masked = masker.mask_text(text)
    assert PSEUDONYM.match(masked), masked
    assert raw not in masked


def test_identities_inside_strings_are_found_and_the_rest_kept(masker: Masker) -> None:
    text = "UE imsi-001010123456789 at http://10.45.1.7:8080/cb from [2001:db8::7]:443, "
    text += "ipv6:2001:db8::8 call +33612345678."
    masked = masker.mask_text(text)
    for raw in ("001010123456789", "10.45.1.7", "2001:db8::7", "2001:db8::8", "33612345678"):
        assert raw not in masked
    assert masked.startswith("UE anon-") and ":8080/cb from [anon-" in masked and "]:443, ipv6:anon-" in masked


def test_things_that_are_not_identities_are_left_alone(masker: Masker) -> None:
    text = "at 2026-11-22T10:00:00.123+01:00 std::vector v1.2.3 version 1.2.3.999 cell 12345 ts 1763800000000"
    assert masker.mask_text(text) == text


def test_the_same_identity_has_one_pseudonym_whatever_its_spelling(masker: Masker) -> None:
    # GIVEN one IMSI written three ways (and one as a JSON integer), and one MSISDN written three ways
    imsi = {
        masker.mask_text("imsi-001010123456789"),
        masker.mask_text("001010123456789"),
        masker.mask_json({"supi": "imsi-001010123456789"})["supi"],
        masker.mask_json({"imsi": "001010123456789"})["imsi"],
    }
    assert len(imsi) == 1
    assert masker.mask_json({"n": 310150123456789})["n"] == masker.mask_text("imsi-310150123456789")
    msisdn = {
        masker.mask_text("msisdn-33612345678"),
        masker.mask_text("+33612345678"),
        masker.mask_json({"gpsi": 33612345678})["gpsi"],
    }
    assert len(msisdn) == 1
    # THEN different identities have different pseudonyms
    assert masker.mask_text("imsi-001010123456789") != masker.mask_text("imsi-001010123456788")


def test_pseudonyms_link_within_a_capture_and_only_across_captures_when_configured() -> None:
    base = Masker(KEY)
    one = base.for_capture("a", link_across_captures=False).mask_text("imsi-001010123456789")
    two = base.for_capture("b", link_across_captures=False).mask_text("imsi-001010123456789")
    assert one != two
    linked_a = base.for_capture("a", link_across_captures=True).mask_text("imsi-001010123456789")
    linked_b = base.for_capture("b", link_across_captures=True).mask_text("imsi-001010123456789")
    assert linked_a == linked_b
    other_key = Masker(b"x" * 32).for_capture("a", link_across_captures=True).mask_text("imsi-001010123456789")
    assert other_key != linked_a


def test_nested_json_keys_values_and_integers_are_masked(masker: Masker) -> None:
    document = {
        "supi": "imsi-001010123456789",
        "externalId": "alice@af.example",
        "list": [{"ueIpv4Addr": "10.0.0.9"}, "imei-490154203237518"],
        "imsi-001010123456780": {"deep": {"deeper": ["2001:db8::9", 310150123456789]}},
        "count": 42,
        "flag": True,
        "msisdn": 33612345678,
    }
    masked = masker.mask_json(document)
    text = json.dumps(masked)
    for raw in (
        "001010123456789",
        "alice@af.example",
        "10.0.0.9",
        "490154203237518",
        "001010123456780",
        "2001:db8::9",
        "310150123456789",
        "33612345678",
    ):
        assert raw not in text
    assert masked["count"] == 42 and masked["flag"] is True
    assert masked["supi"] == masker.mask_text("imsi-001010123456789")
    assert masked["msisdn"] == masker.mask_text("+33612345678")


def test_a_configured_key_is_masked_whole_even_when_it_is_no_known_identity() -> None:
    masker = Masker(KEY, json_keys=["customerRef"])
    masked = masker.mask_json({"customerRef": "ACME-42", "other": "ACME-42"})
    assert PSEUDONYM.match(masked["customerRef"])
    assert masked["other"] == "ACME-42"


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError):
        Masker(b"short")


def _row(masker: Masker, channel: str, payload: str | bytes) -> dict[str, str]:
    row = capture_row(masker, channel.encode(), payload if isinstance(payload, bytes) else payload.encode(), 0.5)
    return dict(zip(CSV_HEADER, row, strict=True))


def test_a_nef_message_becomes_timestamp_channel_event_user_and_masked_data(masker: Masker) -> None:
    ue = subscribers(1)[0]
    import random

    message = event("LOCATION_REPORTING", ue, random.Random(1))
    row = _row(masker, "broadcast:location_reporting", json.dumps(message))
    assert row["timestamp"] == "1970-01-01T00:00:00.500Z"
    assert row["channel"] == "broadcast:location_reporting"
    assert row["event"] == "LOCATION_REPORTING"
    assert row["user"] == masker.mask_text(ue.supi)
    data = json.loads(row["data"])
    assert "event" not in data and "supi" not in data
    assert data["gpsi"] == masker.mask_text(ue.gpsi)
    for raw in ue.raw():
        assert raw not in json.dumps(row)


def test_a_message_that_is_not_json_is_kept_masked_with_an_empty_event(masker: Masker) -> None:
    row = _row(masker, "broadcast:raw", "=HYPERLINK() UE imsi-001010123456789 at 10.1.2.3")
    assert row["event"] == ""
    assert row["user"] == masker.mask_text("imsi-001010123456789")
    assert row["data"].startswith("'=HYPERLINK() UE anon-")  # neutralised against formula injection
    assert "001010123456789" not in row["data"] and "10.1.2.3" not in row["data"]
    binary = _row(masker, "broadcast:raw", b"\xff\xfe imsi-001010123456789")
    assert "001010123456789" not in binary["data"]


def test_no_raw_identity_survives_a_stream_of_every_event_kind(masker: Masker) -> None:
    ues = subscribers(20)
    stream = messages(ues)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    seen = set()
    for _ in range(len(EVENTS) * 20):
        channel, text = next(stream)
        row = capture_row(masker, channel, text, 1.0)
        seen.add(row[2])
        writer.writerow(row)
    output = buffer.getvalue()
    assert seen == set(EVENTS)
    for ue in ues:
        for raw in ue.raw():
            assert raw not in output, raw
