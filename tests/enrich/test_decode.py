"""The input contract: every kind of bad input gets its reason code, never an exception."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.enrich import decode as decode_module
from worker.enrich import errors
from worker.enrich.decode import RawArticle, decode
from worker.enrich.errors import Rejection


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe bad", errors.INVALID_UTF8),
        (b"\xe0\xa4", errors.INVALID_UTF8),  # truncated Devanagari sequence
        (b'{"body": "x"', errors.INVALID_JSON),
        (b"{not json}", errors.INVALID_JSON),
        (b'[{"body": "x"}]', errors.NOT_AN_OBJECT),
        (b'{"title": "t"}', errors.MISSING_BODY),
        (b'{"body": null}', errors.MISSING_BODY),
        (b'{"body": 42}', errors.BODY_NOT_STRING),
        (b'{"body": ["a"]}', errors.BODY_NOT_STRING),
        (b'{"body": "x", "published_at": "last tuesday"}', errors.BAD_FIELD),
        (b'{"body": "x", "published_at": 20240101}', errors.BAD_FIELD),
        (b'{"body": "x", "title": 7}', errors.BAD_FIELD),
        (b'{"body": "x", "id": {"a": 1}}', errors.BAD_FIELD),
        (b'{"body": "x", "id": true}', errors.BAD_FIELD),
        (b'{"body": "x", "url": false}', errors.BAD_FIELD),
    ],
)
def test_rejections(raw: bytes, reason: str) -> None:
    result = decode(raw)
    assert isinstance(result, Rejection)
    assert result.reason == reason
    assert result.detail


def test_invalid_utf8_detail_names_the_offset() -> None:
    result = decode(b"ok \xc3\x28")
    assert isinstance(result, Rejection)
    assert "offset 3" in result.detail


def test_too_large_is_checked_before_decoding() -> None:
    result = decode(b"\xff" * 101, max_bytes=100)
    assert isinstance(result, Rejection)
    assert result.reason == errors.TOO_LARGE
    assert isinstance(decode(b"a" * 100, max_bytes=100), RawArticle)


def test_plain_text_is_the_body() -> None:
    result = decode("\ufeffनमस्ते".encode())
    assert isinstance(result, RawArticle)
    assert result.form == "text"
    assert result.body == "नमस्ते"


def test_text_starting_with_a_bracket_is_plain_text() -> None:
    result = decode(b"[Updated] Flood waters recede")
    assert isinstance(result, RawArticle)
    assert result.body == "[Updated] Flood waters recede"


def test_json_fields_and_extra() -> None:
    raw = (
        b'{"id": 17, "body": "b", "url": "https://x/1", "source": "S", "title": "T",'
        b' "published_at": "2024-11-09T10:30:00+05:30", "language": "hi", "section": "world"}'
    )
    result = decode(raw)
    assert isinstance(result, RawArticle)
    assert result.id == "17"
    assert result.url == "https://x/1"
    assert result.published_at is not None
    assert result.published_at.isoformat() == "2024-11-09T10:30:00+05:30"
    assert result.extra == {"section": "world"}
    assert result.size == len(raw)


def test_date_only_and_zulu_published_at() -> None:
    for value, iso in (
        ("2024-11-09", "2024-11-09T00:00:00"),
        ("2024-11-09T04:00:00Z", "2024-11-09T04:00:00+00:00"),
    ):
        result = decode(f'{{"body": "b", "published_at": "{value}"}}'.encode())
        assert isinstance(result, RawArticle)
        assert result.published_at is not None
        assert result.published_at.isoformat() == iso


def test_str_with_lone_surrogate_is_invalid_utf8() -> None:
    result = decode("abc\ud800")
    assert isinstance(result, Rejection)
    assert result.reason == errors.INVALID_UTF8


@pytest.mark.parametrize("boms", [1, 2, 3, 50])
def test_every_leading_bom_is_stripped(boms: int) -> None:
    result = decode(b"\xef\xbb\xbf" * boms + b'{"body": "x", "id": "a-1"}')
    assert isinstance(result, RawArticle)
    assert result.form == "json"
    assert result.id == "a-1"
    text = decode(b"\xef\xbb\xbf" * boms + "नमस्ते".encode())
    assert isinstance(text, RawArticle)
    assert text.body == "नमस्ते"


@pytest.mark.parametrize(
    "raw", [b"42", b"null", b"true", b"false", b'"a string"', b"-1.5", b" 7 \n", b"1e5"]
)
def test_json_scalars_are_not_articles(raw: bytes) -> None:
    result = decode(raw)
    assert isinstance(result, Rejection)
    assert result.reason == errors.NOT_AN_OBJECT
    assert "scalar" in result.detail


@pytest.mark.parametrize(
    "raw",
    [
        "5 killed in Delhi fire",
        "2024 में चुनाव",
        '"We will win," said the minister.',
        "null and void: court strikes down order",
        "true story of a village",
        "-5 degrees in Shimla",
    ],
)
def test_text_that_starts_like_a_scalar_is_text(raw: str) -> None:
    result = decode(raw.encode())
    assert isinstance(result, RawArticle)
    assert result.form == "text"
    assert result.body == raw


def test_scalar_behind_a_bom_is_still_a_scalar() -> None:
    result = decode(b"\xef\xbb\xbf\xef\xbb\xbf42")
    assert isinstance(result, Rejection)
    assert result.reason == errors.NOT_AN_OBJECT


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("a-1\u202e", "a-1"),
        ("\u202eabc\u202c", "abc"),
        ("id\u200b-\u2066x\u2069", "id-x"),
        ("a\x00b\x1f\x85c", "abc"),
        ("a\u200db\u200cc\ufeff", "abc"),
        ("  spaced\n ", "spaced"),
        ("हिंदी-१", "हिंदी-१"),
    ],
)
def test_id_is_cleaned_of_invisible_characters(sent: str, kept: str) -> None:
    result = decode(orjson.dumps({"body": "x", "id": sent}))
    assert isinstance(result, RawArticle)
    assert result.id == kept


@pytest.mark.parametrize(
    ("sent", "detail"),
    [("\u202e\u200b", "invisible"), ("\x00", "invisible"), ("i" * 513, "limit 512")],
)
def test_bad_ids_are_rejected(sent: str, detail: str) -> None:
    result = decode(orjson.dumps({"body": "x", "id": sent}))
    assert isinstance(result, Rejection)
    assert result.reason == errors.BAD_FIELD
    assert detail in result.detail


def test_blank_id_means_no_id_and_512_characters_are_fine() -> None:
    blank = decode(orjson.dumps({"body": "x", "id": "  "}))
    assert isinstance(blank, RawArticle)
    assert blank.id is None
    long = decode(orjson.dumps({"body": "x", "id": "i" * 512}))
    assert isinstance(long, RawArticle)
    assert long.id == "i" * 512


def test_extra_nested_too_deep_is_a_bad_field() -> None:
    from worker.enrich.decode import MAX_EXTRA_DEPTH

    def nested(depth: int) -> bytes:
        return b'{"body": "x", "ok": 1, "meta": ' + b"[" * depth + b"]" * depth + b"}"

    deep = decode(nested(MAX_EXTRA_DEPTH + 1))
    assert isinstance(deep, Rejection)
    assert deep.reason == errors.BAD_FIELD
    assert "'meta'" in deep.detail
    assert f"{MAX_EXTRA_DEPTH} levels" in deep.detail
    fine = decode(nested(MAX_EXTRA_DEPTH))
    assert isinstance(fine, RawArticle)
    assert fine.extra["ok"] == 1
    wide = decode(b'{"body": "x", "m": [' + b",".join([b'{"a": [1]}'] * 10_000) + b"]}")
    assert isinstance(wide, RawArticle)  # wide is fine; only depth counts


def _decoded_then_parsed(data: bytes) -> RawArticle | Rejection:
    """What decode does with a message that starts with ``{`` when it decodes the text
    first (its way before issue 9): UTF-8 checked by Python, then orjson."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(
            errors.INVALID_UTF8, f"byte 0x{data[exc.start]:02x} at offset {exc.start}: {exc.reason}"
        )
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Rejection(errors.INVALID_JSON, str(exc))
    return decode_module._from_object(obj, len(data))


_JSON_PIECES = st.sampled_from(
    [
        b'"body"',
        b'"id"',
        b'"title"',
        b":",
        b",",
        b" ",
        b'"x"',
        b"1",
        b"null",
        b"{}",
        b"[",
        b"]",
        b"}",
        b'"\\ud800"',
        b'"\\u0915"',
        b"\xe0\xa4\x95",
        b"\xe0\xa4",
        b"\xff",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xef\xbb\xbf",
        b"\xf4\x90\x80\x80",
        b"\n",
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_JSON_PIECES, max_size=12).map(lambda pieces: b"{" + b"".join(pieces)))
def test_objects_parsed_at_once_as_when_decoded_first(data: bytes) -> None:
    assert decode(data) == _decoded_then_parsed(data)
    assert decode(b'{"body": "x", ' + data[1:]) == _decoded_then_parsed(
        b'{"body": "x", ' + data[1:]
    )
