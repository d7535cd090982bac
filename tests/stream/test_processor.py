"""The agent's rules without a broker: enriched records, dead letters, internal errors."""

from __future__ import annotations

from typing import Any

import orjson

import worker
from tests.conftest import USER_SEED
from worker.enrich import Enricher
from worker.stream.processor import (
    Inbound,
    Processor,
    dead_letter,
    message_size,
    shrink_dead_letter,
)


def make(enricher: Any) -> Processor:
    return Processor(enricher, "articles.enriched", "articles.dlq")


def inbound(value: bytes | None, key: bytes | None = b"k") -> Inbound:
    return Inbound("articles.raw", 2, 41, key, value, 1_700_000_000.0)


def test_enriched_record_is_keyed_by_id(enricher: Enricher) -> None:
    out = make(enricher).process(inbound(USER_SEED.read_bytes()))
    record = orjson.loads(out.value)
    assert out.topic == "articles.enriched"
    assert out.reason is None
    assert out.key == record["id"].encode()
    assert out.language == "hi"
    assert ("content-type", b"application/json") in out.headers


def test_rejection_goes_to_dlq_with_original_bytes_and_reason(enricher: Enricher) -> None:
    original = b'{"body": 42, "note": "\xff"}'
    out = make(enricher).process(inbound(original))
    headers = dict(out.headers)
    assert out.topic == "articles.dlq"
    assert out.value == original
    assert out.key == b"k"
    assert headers["x-reject-reason"] == b"invalid_utf8"
    assert headers["x-source-topic"] == b"articles.raw"
    assert headers["x-source-partition"] == b"2"
    assert headers["x-source-offset"] == b"41"
    assert headers["x-worker-version"] == worker.__version__.encode()
    assert headers["x-rejected-at"].endswith(b"+00:00")


def test_tombstone_is_dead_lettered() -> None:
    out = make(Enricher()).process(inbound(None))
    assert out.topic == "articles.dlq"
    assert dict(out.headers)["x-reject-reason"] == b"missing_body"


class ExplodingEnricher:
    def enrich(self, _raw: bytes) -> Any:
        raise RuntimeError("boom " + "x" * 5000)


def test_unexpected_exception_is_an_internal_error() -> None:
    # A stand-in core that raises: the only way to make the real core fail on purpose.
    out = make(ExplodingEnricher()).process(inbound(b"fine text"))
    headers = dict(out.headers)
    assert out.topic == "articles.dlq"
    assert out.value == b"fine text"
    assert headers["x-reject-reason"] == b"internal_error"
    assert headers["x-reject-detail"].startswith(b"RuntimeError: boom")
    assert len(headers["x-reject-detail"]) <= 1024


def test_record_over_the_output_limit_is_dead_lettered(enricher: Enricher) -> None:
    processor = Processor(enricher, "articles.enriched", "articles.dlq", output_max_bytes=20_000)
    original = ("सरकार ने आज नई योजना की घोषणा की। " * 400).encode()
    out = processor.process(inbound(original))
    headers = dict(out.headers)
    assert out.topic == "articles.dlq"
    assert headers["x-reject-reason"] == b"output_too_large"
    assert b"limit 20000" in headers["x-reject-detail"]
    assert out.value == original


def test_a_record_that_cannot_be_serialized_is_an_internal_error() -> None:
    class DeepRecord:
        def enrich(self, _raw: bytes) -> Any:
            from worker.enrich import Enriched

            deep: Any = "leaf"
            for _ in range(300):
                deep = {"k": deep}
            record = {"id": "x", "schema_version": 1, "language": {"code": "en"}, "extra": deep}
            return Enriched(record)

    out = make(DeepRecord()).process(inbound(b"fine"))
    headers = dict(out.headers)
    assert headers["x-reject-reason"] == b"internal_error"
    assert headers["x-reject-detail"].startswith(b"cannot serialize the record")


def test_dead_letter_ladder_keeps_the_source_and_the_original_size() -> None:
    letter = dead_letter(inbound(b"x" * 100_000, key=b"k" * 10), "too_large", "big", "dlq")
    fitted = shrink_dead_letter(letter, 50_000, 0)
    assert message_size(fitted) <= 50_000
    assert letter.value.startswith(fitted.value)
    assert dict(fitted.headers)["x-original-bytes"] == b"100000"
    smaller = shrink_dead_letter(fitted, 50_000, 1)
    assert dict(smaller.headers)["x-original-bytes"] == b"100000"  # still the real original
    empty = shrink_dead_letter(smaller, 50_000, 2)
    assert empty.value == b""
    assert dict(empty.headers)["x-source-offset"] == b"41"
    assert dict(empty.headers)["x-reject-reason"] == b"too_large"
