"""Publishing one batch's outputs and committing its input offsets.

Two ways, one interface (:class:`Publisher`):

* :class:`AtLeastOncePublisher`: one idempotent producer; the batch's outputs are sent
  and every one is acknowledged before the input offsets go to the committer. A crash
  in between means the batch is processed again (duplicates, never loss).
* :class:`TransactionalPublisher`: exactly once. One transactional producer per input
  partition, ``transactional.id`` = ``<app_id>-<topic>-<partition>``; each batch's
  outputs for a partition and that partition's next offset are one Kafka transaction.
  Whoever owns the partition next starts a producer with the same id, which fences the
  previous owner (a zombie's commit fails) and aborts its open transaction.

Either way a message's output that Kafka refuses because of its size is replaced by a
dead letter (``output_too_large``), and a dead letter too large for its topic is cut
(:func:`~worker.stream.processor.shrink_dead_letter`), so no message can stop the
stream. Anything else is retried, with backoff, until it is acknowledged, the
partition is taken away, or the worker stops; meanwhile :class:`~worker.stream.health.
Outage` makes the worker not-ready and logs the state once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiokafka.errors as aerrors
from aiokafka.structs import TopicPartition as AioTP
from faust.types import TP

from worker.enrich import errors as reasons
from worker.kafka_clients import KAFKA_ERRORS, new_admin, new_aiokafka_producer
from worker.settings import Settings
from worker.stream.health import Outage
from worker.stream.processor import (
    RECORD_OVERHEAD,
    Inbound,
    Outbound,
    dead_letter,
    message_size,
    shrink_dead_letter,
)

log = logging.getLogger("article_worker")

RETRY_MAX_SECONDS = 5.0
#: Errors that mean "this one record is too large", from the client or the broker.
SIZE_ERRORS: tuple[type[Exception], ...] = (
    aerrors.MessageSizeTooLargeError,
    aerrors.RecordTooLargeError,
    aerrors.RecordListTooLargeError,
)
#: Errors that mean another producer with our transactional id took over.
FENCED_ERRORS: tuple[type[Exception], ...] = (
    aerrors.ProducerFenced,
    aerrors.InvalidProducerEpoch,
)
#: Per-record refusals that retrying cannot cure; the record is dead-lettered instead.
RECORD_ERRORS: tuple[type[Exception], ...] = (aerrors.CorruptRecordException,)


#: Everything a retry can cure: either library's errors, and our own time limits.
RETRY_ERRORS: tuple[type[BaseException], ...] = (*KAFKA_ERRORS, TimeoutError)
REFUSED_ERRORS: tuple[type[BaseException], ...] = (*SIZE_ERRORS, *RECORD_ERRORS)


class TopicPartitionLike(Protocol):
    """A topic-partition as Faust gives it (a named tuple)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...


@dataclass(slots=True)
class Item:
    """One consumed message and the output it should become."""

    inbound: Inbound
    out: Outbound


class Publisher(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, items: list[Item], offsets: dict[Any, int]) -> list[Item]:
        """Publish ``items`` (in place: a demoted output replaces its item's ``out``) and
        make ``offsets`` (topic-partition -> next offset) committable; return the items
        this worker published (a partition taken away meanwhile leaves its items out)."""
        ...

    async def on_assigned(self, tps: Sequence[Any]) -> None: ...

    async def on_revoked(self, tps: Sequence[Any]) -> None: ...


def producer_options(settings: Settings) -> dict[str, Any]:
    """What both publishers' producers share."""
    return {
        "client_id": f"{settings.app_id}-publisher",
        "acks": "all",
        "linger_ms": 5,
        # Our limit is on one message; a request may carry a batch of them.
        "max_request_size": settings.output_max_bytes + RECORD_OVERHEAD,
        "max_batch_size": max(16384, min(1024 * 1024, settings.output_max_bytes)),
        "request_timeout_ms": 15000,
        "compression_type": None
        if settings.producer_compression == "none"
        else settings.producer_compression,
    }


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
        from kafka.admin import ConfigResource, ConfigResourceType

        admin = new_admin(settings, client_id=f"{settings.app_id}-limits")
        try:
            resources = [
                ConfigResource(ConfigResourceType.TOPIC, t, configs=["max.message.bytes"])
                for t in topics
            ]
            # kafka-python 3 answers {type: {name: {key: {"value": ...}}}}; "all", since
            # the default "modified" leaves out a limit that was never changed.
            described = admin.describe_configs(resources, config_filter="all")
            limits: dict[str, int] = {}
            for name, configs in described.get("topic", {}).items():
                entry = configs.get("max.message.bytes")
                if entry and entry.get("value"):
                    limits[name] = int(entry["value"])
            return limits
        finally:
            admin.close()

    try:
        return await asyncio.get_running_loop().run_in_executor(None, describe)
    except Exception as exc:  # noqa: BLE001 - without them the broker's refusals still count
        log.warning("cannot read the output topics' message limits: %s", exc)
        return {}


