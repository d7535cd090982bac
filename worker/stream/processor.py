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
``x-original-bytes``   only on a truncated dead letter: the original size
=====================  ==================================================

A dead letter whose original is too large for the dead-letter topic carries a bounded
prefix of it (``x-original-bytes`` says how large it was); the source topic, partition
and offset point at the whole original while it is within the raw topic's retention.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Protocol

import orjson

from worker import __version__
from worker.enrich import Enriched, Enricher
from worker.enrich import errors as reasons

MAX_DETAIL_BYTES = 1024
#: Bytes Kafka adds per record beyond key, value and header bytes (varints, attributes,
#: batch header for a one-record batch), rounded up generously.
RECORD_OVERHEAD = 512
DEFAULT_OUTPUT_MAX_BYTES = 4 * 1024 * 1024
#: The last rung of the dead-letter ladder before an empty value: small enough for any
#: topic a broker accepts by default (1 MB).
SMALL_PREFIX_BYTES = 64 * 1024


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


def record_headers(schema_version: object) -> list[tuple[str, bytes]]:
    """The headers of an enriched record (here, and again when the dedup stage marks it)."""
    return [
        ("content-type", b"application/json"),
        ("x-schema-version", str(schema_version).encode()),
    ]


def message_size(out: Outbound) -> int:
    """Bytes ``out`` takes in a produce request, counted as the producers count them."""
    headers = sum(len(k.encode()) + len(v) for k, v in out.headers)
    return len(out.key or b"") + len(out.value) + headers + RECORD_OVERHEAD


class MessageProcessor(Protocol):
    """Anything that turns one consumed message into the one message to publish."""

    def process(self, message: Inbound) -> Outbound: ...


class Processor:
    """Turns inbound messages into enriched records or dead letters. Never raises.

    Args:
        enricher: the core (anything with ``enrich(bytes) -> Enriched | Rejection``).
        enriched_topic, dlq_topic: where outputs go.
        output_max_bytes: an enriched record larger than this (key, value and headers)
            is dead-lettered as ``output_too_large`` instead.
    """

    def __init__(
        self,
        enricher: Enricher,
        enriched_topic: str,
        dlq_topic: str,
        output_max_bytes: int = DEFAULT_OUTPUT_MAX_BYTES,
    ) -> None:
        self.enricher = enricher
        self.enriched_topic = enriched_topic
        self.dlq_topic = dlq_topic
        self.output_max_bytes = output_max_bytes

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
        try:
            out = Outbound(
                topic=self.enriched_topic,
                key=record["id"].encode("utf-8"),
                value=orjson.dumps(record),
                headers=record_headers(record["schema_version"]),
                reason=None,
                language=record["language"]["code"],
                duration=time.perf_counter() - start,
            )
        except Exception as exc:  # noqa: BLE001 - e.g. orjson's nesting limit; this message only
            detail = f"cannot serialize the record: {type(exc).__name__}: {exc}"
            return self.dead_letter(message, reasons.INTERNAL_ERROR, detail, start)
        size = message_size(out)
        if size > self.output_max_bytes:
            detail = f"enriched record of {size} bytes, limit {self.output_max_bytes}"
            return self.dead_letter(message, reasons.OUTPUT_TOO_LARGE, detail, start)
        return out

    def dead_letter(self, message: Inbound, reason: str, detail: str, start: float) -> Outbound:
        """The dead letter of ``message`` (its original bytes and key; reason in headers)."""
        return dead_letter(message, reason, detail, self.dlq_topic, start)


def dead_letter(
    message: Inbound, reason: str, detail: str, dlq_topic: str, start: float | None = None
) -> Outbound:
    """The dead letter of ``message``: its original bytes and key, the reason in headers."""
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
        topic=dlq_topic,
        key=message.key,
        value=message.value if message.value is not None else b"",
        headers=headers,
        reason=reason,
        language=None,
        duration=time.perf_counter() - start if start is not None else 0.0,
    )


def shrink_dead_letter(out: Outbound, limit: int, rung: int) -> Outbound:
    """``out`` (a dead letter) cut to fit: rung 0 keeps what fits under ``limit``, rung 1
    a 64 KiB prefix, rung 2 and above no value at all; the key is cut the same way.

    The headers keep the reason and the source topic/partition/offset, so the original
    can still be found; ``x-original-bytes`` says how large it was.
    """
    # A letter cut before keeps the size of the real original.
    sizes = [int(v) for k, v in out.headers if k == "x-original-bytes"]
    original = sizes[0] if sizes else len(out.value)
    headers = [h for h in out.headers if h[0] != "x-original-bytes"]
    headers.append(("x-original-bytes", str(original).encode()))
    room = limit - message_size(Outbound(out.topic, None, b"", headers, None, None, 0.0))
    keep = (max(0, room), SMALL_PREFIX_BYTES, 0)[min(rung, 2)]
    key = out.key
    if key is not None and len(key) > keep // 2:
        key = key[: keep // 2]
    value = out.value[: max(0, keep - len(key or b""))]
    return Outbound(out.topic, key, value, headers, out.reason, out.language, out.duration)


def _truncate(detail: str) -> bytes:
    """UTF-8 of ``detail``, cut to the limit without splitting a character."""
    data = detail.encode("utf-8", "replace")[:MAX_DETAIL_BYTES]
    return data.decode("utf-8", "ignore").encode("utf-8")
