"""The input contract: raw message bytes (or text) to a :class:`RawArticle`, or a rejection.

A raw article is either a UTF-8 JSON object with a string ``body`` (and optional ``id``,
``url``, ``source``, ``title``, ``published_at``, ``language``; other keys are kept as
``extra``), or plain UTF-8 text that is the body itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson

from worker.enrich import errors
from worker.enrich.errors import Rejection

DEFAULT_MAX_BYTES = 1024 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
_STRING_FIELDS = ("url", "source", "title", "language")
KNOWN_FIELDS = frozenset({"body", "id", *_STRING_FIELDS, "published_at"})


@dataclass(frozen=True, slots=True)
class RawArticle:
    """A decoded input, before normalization. Field values are as the producer sent them."""

    body: str
    form: str  # "json" or "text"
    size: int  # bytes on the wire
    id: str | None = None
    url: str | None = None
    source: str | None = None
    title: str | None = None
    published_at: dt.datetime | None = None
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_published_at(value: str) -> dt.datetime:
    """Parse an ISO 8601 timestamp or date; a bare date means midnight. Raises ValueError."""
    text = value.strip()
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    return dt.datetime.fromisoformat(text)


def decode(raw: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> RawArticle | Rejection:
    """Decode one message value. Never raises; bad input gives a :class:`Rejection`."""
    if isinstance(raw, str):
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates cannot travel as UTF-8
            return Rejection(errors.INVALID_UTF8, f"not encodable as UTF-8 at {exc.start}")
    else:
        data = bytes(raw)
    size = len(data)
    if size > max_bytes:
        return Rejection(errors.TOO_LARGE, f"{size} bytes, limit {max_bytes}")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(
            errors.INVALID_UTF8, f"byte 0x{data[exc.start]:02x} at offset {exc.start}: {exc.reason}"
        )

    head = text.lstrip()[:1]
    if head == "{":
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return Rejection(errors.INVALID_JSON, str(exc))
        if not isinstance(obj, dict):  # pragma: no cover - '{' always parses to a dict
            return Rejection(errors.NOT_AN_OBJECT, f"JSON {type(obj).__name__}")
        return _from_object(obj, size)
    if head == "[":
        # An array is a producer sending the wrong shape; anything else that merely starts
        # with a bracket ("[Updated] ...") is plain text.
        try:
            orjson.loads(data)
        except orjson.JSONDecodeError:
            return RawArticle(body=text, form="text", size=size)
        return Rejection(errors.NOT_AN_OBJECT, "JSON array; expected an object with a body")
    return RawArticle(body=text, form="text", size=size)


def _from_object(obj: dict[str, Any], size: int) -> RawArticle | Rejection:
    if "body" not in obj or obj["body"] is None:
        return Rejection(errors.MISSING_BODY, "JSON object has no 'body'")
    body = obj["body"]
    if not isinstance(body, str):
        return Rejection(errors.BODY_NOT_STRING, f"'body' is {_json_type(body)}, not a string")

    values: dict[str, Any] = {}
    for name in _STRING_FIELDS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            return Rejection(errors.BAD_FIELD, f"'{name}' is {_json_type(value)}, not a string")
        values[name] = value

    article_id = obj.get("id")
    if isinstance(article_id, bool) or not isinstance(article_id, str | int | None):
        return Rejection(errors.BAD_FIELD, f"'id' is {_json_type(article_id)}, not a string")
    if isinstance(article_id, int):
        article_id = str(article_id)
    if isinstance(article_id, str) and not article_id.strip():
        article_id = None

    published = obj.get("published_at")
    published_at: dt.datetime | None = None
    if published is not None:
        if not isinstance(published, str):
            return Rejection(
                errors.BAD_FIELD, f"'published_at' is {_json_type(published)}, not a string"
            )
        try:
            published_at = parse_published_at(published)
        except ValueError:
            return Rejection(
                errors.BAD_FIELD, f"'published_at' is not ISO 8601: {published[:40]!r}"
            )

    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    return RawArticle(
        body=body,
        form="json",
        size=size,
        id=article_id.strip() if article_id else None,
        published_at=published_at,
        extra=extra,
        **values,
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string"
