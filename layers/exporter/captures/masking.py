"""Keyed pseudonyms for subscriber identities in captured messages (DESIGN.md invariant 6).

Every identity (IMSI/SUPI, GPSI/MSISDN, IMEI/PEI, IPv4 and IPv6 addresses, and the values
of configured JSON keys) is replaced, wherever it appears, by ``anon-<16 hex>``: the first
64 bits of HMAC-SHA256 under a key from Secrets Manager. The HMAC input is the identity's
canonical form (kind and value: ``imsi:001010123456789`` whether it was written
``imsi-001010123456789``, a bare 15-digit number or a JSON integer), prefixed by a salt: the
capture's id by default, so pseudonyms link within one capture only, or nothing when
captures are configured to link, so the same subscriber has the same pseudonym in every
capture. Without the key a pseudonym cannot be reversed or recomputed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable
from typing import Any

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
# A string without a digit, a colon or an at sign holds no identity this module knows (cheap pre-check).
_MAYBE = re.compile(r"[0-9:@]")
_DIGITS_15 = re.compile(r"[0-9]{15}")
# The caches are bounded (memory must not grow with the capture); only short strings are kept.
_CACHED_AT_MOST = 100_000
_CACHED_TEXT_LENGTH = 64
_KIND_OF_KEY = {"supi": "imsi", "imsi": "imsi", "gpsi": "msisdn", "msisdn": "msisdn", "pei": "imei", "imei": "imei"}


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


class Masker:
    """Pseudonymises identities in text and in JSON documents; holds the key, never logs."""

    def __init__(self, key: bytes, *, salt: bytes = b"", json_keys: Iterable[str] = DEFAULT_JSON_KEYS) -> None:
        if len(key) < 16:
            raise ValueError("the masking key must be at least 16 bytes")
        self._key = key
        self._salt = salt
        self._json_keys = frozenset(k.lower() for k in json_keys)
        self._cache: dict[str, str] = {}
        self._texts: dict[str, str] = {}  # masked text of short strings: a subscriber's values repeat
        self._masked_keys: dict[str, bool] = {}

    def for_capture(self, capture_id: str, *, link_across_captures: bool) -> Masker:
        """A masker salted with ``capture_id`` unless pseudonyms link across captures."""
        return Masker(self._key, salt=b"" if link_across_captures else capture_id.encode(), json_keys=self._json_keys)

    def pseudonym(self, canonical: str) -> str:
        cached = self._cache.get(canonical)
        if cached is None:
            digest = hmac.new(self._key, self._salt + b"\x00" + canonical.encode("utf-8"), hashlib.sha256)
            cached = PSEUDONYM_PREFIX + digest.hexdigest()[:PSEUDONYM_HEX]
            if len(self._cache) < _CACHED_AT_MOST:  # bounded: memory must not grow with the capture
                self._cache[canonical] = cached
        return cached

    def is_masked_key(self, key: str) -> bool:
        masked = self._masked_keys.get(key)
        if masked is None:
            masked = key.lower() in self._json_keys
            if len(self._masked_keys) < _CACHED_AT_MOST:
                self._masked_keys[key] = masked
        return masked

    def _replace(self, match: re.Match[str]) -> str:
        found = _canonical(match)
        if found is None:
            return match.group(0)
        offset, canonical = found
        return match.group(0)[:offset] + self.pseudonym(canonical)

    def mask_text(self, text: str) -> str:
        """``text`` with every identity in it replaced by its pseudonym."""
        if len(text) > _CACHED_TEXT_LENGTH:
            return _IDENTITY.sub(self._replace, text) if _MAYBE.search(text) else text
        masked = self._texts.get(text)
        if masked is None:
            masked = _IDENTITY.sub(self._replace, text) if _MAYBE.search(text) else text
            if len(self._texts) < _CACHED_AT_MOST:
                self._texts[text] = masked
        return masked

    def first_identity(self, text: str) -> str | None:
        """The pseudonym of the first identity in ``text``, if any."""
        if not _MAYBE.search(text):
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
        if isinstance(value, bool) or value is None:
            return self.pseudonym(f"value:{value}")
        text = str(value)
        match = _IDENTITY.fullmatch(text)
        found = _canonical(match) if match else None
        canonical = found[1] if found and found[0] == 0 else None
        if canonical is None and text.isdigit():
            hint = _KIND_OF_KEY.get((key or "").lower())
            if hint == "imei" and len(text) == 16:
                hint = "imeisv"
            canonical = f"{hint or 'imsi'}:{text}" if hint or len(text) == 15 else None
        return self.pseudonym(canonical or f"value:{text}")

    def mask_json(self, value: Any) -> Any:
        """A copy of a parsed JSON value with every identity masked (keys, strings, 15-digit integers)."""
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, dict):
            masked: dict[str, Any] = {}
            for key, item in value.items():
                name = self.mask_text(key) if isinstance(key, str) else key
                if isinstance(key, str) and self.is_masked_key(key) and not isinstance(item, dict | list):
                    masked[name] = self.mask_whole(item, key) if item is not None else None
                elif isinstance(key, str) and self.is_masked_key(key) and isinstance(item, list):
                    masked[name] = [
                        self.mask_whole(i, key) if not isinstance(i, dict | list) else self.mask_json(i) for i in item
                    ]
                else:
                    masked[name] = self.mask_json(item)
            return masked
        if isinstance(value, list):
            return [self.mask_json(item) for item in value]
        if isinstance(value, int) and not isinstance(value, bool) and _DIGITS_15.fullmatch(str(abs(value))):
            return self.pseudonym(f"imsi:{abs(value)}")
        return value
