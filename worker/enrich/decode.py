"""The input contract: raw message bytes (or text) to a :class:`RawArticle`, or a rejection.

A raw article is either a UTF-8 JSON object with a string ``body`` (and optional ``id``,
``url``, ``source``, ``title``, ``published_at``, ``language``; other keys are kept as
``extra``), or plain UTF-8 text that is the body itself.

Leading byte order marks (any number: some pipelines add one at every hop) are dropped.
A message that is as a whole a JSON scalar (``42``, ``null``, ``true``, ``"a string"``) is
a producer sending the wrong shape and is rejected as ``not_an_object``; text that merely
starts like one ("5 killed in ...") is a plain-text article. The ``id`` loses control,
format and bidi characters (and surrounding spaces); an id of only such characters, or
longer than :data:`MAX_ID_CHARS`, is a ``bad_field``, as is ``extra`` nested deeper than
:data:`MAX_EXTRA_DEPTH`, which keeps every record within what JSON encoders write.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from worker.enrich import errors
from worker.enrich.errors import Rejection
from worker.enrich.normalize import NOT_IN_IDENTIFIERS

DEFAULT_MAX_BYTES = 1024 * 1024
# One regex for any number of BOMs: stripping one at a time in a loop copies the rest of
# the message each time, quadratic for a message of BOMs.
_UTF8_BOMS = re.compile(b"(?:\xef\xbb\xbf)+")
# The longest id kept: ids are message keys and log fields (a 500 KB one was seen).
MAX_ID_CHARS = 512
# The deepest nesting of an `extra` value (a scalar is 0, [] or {} is 1). orjson writes at
# most 255 levels, and the value sits two levels down in the record; 64 is far beyond any
# real metadata and keeps serialization (and our own walk) cheap.
MAX_EXTRA_DEPTH = 64
# First characters of a JSON scalar; only such messages are tried as one.
_SCALAR_STARTS = frozenset('-0123456789"tfn')
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
    boms = _UTF8_BOMS.match(data)
    if boms is not None:
        data = data[boms.end() :]
    if data[:1] == b"{":
        # The common message, parsed at once: orjson checks that all of it is UTF-8 before
        # parsing, so the decoding below (a copy of the body) would find nothing; what it
        # rejects takes the way below, for the same rejection.
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            return _from_object(obj, size)
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
    if head in _SCALAR_STARTS:
        # Only the whole message counts: "5 killed in ..." fails to parse after the 5
        # (at once), and stays text.
        try:
            scalar = orjson.loads(data)
        except orjson.JSONDecodeError:
            return RawArticle(body=text, form="text", size=size)
        return Rejection(
            errors.NOT_AN_OBJECT,
            f"a JSON scalar ({_json_type(scalar)}); expected an object with a body",
        )
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
    if isinstance(article_id, str):
        if not article_id.strip():
            article_id = None  # sent blank: no id, as when the key is absent
        else:
            article_id = NOT_IN_IDENTIFIERS.sub("", article_id).strip()
            if not article_id:
                return Rejection(errors.BAD_FIELD, "'id' has only invisible characters")
            if len(article_id) > MAX_ID_CHARS:
                return Rejection(
                    errors.BAD_FIELD, f"'id' is {len(article_id)} characters, limit {MAX_ID_CHARS}"
                )

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
    deep = _too_deep(extra)
    if deep is not None:
        return Rejection(
            errors.BAD_FIELD,
            f"extra key {deep[:40]!r} is nested more than {MAX_EXTRA_DEPTH} levels deep",
        )
    return RawArticle(
        body=body,
        form="json",
        size=size,
        id=article_id,
        published_at=published_at,
        extra=extra,
        **values,
    )


def _too_deep(extra: dict[str, Any]) -> str | None:
    """The first key of ``extra`` whose value nests more than MAX_EXTRA_DEPTH levels.

    Walked with an explicit stack, level by level: no recursion limit to meet, and each
    container is visited once.
    """
    for key, value in extra.items():
        level: list[Any] = [value]
        depth = 0
        while level:
            containers = [v for v in level if isinstance(v, dict | list)]
            if not containers:
                break
            depth += 1
            if depth > MAX_EXTRA_DEPTH:
                return key
            level = [
                item for c in containers for item in (c.values() if isinstance(c, dict) else c)
            ]
    return None


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
