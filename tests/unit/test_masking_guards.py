"""Masking's shortcuts never let an identity through.

Text that cannot hold an identity is kept without running the identity patterns; long text is
masked piece by piece between characters no identity spans; repeated values come from bounded
caches. Each identity here has only the least that makes it one (the fewest digits, dots or
colons, no digit at all in a NAI), or sits against a character the text is cut at, so a shortcut
that skipped it would leave it in the output.
"""

from __future__ import annotations

import enum
import re
from collections import OrderedDict

import pytest

import exporter.captures.masking as masking
from exporter.captures.masking import Masker
from exporter.captures.rows import rfc3339_ms

KEY = b"k" * 32
PSEUDONYM = re.compile(r"anon-[0-9a-f]{16}")


@pytest.fixture
def masker() -> Masker:
    return Masker(KEY).for_capture("capture-1", link_across_captures=False)


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("UE imsi-00101 seen", "00101"),  # the shortest prefixed IMSI: five digits, nothing else
        ("call msisdn-33612 now", "33612"),
        ("call +3361234 now", "3361234"),  # the shortest E.164 number: seven digits
        ("from 10.0.0.9 now", "10.0.0.9"),  # an IPv4 address: three dots, no five digits in a row
        ("from fe80::1 now", "fe80::1"),  # an IPv6 address with ::, two colons in all
        ("from 1:2:3:4:5:6:7:8 now", "1:2:3:4:5:6:7:8"),  # eight groups: seven colons, no ::
        ("from 64:ff9b:1:2:3:4:10.0.0.9 now", "64:ff9b:1:2:3:4:10.0.0.9"),  # six groups and an IPv4 tail
        ("user nai-alice@realm.example here", "alice@realm.example"),  # no digit at all
        ("af extid-bob@af.example here", "bob@af.example"),
    ],
)
def test_an_identity_with_the_least_that_makes_it_one_is_masked(masker: Masker, text: str, raw: str) -> None:
    masked = masker.mask_text(text)
    assert raw not in masked
    assert PSEUDONYM.search(masked), masked


@pytest.mark.parametrize(
    "identity",
    ["imsi-001010123456789", "10.45.1.7", "2001:db8::7", "+33612345678", "001010123456789", "imei-490154203237518"],
)
@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("http://", "/callbacks"),
        ("[", "]:443"),
        ("a/", "/b"),
        ("x=", "&y=1"),
        ("(", ")"),
        ('"', '"'),
        ("é ", " ß"),
        ("\u00a0", "\u2028"),
    ],
)
def test_an_identity_against_any_character_the_text_is_cut_at_is_masked(
    masker: Masker, identity: str, before: str, after: str
) -> None:
    # GIVEN an identity inside a longer string, right against the characters around it
    text = f"{before}{identity}{after}"
    # THEN it is masked there exactly as it is alone, and what surrounds it is kept
    assert masker.mask_text(text) == before + masker.mask_text(identity) + after
    assert PSEUDONYM.fullmatch(masker.mask_text(identity))


def test_a_nai_spanning_a_slash_is_masked_whole(masker: Masker) -> None:
    # A NAI's user and realm may hold a slash: with an at sign in the text, it is not cut there.
    nai = "nai-alice/ops@realm.example/path"
    masked = masker.mask_text(f"see {nai} now")
    assert masked == f"see {masker.mask_text(nai)} now"
    assert "alice" not in masked and "realm" not in masked


def test_what_looks_around_an_identity_still_decides_it(masker: Masker) -> None:
    # Characters the text is not cut at keep deciding: a dotted version and a word before a prefix.
    assert masker.mask_text("v1.10.0.0.9 build") == "v1.10.0.0.9 build"
    assert masker.mask_text("x_imsi-00101") == "x_imsi-00101"
    assert masker.mask_text("ts 2026-11-22T10:00:00.123Z") == "ts 2026-11-22T10:00:00.123Z"


