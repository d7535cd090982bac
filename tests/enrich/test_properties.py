"""Properties that must hold for any input, found by hypothesis."""

from __future__ import annotations

import re
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import load_enricher, load_validator
from worker.enrich import Enriched, Rejection
from worker.enrich.normalize import normalize_text

# Alphabet weighted toward what breaks text pipelines: Devanagari letters and marks,
# nukta, joiners, invisible and bidi controls, mojibake lead bytes, markup, whitespace.
TRICKY = (
    "कखगजडढफयरनऴािीुूेैोौंँः्।॥०१९ "
    "\u200b\u200c\u200d\u2060\u00ad\ufeff\u200e\u200f\u202a\u202e\u2066\u2069\ufffd"
    "\x00\x01\x1f\x7f\x85\x9d\u00a0\u2028\u2029\r\n\t"
    "àÃâ¤¥€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
    '&#;<>/p{}[]":,amp ltx0123456789'
    "\u0958\u0929\u0301\u0323eÅ"
    "حکومتہےیں"
)
tricky_text = st.text(alphabet=st.sampled_from(TRICKY), max_size=200) | st.text(max_size=200)
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffd\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


@settings(max_examples=400, deadline=None)
@given(tricky_text)
def test_normalization_is_idempotent_and_clean(text: str) -> None:
    once, _ = normalize_text(text)
    twice, _ = normalize_text(once)
    assert twice == once
    assert not FORBIDDEN.search(once)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        tricky_text,
        st.binary(max_size=300),
        tricky_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
    )
)
def test_core_never_raises_and_records_validate(raw: str | bytes) -> None:
    result = load_enricher().enrich(raw)
    if isinstance(result, Enriched):
        load_validator().validate(result.record)
        assert not FORBIDDEN.search(result.record["body"])
    else:
        assert isinstance(result, Rejection)
        assert result.detail


int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON encoders carry
json_value = st.recursive(
    st.none() | st.booleans() | int64 | st.floats(allow_nan=False) | tricky_text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "body": tricky_text | json_value,
            "id": tricky_text | int64,
            "title": tricky_text | json_value,
            "source": tricky_text,
            "url": tricky_text,
            "language": tricky_text,
            "published_at": st.sampled_from(["2024-11-10", "2024-11-10T08:00:00+05:30", "garbage"]),
            "extra_key": json_value,
        },
    )
)
def test_json_articles_never_raise(obj: dict[str, Any]) -> None:
    result = load_enricher().enrich(orjson.dumps(obj))
    if isinstance(result, Enriched):
        load_validator().validate(result.record)
    else:
        assert result.reason in {"missing_body", "body_not_string", "empty_body", "bad_field"}


@settings(max_examples=200, deadline=None)
@given(tricky_text)
def test_canonically_equivalent_inputs_give_identical_output(text: str) -> None:
    import unicodedata

    assert (
        normalize_text(unicodedata.normalize("NFD", text))[0]
        == normalize_text(unicodedata.normalize("NFC", text))[0]
    )