class AtLeastOncePublisher:
    """One producer; offsets go to ``commit`` once every output is acknowledged.

    Not idempotent on purpose: at least once allows a duplicate anyway, and aiokafka's
    idempotent producer stops for good after one refused record (the records behind it
    fail with OutOfOrderSequenceNumber and its sender task ends).
    """

    def __init__(
        self, settings: Settings, outage: Outage, commit: Callable[[dict[Any, int]], None]
    ) -> None:
        self.settings = settings
        self.outage = outage
        self.commit = commit
        self.demoter = Demoter(settings)
        self._producer: Any = None
        self._replacing = asyncio.Lock()

    async def start(self) -> None:
        s = self.settings
        self.demoter.limits = await read_topic_limits(s, [s.enriched_topic, s.dlq_topic])
        self._producer = new_aiokafka_producer(s, **producer_options(s))
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def on_assigned(self, tps: Sequence[Any]) -> None:
        """Nothing to prepare: one producer serves every partition."""

    async def on_revoked(self, tps: Sequence[Any]) -> None:
        """Nothing to release: a revoked partition's offsets fail to commit, harmlessly."""

    async def publish(self, items: list[Item], offsets: dict[Any, int]) -> list[Item]:
        await asyncio.gather(*(self._send(item) for item in items))
        self.commit(offsets)
        return items

    async def _send(self, item: Item) -> None:
        rungs: dict[int, int] = {}
        self.demoter.fit(item, rungs)
        delay = 0.1
        while True:
            out = item.out
            producer = self._producer
            try:
                future = await producer.send(out.topic, out.value, key=out.key, headers=out.headers)
                await future
                self.outage.recovered()
                return
            except REFUSED_ERRORS as exc:
                if self.demoter.refused(item, exc, rungs):
                    continue
                self.outage.failing(exc)
            except KAFKA_ERRORS as exc:
                self.outage.failing(exc)
                await self._replace_if_dead(producer)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _replace_if_dead(self, producer: Any) -> None:
        """A producer whose sender task ended sends nothing again: start a new one."""
        async with self._replacing:
            sender = getattr(producer, "_sender", None)
            task = getattr(sender, "sender_task", None)
            if producer is not self._producer or task is None or not task.done():
                return
            log.warning("the producer stopped after an error; starting a new one")
            fresh = new_aiokafka_producer(self.settings, **producer_options(self.settings))
            await fresh.start()
            self._producer = fresh
            await _stop_quietly(producer)


