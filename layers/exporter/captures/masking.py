"""Keyed pseudonyms for subscriber identities in captured messages (DESIGN.md invariant 6).

Every identity (IMSI/SUPI, GPSI/MSISDN, IMEI/PEI, IPv4 and IPv6 addresses, and the values
of configured JSON keys) is replaced, wherever it appears, by ``anon-<16 hex>``: the first
64 bits of HMAC-SHA256 under a key from Secrets Manager. The HMAC input is the identity's
canonical form (kind and value: ``imsi:001010123456789`` whether it was written
``imsi-001010123456789``, a bare 15-digit number or a JSON integer), prefixed by a salt: the
capture's id by default, so pseudonyms link within one capture only, or nothing when
captures are configured to link, so the same subscriber has the same pseudonym in every
capture. Without the key a pseudonym cannot be reversed or recomputed.

Masking is on every captured message's path, so it does the least it can with the same
result: text that cannot hold an identity (no five digits in a row, at sign, three dots, or
IPv6 colons) skips the identity patterns; longer text is masked run by run between characters
no identity reaches across; and bounded caches keep pseudonyms, masked strings and what each
JSON key means, since a subscriber's values repeat from message to message.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

PSEUDONYM_PREFIX = "anon-"
PSEUDONYM_HEX = 16

DEFAULT_JSON_KEYS = (
    "supi",
    "gpsi",
    "pei",
    "imsi",
    "msisdn",
    "imei",
    "imeisv",
    "externalId",
    "ueIpv4Addr",
    "ueIpv6Addr",
    "ueIpv6Prefix",
    "ipv4Addr",
    "ipv6Addr",
    "ipv6Prefix",
    "ueIpAddr",
)

# One pass over a string finds every candidate; the named group says which kind it is.
# Prefixed forms come first so "imsi-<15 digits>" is one identity, not a prefix and a number.
_IDENTITY = re.compile(
    r"""
      (?P<imsi>\bimsi-(?P<imsi_v>[0-9]{5,15})(?![0-9]))
    | (?P<nai>\bnai-(?P<nai_v>[^\s"',;<>]+@[^\s"',;<>]+))
    | (?P<msisdn>\bmsisdn-(?P<msisdn_v>[0-9]{5,15})(?![0-9]))
    | (?P<extid>\bextid-(?P<extid_v>[^\s"',;<>]+@[^\s"',;<>]+))
    | (?P<imeisv>\bimeisv-(?P<imeisv_v>[0-9]{16})(?![0-9]))
    | (?P<imei>\bimei-(?P<imei_v>[0-9]{15})(?![0-9]))
    | (?P<ipv6>(?<![0-9A-Za-z.])
         (?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{0,4})
         (?![0-9A-Fa-f:]))
    | (?P<ipv4>(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9]))
    | (?P<e164>(?<![0-9A-Za-z+])\+(?P<e164_v>[0-9]{7,15})(?![0-9]))
    | (?P<bare>(?<![0-9])(?P<bare_v>[0-9]{15})(?![0-9]))
    """,
    re.VERBOSE,
)
# The identity patterns take in, and look behind or ahead at, only word characters, dots,
# colons, plus and minus signs; a NAI or an external id (they need an at sign) anything but
# white space and "',;<>. So they find the same identities in each run of those characters
# as in the whole text: runs are masked, and kept, on their own (a subscriber's address or id
# recurs inside many different strings: URIs, subscription ids, free text).
_APART_WITH_AT = re.compile(r"""[^\s"',;<>]+""")
_APART = re.compile(r"[\w.:+-]+")
# Every identity needs one of these; text with none of them is kept as it is without the regex.
_FIVE_DIGITS = re.compile(r"[0-9]{5}")
# The caches are bounded (memory must not grow with the capture): a full cache starts over, so
# values that stop coming (one-off timestamps, subscribers gone) make room for those that repeat.
_CACHED_AT_MOST = 100_000
_CACHED_TEXT_LENGTH = 64  # longer strings (whole payloads) are masked each time, not kept
_KIND_OF_KEY = {"supi": "imsi", "imsi": "imsi", "gpsi": "msisdn", "msisdn": "msisdn", "pei": "imei", "imei": "imei"}
# A JSON integer of exactly 15 digits is read as an IMSI.
_BARE_LOW, _BARE_HIGH = 10**14, 10**15
_K = TypeVar("_K")
_V = TypeVar("_V")


def _may_hold_identity(text: str) -> bool:
    """False only when no identity can be found in ``text`` (a guard before the identity regex).

    Every identity needs one of: five digits in a row (an IMSI, MSISDN, IMEI or IMEISV with or
    without its prefix, an E.164 number, a bare 15-digit number), an at sign (a NAI, an external
    id), three dots (an IPv4 address), two colons in a row or six colons (an IPv6 address: one
    without ``::`` has eight groups, or six and an IPv4 tail).
    """
    return (
        "@" in text
        or "::" in text
        or text.count(".") >= 3
        or text.count(":") >= 6
        or _FIVE_DIGITS.search(text) is not None
    )


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    """Keep ``value`` under ``key``; a full cache is emptied first."""
    if len(cache) >= _CACHED_AT_MOST:
        cache.clear()
    cache[key] = value


def _ipv6(text: str) -> str | None:
    """The compressed address, when ``text`` is one worth masking (not ``std::x`` or a clock)."""
    if len(text) < 6 or sum(1 for group in text.split(":") if group) < 2:
        return None
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return None


def _canonical(match: re.Match[str]) -> tuple[int, str] | None:
    """(offset of the identity in the match, ``kind:value``), or None when it is not one after all."""
    kind = match.lastgroup
    if kind in ("imsi", "msisdn", "imei", "imeisv", "nai", "extid", "e164", "bare"):
        value = match.group(f"{kind}_v")
        if kind == "e164":
            return 0, f"msisdn:{value}"
        if kind == "bare":  # a bare 15-digit number is read as an IMSI
            return 0, f"imsi:{value}"
        if kind in ("nai", "extid"):
            return 0, f"{kind}:{value.lower()}"
        return 0, f"{kind}:{value}"
    text = match.group(0)
    if kind == "ipv4":
        try:
            return 0, f"ip:{ipaddress.IPv4Address(text).compressed}"
        except ValueError:
            return None
    # An IPv6 candidate may have swallowed a "label:" before the address ("ipv6:2001:db8::1").
    for offset in [0] + [i + 1 for i, c in enumerate(text) if c == ":"]:
        address = _ipv6(text[offset:])
        if address is not None:
            return offset, f"ip:{address}"
    return None


@dataclass(frozen=True, slots=True)
class _Key:
    """What a JSON key means to masking: its own masked text, and whether its value is masked whole."""

    name: str
    whole: bool
    hint: str | None  # the identity kind the key names (``msisdn``), for digits masked whole


class Masker:
    """Pseudonymises identities in text and in JSON documents; holds the key, never logs."""

    def __init__(self, key: bytes, *, salt: bytes = b"", json_keys: Iterable[str] = DEFAULT_JSON_KEYS) -> None:
        if len(key) < 16:
            raise ValueError("the masking key must be at least 16 bytes")
        self._key = key
        self._salt = salt
        self._json_keys = frozenset(k.lower() for k in json_keys)
        # Bounded caches: a subscriber's identities, values and keys repeat from message to message.
        self._cache: dict[str, str] = {}  # canonical identity -> pseudonym
        self._texts: dict[str, str] = {}  # short string -> its masked text
        self._wholes: dict[tuple[str | None, str], str] = {}  # (kind its key names, string) -> pseudonym
        self._keys: dict[str, _Key] = {}

    def for_capture(self, capture_id: str, *, link_across_captures: bool) -> Masker:
        """A masker salted with ``capture_id`` unless pseudonyms link across captures."""
        return Masker(self._key, salt=b"" if link_across_captures else capture_id.encode(), json_keys=self._json_keys)

    def pseudonym(self, canonical: str) -> str:
        cached = self._cache.get(canonical)
        if cached is None:
            digest = hmac.new(self._key, self._salt + b"\x00" + canonical.encode("utf-8"), hashlib.sha256)
            cached = PSEUDONYM_PREFIX + digest.hexdigest()[:PSEUDONYM_HEX]
            _remember(self._cache, canonical, cached)
        return cached

    def is_masked_key(self, key: str) -> bool:
        return self._json_key(key).whole

    def _json_key(self, key: str) -> _Key:
        known = self._keys.get(key)
        if known is None:
            lower = key.lower()
            known = _Key(self.mask_text(key), lower in self._json_keys, _KIND_OF_KEY.get(lower))
            _remember(self._keys, key, known)
        return known

    def _replace(self, match: re.Match[str]) -> str:
        found = _canonical(match)
        if found is None:
            return match.group(0)
        offset, canonical = found
        return match.group(0)[:offset] + self.pseudonym(canonical)

    def mask_text(self, text: str) -> str:
        """``text`` with every identity in it replaced by its pseudonym."""
        masked = self._texts.get(text)
        if masked is None:
            if _may_hold_identity(text):
                masked = (_APART_WITH_AT if "@" in text else _APART).sub(self._mask_piece, text)
            else:
                masked = text
            if len(text) <= _CACHED_TEXT_LENGTH:
                _remember(self._texts, text, masked)
        return masked

    def _mask_piece(self, piece: re.Match[str]) -> str:
        """A piece of text no identity reaches out of, masked (and kept, if short)."""
        text = piece.group()
        masked = self._texts.get(text)
        if masked is None:
            masked = _IDENTITY.sub(self._replace, text) if _may_hold_identity(text) else text
            if len(text) <= _CACHED_TEXT_LENGTH:
                _remember(self._texts, text, masked)
        return masked

    def first_identity(self, text: str) -> str | None:
        """The pseudonym of the first identity in ``text``, if any."""
        if not _may_hold_identity(text):
            return None
        for match in _IDENTITY.finditer(text):
            found = _canonical(match)
            if found is not None:
                return self.pseudonym(found[1])
        return None

    def mask_whole(self, value: Any, key: str | None = None) -> str:
        """A configured key's value, replaced whole (an identity keeps its canonical pseudonym).

        Digits under a key that names their kind (``"msisdn": 33612345678``) are that kind.
        """
        return self._whole(value, _KIND_OF_KEY.get((key or "").lower()))

    def _whole(self, value: Any, hint: str | None) -> str:
        if type(value) is not str:
            return self._whole_uncached(value, hint)
        cached = self._wholes.get((hint, value))
        if cached is None:
            cached = self._whole_uncached(value, hint)
            _remember(self._wholes, (hint, value), cached)
        return cached

    def _whole_uncached(self, value: Any, hint: str | None) -> str:
        if isinstance(value, bool) or value is None:
            return self.pseudonym(f"value:{value}")
        text = str(value)
        match = _IDENTITY.fullmatch(text)
        found = _canonical(match) if match else None
        canonical = found[1] if found and found[0] == 0 else None
        if canonical is None and text.isdigit():
            if hint == "imei" and len(text) == 16:
                hint = "imeisv"
            canonical = f"{hint or 'imsi'}:{text}" if hint or len(text) == 15 else None
        return self.pseudonym(canonical or f"value:{text}")

    def mask_json(self, value: Any) -> Any:
        """A copy of a parsed JSON value with every identity masked (keys, strings, 15-digit integers)."""
        kind = type(value)  # the exact types a JSON parser gives first, the general rules after
        if kind is str:
            return self.mask_text(value)
        if kind is dict:
            return self._mask_object(value)
        if kind is list:
            return [self.mask_json(item) for item in value]
        if kind is int:
            return self.pseudonym(f"imsi:{abs(value)}") if _BARE_LOW <= abs(value) < _BARE_HIGH else value
        if kind is float or kind is bool or value is None:
            return value
        return self._mask_subclass(value)

    def _mask_object(self, value: dict[Any, Any]) -> dict[Any, Any]:
        masked: dict[Any, Any] = {}
        keys, texts, wholes = self._keys, self._texts, self._wholes  # the common cases inline
        for key, item in value.items():
            known = keys.get(key)
            if known is None:
                if not isinstance(key, str):
                    masked[key] = self.mask_json(item)
                    continue
                known = self._json_key(key)
            if type(item) is str:
                if known.whole:
                    masked[known.name] = wholes.get((known.hint, item)) or self._whole(item, known.hint)
                else:
                    masked[known.name] = texts.get(item) or self.mask_text(item)
            elif known.whole:
                masked[known.name] = self._mask_under_key(item, known.hint)
            else:
                masked[known.name] = self.mask_json(item)
        return masked

    def _mask_under_key(self, item: Any, hint: str | None) -> Any:
        """The value of a configured key: replaced whole, or each item of a list; an object is walked."""
        if isinstance(item, dict):
            return self.mask_json(item)
        if isinstance(item, list):
            return [self._whole(i, hint) if not isinstance(i, dict | list) else self.mask_json(i) for i in item]
        return self._whole(item, hint) if item is not None else None

    def _mask_subclass(self, value: Any) -> Any:
        """The general rules, for values of other types than a JSON parser gives (subclasses)."""
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, dict):
            return self._mask_object(value)
        if isinstance(value, list):
            return [self.mask_json(item) for item in value]
        if isinstance(value, int) and not isinstance(value, bool) and _BARE_LOW <= abs(value) < _BARE_HIGH:
            return self.pseudonym(f"imsi:{abs(value)}")
        return value
