"""The core never raises, and every record it returns can be published: hypothesis over
extreme JSON articles, random bytes and mixed-script text, plus the crashes found so far."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import load_enricher, load_validator
from worker.enrich import Enriched, Rejection, errors
from worker.enrich.decode import MAX_EXTRA_DEPTH

# Reasons the core itself gives; the others are the streaming shell's.
CORE_REASONS = set(errors.REASONS) - {
    errors.INTERNAL_ERROR,
    errors.OUTPUT_TOO_LARGE,
    errors.TIMEOUT,
}


def check(raw: bytes | str) -> Enriched | Rejection:
    """Enrich ``raw``; the result must be a rejection with a core reason, or a record that
    orjson serializes and the schema accepts."""
    result = load_enricher().enrich(raw)
    if isinstance(result, Enriched):
        orjson.dumps(result.record)  # raises on ints beyond 64 bits, over-deep nesting...
        load_validator().validate(result.record)
    else:
        assert isinstance(result, Rejection)
        assert result.reason in CORE_REASONS
        assert result.detail
    return result


EDGE_DATES = [
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "2024-02-29",
    "2023-02-29",
    "2024-11-10T08:00:00.123456+05:30",
    "2024-11-10T08:00:00Z",
    "  2024-11-10 ",
    "2024-W01",
    "20241110",
    "",
]
# Pieces that exercise the extractors and the normalizer, to be strung together.
PIECES = [
    "सोमवार 5 मार्च ",
    "Monday, March 3 ",
    "5 मार्च ",
    "29 फ़रवरी ",
    "31 जून ",
    "(शनिवार) ",
    "in 2024 ",
    "सन् 1899 ",
    "मई ",
    "2.5 करोड़ ",
    "₹5 लाख ",
    "Rs. 3 crore ",
    "1,25,000 ",
    "0.",
    "१२,००० ",
    "৫০ ",
    "à¤",
    "â€",
    "<script>",
    "</p>",
    "&amp;",
    "&#769;",
    "\u0301" * 40,
    "\u094d" * 35,
    "\u202e",
    "\x00",
    "\ufeff",
    "\u200d",
    "\ufffd",
    "\n\n",
    "Also Read: ",
    "India News (इंडिया न्यूज), Delhi: ",
    "ज़ेलेंस्की ",
    "لاہور ",
    "কলকাতা ",
]
huge_digits = st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n)
mixed_text = st.lists(
    st.sampled_from(PIECES) | huge_digits | st.integers().map(str) | st.text(max_size=20),
    max_size=25,
).map("".join)
json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | mixed_text
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)
field = mixed_text | json_value
articles = st.fixed_dictionaries(
    {"body": mixed_text},
    optional={
        "id": field | st.integers(min_value=-(2**63), max_value=2**64 - 1),
        "title": field,
        "source": field,
        "url": field,
        "language": field | st.sampled_from(["hi", "HI-in", "x", "en_US", "zz-" * 100]),
        "published_at": st.sampled_from(EDGE_DATES) | field,
        "": json_value,
        "\x00": json_value,
        "body\u202e": json_value,
        "extra": json_value,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles)
def test_extreme_json_articles(article: dict[str, Any]) -> None:
    check(orjson.dumps(article))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_text, st.sampled_from(EDGE_DATES))
def test_text_with_edge_publication_dates(body: str, published: str) -> None:
    check(orjson.dumps({"body": body, "published_at": published}))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | mixed_text | mixed_text.map(str.encode))
def test_random_bytes_and_mixed_text(raw: bytes | str) -> None:
    check(raw)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=300), st.sampled_from([b"[", b'{"k":']))
def test_nesting_in_extra(depth: int, opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    raw = b'{"body": "A short body.", "meta": ' + opener * depth + b"1" + closer * depth + b"}"
    result = check(raw)
    if depth > MAX_EXTRA_DEPTH:
        assert isinstance(result, Rejection)
        assert result.reason == errors.BAD_FIELD
        assert "nested more than" in result.detail
    else:
        assert isinstance(result, Enriched)


@pytest.mark.parametrize(
    "raw",
    [
        # int() refuses more than 4,300 digits
        "Total: " + "9" * 4301 + " votes",
        "Total: 1." + "5" * 5000 + " lakh votes",
        '{"body": "' + "1" * 10_000 + ' people"}',
        # a value beyond 64 bits, which orjson cannot write
        "Debt of " + "1" + "0" * 30 + " rupees",
        "999999999999999999 trillion crore people",
        # a yearless date resolved from published_at at the edges of the calendar
        '{"body": "On 5 March it rained.", "published_at": "0001-01-01"}',
        '{"body": "On Monday, 5 March it rained.", "published_at": "0001-01-01T00:00:00+23:59"}',
        '{"body": "On 5 March it rained.", "published_at": "9999-12-31T23:59:59-23:59"}',
        '{"body": "On 31 December it rained.", "published_at": "9999-12-31"}',
    ],
)
def test_known_crashes(raw: str) -> None:
    assert isinstance(check(raw), Enriched)


def test_huge_numbers_are_not_quantities_but_large_products_are_floats() -> None:
    record = check("Total: " + "9" * 4301 + " votes, and 999999999999999999 trillion crore")
    assert isinstance(record, Enriched)
    values = [n["value"] for n in record.record["numbers"]]
    assert values == [pytest.approx(1e37)]
    assert isinstance(values[0], float)


def test_eighteen_digits_are_still_a_number() -> None:
    result = check("A count of 123456789012345678 grains")
    assert isinstance(result, Enriched)
    assert [n["value"] for n in result.record["numbers"]] == [123456789012345678]