class TransactionalPublisher:
    """Exactly once: per partition, a batch's outputs and next offset in one transaction.

    Args:
        settings: the worker's settings (``app_id`` is also the consumer group id).
        outage: not-ready bookkeeping while Kafka cannot be reached.
        assignment: the input partitions this worker owns now.
        committed: the group's committed offset of a partition (-1 if none).
    """

    def __init__(
        self,
        settings: Settings,
        outage: Outage,
        assignment: Callable[[], set[Any]],
        committed: Callable[[Any], Awaitable[int]],
    ) -> None:
        self.settings = settings
        self.outage = outage
        self.assignment = assignment
        self.committed = committed
        self.demoter = Demoter(settings)
        self._producers: dict[tuple[str, int], Any] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = defaultdict(asyncio.Lock)

    def transactional_id(self, tp: TopicPartitionLike) -> str:
        return f"{self.settings.app_id}-{tp.topic}-{tp.partition}"

    async def start(self) -> None:
        s = self.settings
        self.demoter.limits = await read_topic_limits(s, [s.enriched_topic, s.dlq_topic])

    async def stop(self) -> None:
        for key in list(self._producers):
            await self._discard(key)

    async def on_assigned(self, tps: Sequence[Any]) -> None:
        # Start (and so fence the previous owner's producer) before the first batch.
        for tp in tps:
            try:
                async with self._locks[(tp.topic, tp.partition)]:
                    await self._producer(tp)
            except KAFKA_ERRORS as exc:  # tried again on the first publish
                log.warning("transactional producer for %s-%s: %s", tp.topic, tp.partition, exc)

    async def on_revoked(self, tps: Sequence[Any]) -> None:
        for tp in tps:
            async with self._locks[(tp.topic, tp.partition)]:
                await self._discard((tp.topic, tp.partition))

    async def _producer(self, tp: TopicPartitionLike) -> Any:
        """The partition's producer, started on first use. Call with its lock held: two
        producers with one transactional id fence each other."""
        key = (tp.topic, tp.partition)
        producer = self._producers.get(key)
        if producer is None:
            producer = new_aiokafka_producer(
                self.settings,
                transactional_id=self.transactional_id(tp),
                transaction_timeout_ms=60000,
                **producer_options(self.settings),
            )
            try:
                await producer.start()
            except BaseException:
                await _stop_quietly(producer)
                raise
            self._producers[key] = producer
        return producer

    async def _discard(self, key: tuple[str, int]) -> None:
        producer = self._producers.pop(key, None)
        if producer is not None:
            await _stop_quietly(producer)

    async def publish(self, items: list[Item], offsets: dict[Any, int]) -> list[Item]:
        by_tp: dict[Any, list[Item]] = defaultdict(list)
        for item in items:
            by_tp[_faust_tp(item.inbound)].append(item)
        done = await asyncio.gather(
            *(self._publish_partition(tp, group, offsets[tp]) for tp, group in by_tp.items())
        )
        return [
            item for group, ok in zip(by_tp.values(), done, strict=True) if ok for item in group
        ]

    async def _publish_partition(self, tp: Any, items: list[Item], next_offset: int) -> bool:
        key = (tp.topic, tp.partition)
        rungs: dict[int, int] = {}
        delay = 0.1
        attempt = 0
        while True:
            if tp not in self.assignment():
                log.info(
                    "%s-%s was taken away; its new owner processes the batch again",
                    tp.topic,
                    tp.partition,
                )
                return False
            async with self._locks[key]:
                try:
                    producer = await self._producer(tp)
                    # A failed attempt may still have committed (a lost reply to the
                    # commit): the new producer's start has settled it, so ask the group.
                    if attempt and await self.committed(tp) >= next_offset:
                        self.outage.recovered()
                        return True
                    await self._transaction(producer, tp, items, next_offset, rungs)
                    self.outage.recovered()
                    return True
                except FENCED_ERRORS as exc:
                    await self._discard(key)
                    if tp not in self.assignment():
                        log.warning(
                            "%s-%s: fenced by its new owner (%s); leaving the batch to it",
                            tp.topic,
                            tp.partition,
                            type(exc).__name__,
                        )
                        return False
                    # Another producer owns the partition while our consumer still thinks
                    # it is ours: we are the zombie. Going on would commit later batches
                    # past this one, so this worker must stop (the runner sees to it).
                    raise FencedError(f"{tp.topic}-{tp.partition}: {exc!r}") from exc
                except _Refused:
                    continue  # a record was demoted; send the batch again at once
                except RETRY_ERRORS as exc:
                    # Whatever state the transaction is in, a new producer with the same
                    # id aborts or completes it; start afresh rather than reason about it.
                    self.outage.failing(exc)
                    await self._discard(key)
                finally:
                    attempt += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _transaction(
        self, producer: Any, tp: Any, items: list[Item], next_offset: int, rungs: dict[int, int]
    ) -> None:
        await producer.begin_transaction()
        try:
            futures = []
            for item in items:
                self.demoter.fit(item, rungs)
                while True:
                    out = item.out
                    try:
                        future = await producer.send(
                            out.topic, out.value, key=out.key, headers=out.headers
                        )
                    except SIZE_ERRORS as exc:  # refused before anything was sent
                        if not self.demoter.refused(item, exc, rungs):
                            raise
                        continue
                    futures.append(future)
                    break
            results = await asyncio.gather(*futures, return_exceptions=True)
            refused = False
            for item, result in zip(items, results, strict=True):
                if isinstance(result, REFUSED_ERRORS):
                    refused = self.demoter.refused(item, result, rungs) or refused
                elif isinstance(result, BaseException):
                    raise result
            if refused:
                raise _Refused
        except _Refused:
            await asyncio.wait_for(producer.abort_transaction(), 30)
            raise
        await producer.send_offsets_to_transaction(
            {AioTP(tp.topic, tp.partition): next_offset}, self.settings.app_id
        )
        await producer.commit_transaction()


class FencedError(RuntimeError):
    """A partition's transactional producer was fenced while the partition was ours."""


class _Refused(Exception):  # noqa: N818 - a signal within this module, not an error
    """A record of the transaction was demoted; abort and send the batch again."""


def _faust_tp(inbound: Inbound) -> TP:
    return TP(inbound.topic, inbound.partition)


async def _stop_quietly(producer: Any) -> None:
    try:
        await asyncio.wait_for(producer.stop(), 10)
    except Exception as exc:  # noqa: BLE001 - it is being thrown away either way
        log.debug("stopping a producer: %s", exc)
