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
# Every prefix is one character: a text starts with one when its first character is in this set.
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)
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


def csv_line(values: Iterable[Any]) -> str:
    """One CSV line of ``csv_cell`` cells, ``\\r\\n`` ended: the text ``csv.writer`` writes for them.

    Most lines need no quoting, so their cells are joined as they are; a line where a cell
    holds a comma, a quote or a line break (or a lone empty cell) goes through ``csv.writer``.
    Text and numbers, the common cells, are formatted here; the rest by :func:`csv_cell`.
    """
    cells: list[str] = []
    for value in values:
        kind = type(value)
        if kind is str:
            cells.append("'" + value if value[:1] in _FORMULA_FIRST else value)
        elif kind is int or kind is float:
            cells.append(repr(value))
        else:
            cells.append(csv_cell(value))
    line = ",".join(cells)
    if line and line.count(",") == len(cells) - 1 and '"' not in line and "\r" not in line and "\n" not in line:
        return line + "\r\n"
    return _quoted_line(cells)


def _quoted_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


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

    def line(self, text: str) -> bool:
        """Add one line already in CSV form (from :func:`csv_line`); True when the buffer was handed on."""
        self._buffer.write(text)
        if self._buffer.tell() < self._flush_bytes:
            return False
        self.flush()
        return True

    def flush(self) -> None:
        """Hand on what is buffered (also when empty: a writer may count on one final write)."""
        self._write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()
