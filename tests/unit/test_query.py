"""The query language compiles to parameterised SQL and rejects what it cannot run, by name."""

from __future__ import annotations

import pytest

from exporter.errors import InvalidQuery
from exporter.exports.query import MAX_ARGS, MAX_DEPTH, compile_query, describe


def leaf(method: str, *args: object) -> dict:
    return {"method": method, "args": list(args)}


def nested(depth: int) -> dict:
    query = leaf("PLATFORM_EQUALS", "FACEBOOK")
    for _ in range(depth - 1):
        query = {"method": "NOT", "args": [query]}
    return query


def test_contains_matches_any_argument_as_a_bound_parameter() -> None:
    # GIVEN an observer query with two candidate substrings
    # WHEN it compiles
    compiled = compile_query(leaf("OBSERVER_ID_CONTAINS", "1234", "abcd"))
    # THEN each argument is a parameter, and the SQL holds only placeholders
    assert compiled.params == ("1234", "abcd")
    assert compiled.sql == "(strpos(observer_id, %s) > 0 OR strpos(observer_id, %s) > 0)"


@pytest.mark.parametrize(
    "payload",
    ["'; DROP TABLE exports; --", "x' OR '1'='1", "%%s) OR (1=1", "$$; SELECT pg_sleep(10); $$", "\\'", "%(x)s"],
)
def test_injection_attempts_never_reach_the_sql_text(payload: str) -> None:
    # GIVEN an argument crafted to break out of a string literal
    compiled = compile_query(
        {"method": "OR", "args": [leaf("OBSERVATION_ID_CONTAINS", payload), leaf("PLATFORM_EQUALS", payload)]}
    )
    # THEN it is carried only as a parameter
    assert payload not in compiled.sql
    assert payload in compiled.params
    assert compiled.sql.count("%s") == 2


def test_combinators_and_dates_compile_in_order() -> None:
    query = {
        "method": "AND",
        "args": [
            leaf("DATETIME_AFTER", "1700000000000"),
            leaf("DATETIME_BEFORE", "1800000000000"),
            {"method": "NOT", "args": [leaf("PLATFORM_EQUALS", "tiktok")]},
        ],
    }
    compiled = compile_query(query)
    assert compiled.sql == (
        "(observed_at > to_timestamp(%s) AND observed_at < to_timestamp(%s) AND (NOT platform = ANY(%s)))"
    )
    assert compiled.params == (1_700_000_000.0, 1_800_000_000.0, ["TIKTOK"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (leaf("OBSERVER_ID_MATCHES", "x"), "unknown method 'OBSERVER_ID_MATCHES'; valid methods: AND, OR, NOT"),
        (leaf("PLATFORM_EQUALS"), "needs a non-empty list 'args'"),
        ({"method": "PLATFORM_EQUALS", "args": "FACEBOOK"}, "needs a non-empty list 'args'"),
        (leaf("PLATFORM_EQUALS", 7), "takes strings; args[0] is int"),
        (leaf("DATETIME_AFTER", "yesterday"), "millisecond epoch as a string of digits"),
        (leaf("DATETIME_AFTER", "1", "2"), "takes exactly one argument, got 2"),
        ({"method": "NOT", "args": [leaf("PLATFORM_EQUALS", "A"), leaf("PLATFORM_EQUALS", "B")]}, "NOT takes exactly"),
        ({"method": "AND", "args": ["PLATFORM_EQUALS"]}, "query.args[0] must be an object"),
        ({"method": "AND", "args": [leaf("PLATFORM_EQUALS", "A")], "limit": 3}, "unknown keys: limit"),
        ("PLATFORM_EQUALS", "query must be an object"),
        (leaf("PLATFORM_EQUALS", ""), "must be 1 to 256 characters"),
    ],
)
def test_malformed_queries_are_rejected_with_a_message_naming_the_problem(query: object, message: str) -> None:
    with pytest.raises(InvalidQuery, match=None) as caught:
        compile_query(query)
    assert message in str(caught.value)


def test_a_bad_date_deep_in_the_tree_is_reported_at_its_place() -> None:
    negated = {"method": "NOT", "args": [leaf("DATETIME_BEFORE", "soon")]}
    query = {"method": "AND", "args": [leaf("PLATFORM_EQUALS", "A"), negated]}
    with pytest.raises(InvalidQuery) as caught:
        compile_query(query)
    assert str(caught.value) == (
        "query.args[1].args[0]: DATETIME_BEFORE takes a millisecond epoch as a string of digits, got 'soon'"
    )


def test_depth_limit_is_exactly_eight() -> None:
    compile_query(nested(MAX_DEPTH))  # the deepest allowed query compiles
    with pytest.raises(InvalidQuery, match="deeper than 8"):
        compile_query(nested(MAX_DEPTH + 1))


def test_argument_count_limit_is_exactly_one_thousand() -> None:
    compile_query(leaf("OBSERVER_ID_CONTAINS", *[f"id{i}" for i in range(MAX_ARGS)]))
    with pytest.raises(InvalidQuery, match="more than 1000 arguments"):
        compile_query(leaf("OBSERVER_ID_CONTAINS", *[f"id{i}" for i in range(MAX_ARGS + 1)]))


def test_describe_renders_a_readable_summary() -> None:
    query = {"method": "AND", "args": [leaf("PLATFORM_EQUALS", "FACEBOOK"), leaf("OBSERVER_ID_CONTAINS", "12")]}
    assert describe(query) == "(PLATFORM_EQUALS('FACEBOOK') AND OBSERVER_ID_CONTAINS('12'))"


@pytest.mark.parametrize("text", ["\u00b2\u00b3", "\u0661\u0667" + "\u0660" * 11, "\uff11\uff12\uff13", "12 3", "+123"])
def test_a_timestamp_is_ascii_digits_only(text: str) -> None:
    # GIVEN a date argument Python would call digits (superscripts, Arabic-Indic, full-width) or not
    # WHEN it is compiled THEN it is refused with the method and the value named, never a crash
    with pytest.raises(InvalidQuery, match="DATETIME_AFTER takes a millisecond epoch"):
        compile_query({"method": "DATETIME_AFTER", "args": [text]})


def test_a_lone_surrogate_in_an_argument_is_refused() -> None:
    with pytest.raises(InvalidQuery, match=r"query: args\[0\] is not valid Unicode text"):
        compile_query({"method": "OBSERVER_ID_CONTAINS", "args": ["a\ud800b"]})
