"""The enrichment pipeline: raw bytes or text in, an enriched record (a plain dict) out.

bytes -> decode -> normalize -> structure -> extract (language, dates, entities, numbers,
keywords, fingerprints) -> record. Pure code: no Kafka, no I/O after construction.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from worker.enrich import errors
from worker.enrich.dates import find_dates, parse_timestamp
from worker.enrich.decode import DEFAULT_MAX_BYTES, RawArticle, decode
from worker.enrich.entities import Gazetteer, token_keys
from worker.enrich.errors import Rejection
from worker.enrich.fingerprint import content_hash, simhash
from worker.enrich.keywords import keywords
from worker.enrich.language import detect_language, script_shares
from worker.enrich.lexicon import STOPWORDS
from worker.enrich.normalize import NormalizationReport, matching_key, normalize_text
from worker.enrich.numbers import find_numbers
from worker.enrich.scanning import Scan
from worker.enrich.structure import SENTENCE_END, ends_sentence, first_sentence, parse_structure
from worker.enrich.tokens import tokenize

SCHEMA_VERSION = 2
# config/ in the checkout, mapped to the package worker.data at build time (pyproject.toml),
# so a wheel installed anywhere carries the gazetteer and the schema.
DATA = files("worker.data")
DEFAULT_GAZETTEER = DATA / "gazetteer.json"
SCHEMA = DATA / "enriched-article.schema.json"
WORDS_PER_MINUTE = 200
_TOPIC_MIN_WORDS = 3
# The simhash is over the body's content words under the matching key: spelling variants
# count once, and grammar words are left out so unrelated stories do not look alike.
_STOPWORD_KEYS = frozenset({matching_key(w) for w in STOPWORDS} | {""})
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*")


@dataclass(frozen=True, slots=True)
class Enriched:
    """A successfully enriched article; ``record`` matches the enriched-article JSON Schema."""

    record: dict[str, Any]


class Enricher:
    """Enriches articles with a fixed gazetteer and size limit. Safe to share and reuse.

    Args:
        gazetteer: compiled gazetteer; :func:`load_gazetteer` of the default file if None.
        max_bytes: larger inputs are rejected as ``too_large``.
    """

    def __init__(self, gazetteer: Gazetteer | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
        self.gazetteer = gazetteer if gazetteer is not None else load_gazetteer()
        self.max_bytes = max_bytes

    def enrich(self, raw: bytes | str) -> Enriched | Rejection:
        """Enrich one message value. Bad input gives a :class:`Rejection`, never an exception."""
        article = decode(raw, self.max_bytes)
        if isinstance(article, Rejection):
            return article
        return self.enrich_article(article)

    def enrich_article(self, article: RawArticle) -> Enriched | Rejection:
        """Enrich an already decoded article."""
        text, report = normalize_text(article.body)
        if not text:
            detail = "body is empty" if not article.body.strip() else "only invisible characters"
            return Rejection(errors.EMPTY_BODY, detail)
        return Enriched(_build_record(article, text, report, self.gazetteer))


@cache
def load_gazetteer(path: Path | Traversable = DEFAULT_GAZETTEER) -> Gazetteer:
    """Load and compile a gazetteer file once per process (raises GazetteerError)."""
    return Gazetteer.from_path(path)


def _clean(value: str | None, report: NormalizationReport) -> str | None:
    if value is None:
        return None
    text, field_report = normalize_text(value)
    for what, n in field_report.changes.items():
        report.add(what, n)
    report.lossy = report.lossy or field_report.lossy
    return text or None


def _article_id(article: RawArticle, url: str | None, body_hash: str) -> str:
    if article.id:
        return article.id
    if url:
        return "url-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    return "sha256-" + body_hash[:32]


def _language_hint(value: str | None) -> str | None:
    """``hi``, ``hi-IN`` or ``HI`` give ``hi``; anything that is not an ISO 639-1 code, None."""
    if not value:
        return None
    match = _LANGUAGE_TAG.fullmatch(value.strip())
    return match.group(1).lower() if match else None


def _stamped_times(
    stamps: list[tuple[str, str]], published: datetime.datetime | None
) -> tuple[str | None, str | None]:
    """``published_at`` and ``updated_at``: the producer's publication time wins over the
    article's own ``Published:`` line; an ``Updated:`` line is placed against either."""
    published_at = published.isoformat() if published else None
    updated_at = None
    for label, stamp in stamps:
        if label == "published" and published_at is None:
            published_at = parse_timestamp(stamp)
        elif label == "updated" and updated_at is None:
            reference = published.date() if published else _day_of(published_at)
            updated_at = parse_timestamp(stamp, reference)
    return published_at, updated_at


