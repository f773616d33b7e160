"""A capture's CSV row: (timestamp, channel, event, user, data), every identity masked, cells neutralised."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from ..output.cells import csv_cell, neutralise
from .masking import Masker

CSV_HEADER = ("timestamp", "channel", "event", "user", "data")
# Where a NEF event-exposure message names its event type and its subscriber, in that order.
EVENT_KEYS = ("event", "eventType", "type", "monitoringType", "notificationType")
USER_KEYS = ("supi", "gpsi", "pei", "imsi", "msisdn", "externalId", "imei", "ueIpv4Addr", "ueIpv6Addr")


def rfc3339_ms(epoch_seconds: float) -> str:
    """``2026-11-22T10:00:00.123Z`` (milliseconds truncated; one call per captured message)."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def capture_row(masker: Masker, channel: bytes | str, payload: bytes | str, received: float) -> list[str]:
    """One CSV row (timestamp, channel, event, user, data) with every identity masked.

    A JSON object gives its event type and subscriber from the first of ``EVENT_KEYS`` and
    ``USER_KEYS`` present; the rest of it, masked, is ``data``. Anything else is kept, masked,
    with an empty event.
    """
    channel_text = masker.mask_text(_text(channel))
    event, user, data = "", "", None
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        document = _NOT_JSON
    if document is _NOT_JSON:
        text = _text(payload)
        user = masker.first_identity(text) or ""
        data = masker.mask_text(text)
    elif isinstance(document, dict):
        rest = dict(document)
        for key in EVENT_KEYS:
            if isinstance(rest.get(key), str):
                event = masker.mask_text(rest.pop(key))
                break
        for key in USER_KEYS:
            value = rest.get(key)
            if value not in (None, "") and not isinstance(value, dict | list):
                user = masker.mask_whole(rest.pop(key), key)
                break
        else:
            user = masker.first_identity(_text(payload)) or ""
        data = masker.mask_json(rest)
    else:
        user = masker.first_identity(_text(payload)) or ""
        data = masker.mask_json(document)
    return [rfc3339_ms(received), neutralise(channel_text), neutralise(event), neutralise(user), csv_cell(data)]


_NOT_JSON = object()
