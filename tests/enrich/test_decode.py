"""The input contract: every kind of bad input gets its reason code, never an exception."""

from __future__ import annotations

import pytest

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
