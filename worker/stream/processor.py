"""What the agent does with one message, without Faust: enrich it or dead-letter it.

Kept apart from the agent so that its rules (DLQ envelope, internal errors, keys) are
tested without a broker, and so that the agent is only the I/O around it.

Dead letters keep the original message bytes as their value, untouched, and carry the
reason in headers:

=====================  ==================================================
header                 value
=====================  ==================================================
``x-reject-reason``    reason code (``invalid_utf8``, ... ``internal_error``)
``x-reject-detail``    human-readable detail (UTF-8, at most 1 KiB)
``x-source-topic``     topic the message was consumed from
``x-source-partition`` partition, decimal
``x-source-offset``    offset, decimal
``x-worker-version``   article-worker version
``x-rejected-at``      ISO 8601 UTC time of the rejection
=====================  ==================================================
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import orjson

from worker import __version__
from worker.enrich import Enriched, Enricher
from worker.enrich import errors as reasons

MAX_DETAIL_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Inbound:
    """A consumed raw message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float | None = None  # broker timestamp, Unix seconds


@dataclass(frozen=True, slots=True)
class Outbound:
    """The one message to publish for an inbound one."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    reason: str | None  # None for an enriched record
    language: str | None
    duration: float  # seconds the core took


class Processor:
    """Turns inbound messages into enriched records or dead letters. Never raises."""

    def __init__(self, enricher: Enricher, enriched_topic: str, dlq_topic: str) -> None:
        self.enricher = enricher
        self.enriched_topic = enriched_topic
        self.dlq_topic = dlq_topic

    def process(self, message: Inbound) -> Outbound:
        start = time.perf_counter()
        if message.value is None:
            return self.dead_letter(message, reasons.MISSING_BODY, "message has no value", start)
        try:
            result = self.enricher.enrich(message.value)
        except Exception as exc:  # noqa: BLE001 - one bad article must never stop the stream
            detail = f"{type(exc).__name__}: {exc}"
            return self.dead_letter(message, reasons.INTERNAL_ERROR, detail, start)
        if not isinstance(result, Enriched):
            return self.dead_letter(message, result.reason, result.detail, start)
        record = result.record
        return Outbound(
            topic=self.enriched_topic,
            key=record["id"].encode("utf-8"),
            value=orjson.dumps(record),
            headers=[
                ("content-type", b"application/json"),
                ("x-schema-version", str(record["schema_version"]).encode()),
            ],
            reason=None,
            language=record["language"]["code"],
            duration=time.perf_counter() - start,
        )

    def dead_letter(self, message: Inbound, reason: str, detail: str, start: float) -> Outbound:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        headers = [
            ("x-reject-reason", reason.encode()),
            ("x-reject-detail", _truncate(detail)),
            ("x-source-topic", message.topic.encode()),
            ("x-source-partition", str(message.partition).encode()),
            ("x-source-offset", str(message.offset).encode()),
            ("x-worker-version", __version__.encode()),
            ("x-rejected-at", now.encode()),
        ]
        return Outbound(
            topic=self.dlq_topic,
            key=message.key,
            value=message.value if message.value is not None else b"",
            headers=headers,
            reason=reason,
            language=None,
            duration=time.perf_counter() - start,
        )


def _truncate(detail: str) -> bytes:
    """UTF-8 of ``detail``, cut to the limit without splitting a character."""
    data = detail.encode("utf-8", "replace")[:MAX_DETAIL_BYTES]
    return data.decode("utf-8", "ignore").encode("utf-8")
