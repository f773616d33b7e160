"""CSV cell rules shared by every writer: formula neutralising, plain values, JSON for the rest.

And :class:`CsvText`, the buffered CSV writer every kind uses: rows are formatted into a
small text buffer and handed on in chunks of about ``flush_bytes``, so memory holds one
chunk whatever the number of rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import orjson

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FLUSH_BYTES = 256 * 1024


def to_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; orjson for speed, the standard library for what orjson refuses (huge ints)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def neutralise(text: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula (CSV injection)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: Any) -> str:
    """One CSV cell: text as is (neutralised), numbers plainly, lists and objects as JSON."""
    plain = _PLAIN.get(type(value))
    if plain is not None:
        return plain(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return neutralise(to_json(value).decode("utf-8"))


# The exact types orjson gives, looked up before the general rules (a subclass takes the long way).
_PLAIN: dict[type, Callable[[Any], str]] = {
    str: neutralise,
    int: repr,
    float: repr,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _value: "",
}


class CsvText:
    """CSV rows (``\\r\\n`` line ends) into ``write`` as UTF-8, a chunk at a time."""

    def __init__(self, write: Callable[[bytes], Any], *, flush_bytes: int = FLUSH_BYTES) -> None:
        self._write, self._flush_bytes = write, flush_bytes
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def row(self, cells: Iterable[str]) -> bool:
        """Add one row; True when the buffer was handed on."""
        self._writer.writerow(cells)
        if self._buffer.tell() < self._flush_bytes:
            return False
        self.flush()
        return True

    def flush(self) -> None:
        """Hand on what is buffered (also when empty: a writer may count on one final write)."""
        self._write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()
