"""A dataset's SQL: one SELECT with named ``%(param)s`` placeholders, and the COPY statements built from it.

A CKB task's ``select.sql`` is written as ``COPY (SELECT …) TO STDOUT WITH CSV HEADER``; it is
accepted as it is: the SELECT inside is what the dataset selects, and the service writes its
own COPY around it for the dataset's format.

Parameters never reach the SQL as text: COPY takes no bind parameters, so the statement is
made by psycopg2's ``cursor.mogrify``, which quotes each typed value as a literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# psycopg2's placeholders: named ``%(name)s``, positional ``%s``; ``%%`` is a literal percent sign.
_NAMED = re.compile(r"%\(([^)]*)\)s")
_PERCENT = re.compile(r"%(\([^)]*\)s|s|%)?")
_POSITIONAL = re.compile(r"%s\b")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_COPY = re.compile(r"\ACOPY\s*\((?P<select>.*)\)\s*TO\s+STDOUT\b(?P<options>.*)\Z", re.IGNORECASE | re.DOTALL)
_LEADING = re.compile(r"\A(?:SELECT|WITH|VALUES|TABLE)\b", re.IGNORECASE)
_DELETE = re.compile(r"\A(?:DELETE|WITH)\b", re.IGNORECASE)


class SqlProblem(ValueError):
    """What is wrong with a statement, in words an operator can act on."""


@dataclass(frozen=True)
class Statement:
    text: str  # the statement, without a trailing semicolon
    placeholders: frozenset[str]


def code_of(sql: str) -> str:
    """``sql`` with comments and quoted text blanked (same length), so its structure can be read."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        end = _skip(sql, i)
        if end == i:
            out.append(sql[i])
            i += 1
        else:
            out.append(" " * (end - i))
            i = end
    return "".join(out)


def _skip(sql: str, i: int) -> int:
    """The end of the comment, string, quoted identifier or dollar-quoted text starting at ``i``; ``i`` if none."""
    two = sql[i : i + 2]
    if two == "--":
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end
    if two == "/*":
        end = sql.find("*/", i + 2)
        return len(sql) if end < 0 else end + 2
    if sql[i] in "'\"":
        end = i + 1
        while (end := sql.find(sql[i], end)) >= 0 and sql[end + 1 : end + 2] == sql[i]:
            end += 2  # a doubled quote inside
        return len(sql) if end < 0 else end + 1
    tag = re.match(r"\$[A-Za-z_]*\$", sql[i:])
    if tag:
        end = sql.find(tag.group(), i + len(tag.group()))
        return len(sql) if end < 0 else end + len(tag.group())
    return i


def one_statement(sql: str, *, what: str) -> str:
    """``sql`` without surrounding blanks and a trailing semicolon; refused when it holds several statements."""
    text = sql.strip()
    code = code_of(text).rstrip()
    while code.endswith(";"):
        code = code[:-1].rstrip()
    text = text[: len(code)].strip()
    if not code.strip():
        raise SqlProblem(f"{what} is empty")
    if ";" in code:
        raise SqlProblem(f"{what} holds more than one statement (a ';' before the end)")
    return text


def placeholders(sql: str, *, what: str) -> frozenset[str]:
    """The named placeholders of ``sql``; refused: positional ``%s``, a lone ``%``, a name that is no identifier."""
    for match in _PERCENT.finditer(sql):
        spec = match.group(1)
        if spec is None:
            raise SqlProblem(f"{what} has a lone '%' (write '%%' for a percent sign)")
        if spec == "s":
            raise SqlProblem(f"{what} has a positional '%s'; name it: %(name)s")
    names = frozenset(_NAMED.findall(sql))
    bad = sorted(name for name in names if not _IDENTIFIER.match(name))
    if bad:
        raise SqlProblem(f"{what} has a placeholder whose name is not an identifier: {bad[0]!r}")
    return names


def parse_select(sql: str) -> Statement:
    """The SELECT a ``select.sql`` defines: plain, or the inside of ``COPY (…) TO STDOUT …``."""
    text = one_statement(sql, what="select.sql")
    copy = _COPY.match(code_of(text))
    if copy is not None:
        text = text[copy.start("select") : copy.end("select")].strip()
    elif code_of(text).lstrip().upper().startswith("COPY"):
        raise SqlProblem("select.sql is a COPY but not COPY (SELECT …) TO STDOUT")
    if not _LEADING.match(code_of(text).lstrip()):
        raise SqlProblem("select.sql is not a SELECT (nor COPY (SELECT …) TO STDOUT)")
    return Statement(text=text, placeholders=_placeholders_if_any(text, what="select.sql"))


def parse_delete(sql: str) -> Statement:
    text = one_statement(sql, what="delete.sql")
    if not _DELETE.match(code_of(text).lstrip()):
        raise SqlProblem("delete.sql is not a DELETE")
    return Statement(text=text, placeholders=_placeholders_if_any(text, what="delete.sql"))


def _placeholders_if_any(text: str, *, what: str) -> frozenset[str]:
    """A statement with no placeholder may hold a literal '%' (CKB's were never formatted): kept as written."""
    if "%(" in text or _POSITIONAL.search(code_of(text)):
        return placeholders(text, what=what)
    return frozenset()


def literal_percent(statement: Statement) -> str:
    """The statement as mogrify takes it: a statement without placeholders has its '%' doubled."""
    return statement.text if statement.placeholders else statement.text.replace("%", "%%")


def copy_csv(select: Statement) -> str:
    """PostgreSQL writes the CSV, header first."""
    return f"COPY ({literal_percent(select)}\n) TO STDOUT WITH (FORMAT csv, HEADER true)"


def copy_jsonl(select: Statement) -> str:
    """One JSON object a line. CSV format with a quote and a delimiter JSON never holds unescaped
    (JSON escapes every control character), so each document is written byte for byte."""
    inner = literal_percent(select)
    return (
        f"COPY (SELECT row_to_json(dataset_row) FROM (\n{inner}\n) AS dataset_row) "
        "TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
    )