def _day_of(timestamp: str | None) -> datetime.date | None:
    """The calendar day of an ISO 8601 timestamp that :func:`parse_timestamp` wrote."""
    return datetime.date.fromisoformat(timestamp[:10]) if timestamp else None


def _count_sentences(body: str, blocks: list[str]) -> int:
    """Sentence ends, plus blocks (subheadings, unterminated paragraphs) that lack one."""
    return len(SENTENCE_END.findall(body)) + sum(not ends_sentence(b) for b in blocks)


def _build_record(
    article: RawArticle, text: str, report: NormalizationReport, gazetteer: Gazetteer
) -> dict[str, Any]:
    title = _clean(article.title, report)
    structure = parse_structure(text, title)
    body = structure.body or text
    tokens = tokenize(body)
    counts = Counter(tokens)
    scripts = script_shares(text)  # the whole text: leads and teasers show the mix too
    language = detect_language(counts, scripts, _language_hint(article.language))

    source = _clean(article.source, report) or structure.source
    url = article.url.strip() or None if article.url else None
    dateline = structure.dateline
    title = title or structure.title
    if title is None:
        # Only the topic of a `Source (alias), Topic: ` lead is a title; a place is not.
        is_topic = (
            structure.source_alias is not None
            and dateline is not None
            and len(dateline.split()) >= _TOPIC_MIN_WORDS
        )
        title = dateline if is_topic else first_sentence(body)

    published = article.published_at
    published_at, updated_at = _stamped_times(structure.stamps, published)
    reference = published.date() if published else _day_of(published_at)
    scan = Scan(text)  # one scan of the text: the date scan finds where numbers start
    dates = find_dates(scan, reference)
    numbers = find_numbers(scan, [(start, end) for _, _, _, start, end in dates])
    # Entities of the whole text (a teaser names real people), passage by passage. Each
    # token is keyed once, for the entities and the simhash alike.
    lead = tokenize(structure.lead)
    passages: list[str] = [*lead, "", *tokens]
    for headline in structure.related_headlines:
        passages += ["", *tokenize(headline)]
    keys = token_keys(passages)
    body_keys = keys[len(lead) + 1 : len(lead) + 1 + len(tokens)]
    body_hash = content_hash(body)
    kept_blocks = [*structure.paragraphs, *structure.subheadings]
    words = len(tokens)

    return {
        "schema_version": SCHEMA_VERSION,
        "id": _article_id(article, url, body_hash),
        "url": url,
        "source": source,
        "title": title,
        "published_at": published_at,
        "updated_at": updated_at,
        "dateline": dateline,
        "language": {"code": language.code, "confidence": language.confidence},
        "scripts": scripts,
        "body": body,
        "paragraphs": structure.paragraphs or [body],
        "subheadings": structure.subheadings,
        "related_headlines": structure.related_headlines,
        "credits": structure.credits,
        "dates": [{"text": t, "value": v, "granularity": g} for t, v, g, _, _ in dates],
        "entities": gazetteer.find_records(passages, keys),
        "numbers": [{"text": t, "value": v, "unit": u} for t, v, u, _, _ in numbers],
        "keywords": keywords(counts),
        "stats": {
            "chars": len(body),
            "words": words,
            "sentences": max(1, _count_sentences(body, kept_blocks)),
            "paragraphs": len(structure.paragraphs) or 1,
            "reading_time_seconds": round(words * 60 / WORDS_PER_MINUTE),
        },
        "content_hash": body_hash,
        "simhash": simhash(set(body_keys) - _STOPWORD_KEYS),
        "normalization": report.as_dict(),
        "input": {"form": article.form, "bytes": article.size},
        "extra": article.extra,
    }


_default: Enricher | None = None


def enrich(raw: bytes | str) -> Enriched | Rejection:
    """Enrich with a process-wide default :class:`Enricher` (default gazetteer and limits)."""
    global _default  # noqa: PLW0603 - a lazily built, read-only default
    if _default is None:
        _default = Enricher()
    return _default.enrich(raw)