def test_a_long_text_is_masked_like_its_pieces(masker: Masker) -> None:
    pieces = ["UE imsi-001010123456789 at", "http://10.45.1.7:8080/cb", "from [2001:db8::7]:443,", "call +33612345678."]
    text = " ".join(pieces * 5)  # longer than the strings kept in the cache
    assert masker.mask_text(text) == " ".join(masker.mask_text(piece) for piece in pieces * 5)
    for raw in ("001010123456789", "10.45.1.7", "2001:db8::7", "33612345678"):
        assert raw not in masker.mask_text(text)


@pytest.mark.parametrize(
    ("number", "masked"),
    [(10**14, True), (10**15 - 1, True), (-(10**14), True), (10**14 - 1, False), (10**15, False), (0, False)],
)
def test_a_json_integer_is_masked_when_it_has_exactly_fifteen_digits(masker: Masker, number: int, masked: bool) -> None:
    result = masker.mask_json({"n": number})["n"]
    if masked:
        assert result == masker.mask_text(f"imsi-{abs(number)}")
    else:
        assert result == number


def test_values_of_other_types_than_a_json_parser_gives_are_masked_too(masker: Masker) -> None:
    class Text(str):
        pass

    class Number(enum.IntEnum):
        IMSI = 310150123456789

    document = OrderedDict([(Text("supi"), Text("imsi-001010123456789")), ("n", Number.IMSI), ("t", Text("10.0.0.9"))])
    masked = masker.mask_json({"outer": document, 7: [Text("+33612345678"), True, None, 1.5]})
    assert masked["outer"]["supi"] == masker.mask_text("imsi-001010123456789")
    assert masked["outer"]["n"] == masker.mask_text("imsi-310150123456789")
    assert masked["outer"]["t"] == masker.mask_text("10.0.0.9")
    assert masked[7] == [masker.mask_text("+33612345678"), True, None, 1.5]


def test_a_configured_key_masks_its_values_whole_each_time(masker: Masker) -> None:
    # The same value under different keys: whole under a configured key, as text elsewhere.
    for _ in range(2):  # the second time from the caches
        document = {"msisdn": "33612345678", "note": "33612345678", "pei": ["4901542032375181", {"x": 1}]}
        masked = masker.mask_json(document)
        assert masked["msisdn"] == masker.mask_text("msisdn-33612345678")
        assert masked["note"] == "33612345678"  # eleven bare digits are no identity in free text
        assert masked["pei"] == [masker.mask_text("imeisv-4901542032375181"), {"x": 1}]


def test_pseudonyms_stay_the_same_when_the_caches_start_over(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN caches far smaller than the number of subscribers, so they fill and start over many times
    monkeypatch.setattr(masking, "_CACHED_AT_MOST", 8)
    small = Masker(KEY).for_capture("capture-1", link_across_captures=False)
    identities = [f"imsi-00101{n:010d}" for n in range(50)]
    first = [small.mask_json({"supi": i, "note": f"UE {i} at 10.0.{n}.1"}) for n, i in enumerate(identities)]
    # THEN each subscriber keeps its pseudonym, the one a masker that never evicted gives
    fresh = Masker(KEY).for_capture("capture-1", link_across_captures=False)
    for n, identity in enumerate(identities):
        again = small.mask_json({"supi": identity, "note": f"UE {identity} at 10.0.{n}.1"})
        assert again == first[n] == fresh.mask_json({"supi": identity, "note": f"UE {identity} at 10.0.{n}.1"})
        assert PSEUDONYM.fullmatch(again["supi"])


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (0.5, "1970-01-01T00:00:00.500Z"),
        (0.0019994, "1970-01-01T00:00:00.001Z"),  # milliseconds are cut, not rounded
        (1.9999996, "1970-01-01T00:00:02.000Z"),  # to the microsecond first, as the clock reads
        (1e9 + 0.123, "2001-09-09T01:46:40.123Z"),
    ],
)
def test_a_row_is_stamped_in_utc_to_the_millisecond(epoch: float, text: str) -> None:
    assert rfc3339_ms(epoch) == text
