"""Output sizes: the producers' limits, the output topics' ``max.message.bytes``, and
what to send instead of a record Kafka refuses (:class:`Demoter`).

Checking a record against its topic's limit before sending keeps the broker from
refusing it at all, which matters because a refused record makes aiokafka fail the
other records in flight behind it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiokafka.errors as aerrors

from worker.enrich import errors as reasons
from worker.kafka_clients import new_admin
from worker.settings import Settings
from worker.stream.processor import (
    RECORD_OVERHEAD,
    Inbound,
    Outbound,
    dead_letter,
    message_size,
    shrink_dead_letter,
)
from worker.stream.topics import max_message_bytes

log = logging.getLogger("article_worker")

#: Errors that mean "this one record is too large", from the client or the broker.
SIZE_ERRORS: tuple[type[Exception], ...] = (
    aerrors.MessageSizeTooLargeError,
    aerrors.RecordTooLargeError,
    aerrors.RecordListTooLargeError,
)


@dataclass(slots=True)
class Item:
    """One consumed message and the output it should become."""

    inbound: Inbound
    out: Outbound


def producer_options(settings: Settings, limits: dict[str, int] | None = None) -> dict[str, Any]:
    """What both publishers' producers share; ``limits`` are the output topics'
    ``max.message.bytes``, which a batch of records must not exceed either."""
    options: dict[str, Any] = {
        "client_id": f"{settings.app_id}-publisher",
        "acks": "all",
        "linger_ms": 5,
        # Our limit is on one message; a request may carry a batch of them.
        "max_request_size": settings.output_max_bytes + RECORD_OVERHEAD,
        "max_batch_size": max(16384, min(1024 * 1024, settings.output_max_bytes)),
        "request_timeout_ms": 15000,
        "compression_type": settings.compression_codec,
    }
    if limits:
        # A produce batch over a topic's limit is refused whole, small records and all.
        smallest = min(limits.values()) - RECORD_OVERHEAD
        options["max_batch_size"] = max(1024, min(int(options["max_batch_size"]), smallest))
    return options


def demote(item: Item, exc: BaseException, dlq_topic: str, limit: int, rung: int) -> Outbound:
    """What to send instead of ``item.out`` after Kafka refused it for good."""
    out = item.out
    if out.reason is None:  # an enriched record: dead-letter the original instead
        reason = (
            reasons.OUTPUT_TOO_LARGE if isinstance(exc, SIZE_ERRORS) else reasons.INTERNAL_ERROR
        )
        detail = f"Kafka refused the enriched record: {type(exc).__name__}: {exc}"
        letter = dead_letter(item.inbound, reason, detail, dlq_topic)
        return Outbound(
            letter.topic, letter.key, letter.value, letter.headers, reason, None, out.duration
        )
    return shrink_dead_letter(out, limit, rung)


class Demoter:
    """Replaces outputs that Kafka refuses (or would refuse) by ones it accepts.

    ``limits`` holds each output topic's message limit as the broker enforces it
    (``max.message.bytes``, read at start); checking it before sending keeps the
    broker from refusing a record at all, which matters because a refused record makes
    aiokafka fail the other records in flight behind it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits: dict[str, int] = {}

    def limit(self, topic: str) -> int:
        return min(self.settings.output_max_bytes, self.limits.get(topic, 1 << 62))

    def fit(self, item: Item, rungs: dict[int, int]) -> None:
        """Demote ``item`` until it is within its topic's limit (or cannot be cut)."""
        while message_size(item.out) > self.limit(item.out.topic):
            size = message_size(item.out)
            limit = self.limit(item.out.topic)
            exc = aerrors.MessageSizeTooLargeError(f"{size} bytes, topic limit {limit}")
            if not self.refused(item, exc, rungs):
                return

    def refused(self, item: Item, exc: BaseException, rungs: dict[int, int]) -> bool:
        """Demote ``item`` after a refusal; False when there is nothing left to cut."""
        key = id(item)
        rung = rungs.get(key, -1) + (item.out.reason is not None)
        if rung > 2:
            return False
        rungs[key] = rung
        before = item.out
        dlq = self.settings.dlq_topic
        item.out = demote(item, exc, dlq, self.limit(dlq), max(rung, 0))
        log.warning(
            "%s-%s@%s: a %d-byte %s is too large or refused (%s: %s); sending a %d-byte "
            "dead letter instead",
            item.inbound.topic,
            item.inbound.partition,
            item.inbound.offset,
            message_size(before),
            "record" if before.reason is None else "dead letter",
            type(exc).__name__,
            exc,
            message_size(item.out),
        )
        return True


async def read_topic_limits(settings: Settings, topics: Sequence[str]) -> dict[str, int]:
    """``max.message.bytes`` of each existing topic (an empty answer on any failure)."""

    def describe() -> dict[str, int]:
        admin = new_admin(settings, client_id=f"{settings.app_id}-limits")
        try:
            return max_message_bytes(admin, topics)
        finally:
            admin.close()

    try:
        return await asyncio.get_running_loop().run_in_executor(None, describe)
    except Exception as exc:  # noqa: BLE001 - without them the broker's refusals still count
        log.warning("cannot read the output topics' message limits: %s", exc)
        return {}
