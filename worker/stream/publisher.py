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
from typing import Any, Protocol

import aiokafka.errors as aerrors
from aiokafka.structs import TopicPartition as AioTP
from faust.types import TP

from worker.kafka_clients import KAFKA_ERRORS, new_aiokafka_producer
from worker.settings import Settings
from worker.stream.health import Outage
from worker.stream.limits import SIZE_ERRORS, Demoter, Item, producer_options, read_topic_limits
from worker.stream.processor import (
    Inbound,
)

log = logging.getLogger("article_worker")

RETRY_MAX_SECONDS = 5.0
#: Longest one transactional attempt (start, sends, offsets, commit) may take; aiokafka
#: itself would wait for ever. Below the 60 s transaction timeout.
ATTEMPT_SECONDS = 45.0
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
        self._producer = new_aiokafka_producer(s, **producer_options(s, self.demoter.limits))
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def on_assigned(self, tps: Sequence[Any]) -> None:
        """Nothing to prepare: one producer serves every partition."""

    async def on_revoked(self, tps: Sequence[Any]) -> None:
        """Nothing to release: a revoked partition's offsets fail to commit, harmlessly."""

    async def publish(self, items: list[Item], offsets: dict[Any, int]) -> list[Item]:
        rungs: dict[int, int] = {}
        failed = await self._send_batch(items, rungs)
        if failed:
            await asyncio.gather(*(self._send(item, rungs, exc) for item, exc in failed))
        self.commit(offsets)
        return items

    async def _send_batch(
        self, items: list[Item], rungs: dict[int, int]
    ) -> list[tuple[Item, BaseException | None]]:
        """Send every item, then await the acknowledgements together; return the items
        that failed (with the error, or None if never sent) for :meth:`_send` to retry.

        The common case costs one enqueue per record and one wait for the batch, instead
        of a task and a wait per record.
        """
        producer = self._producer
        sent: list[tuple[Item, asyncio.Future[Any]]] = []
        failed: list[tuple[Item, BaseException | None]] = []
        for n, item in enumerate(items):
            self.demoter.fit(item, rungs)
            out = item.out
            try:
                future = await producer.send(out.topic, out.value, key=out.key, headers=out.headers)
            except Exception as exc:  # noqa: BLE001 - sorted out by _send, one by one
                # An outage makes every send wait for metadata: the rest go one by one,
                # concurrently, rather than each after the other's timeout.
                failed.append((item, exc))
                failed.extend((later, None) for later in items[n + 1 :])
                break
            sent.append((item, future))
        results = await asyncio.gather(*(f for _, f in sent), return_exceptions=True)
        for (item, _), result in zip(sent, results, strict=True):
            if isinstance(result, BaseException):
                failed.append((item, result))
        if not failed:
            self.outage.recovered()
        return failed

    async def _send(
        self, item: Item, rungs: dict[int, int], error: BaseException | None = None
    ) -> None:
        """Send one item until it is acknowledged; ``error`` is how a first try failed."""
        self.demoter.fit(item, rungs)
        delay = 0.1
        while True:
            producer = self._producer
            try:
                if error is not None:
                    raise error
                out = item.out
                future = await producer.send(out.topic, out.value, key=out.key, headers=out.headers)
                await future
                self.outage.recovered()
                return
            except REFUSED_ERRORS as exc:
                error = None
                if self.demoter.refused(item, exc, rungs):
                    continue
                raise UnpublishableError(item, exc) from exc
            except KAFKA_ERRORS as exc:
                error = None
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
            options = producer_options(self.settings, self.demoter.limits)
            fresh = new_aiokafka_producer(self.settings, **options)
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
        #: Bumped when a partition is revoked; a batch that began before is no longer
        #: this worker's to publish (the revocation makes its next owner read it again).
        #: Only revocation closes a partition: a batch may arrive while the assignment
        #: callback is still fencing, and skipping it then would lose it.
        self._epochs: dict[tuple[str, int], int] = defaultdict(int)
        self._closed: set[tuple[str, int]] = set()
        #: Committed offset of each partition once its producer has fenced the previous
        #: owner: messages below it were published by that owner, in a transaction that
        #: may have committed after our consumer read the group's offsets.
        self._floors: dict[tuple[str, int], int] = {}

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
        for tp in tps:  # all reopened before the first await
            key = (tp.topic, tp.partition)
            self._closed.discard(key)
            self._floors.pop(key, None)
        for tp in tps:
            key = (tp.topic, tp.partition)
            try:
                async with self._locks[key]:
                    await self._fence(tp)
            except (*RETRY_ERRORS, *FENCED_ERRORS) as exc:  # tried again on the first publish
                log.warning("transactional producer for %s-%s: %s", tp.topic, tp.partition, exc)

    async def on_revoked(self, tps: Sequence[Any]) -> None:
        for tp in tps:
            key = (tp.topic, tp.partition)
            self._epochs[key] += 1
            self._closed.add(key)
            async with self._locks[key]:
                await self._discard(key)

    async def _fence(self, tp: Any) -> Any:
        """The partition's producer, started (fencing the previous owner), and its floor."""
        key = (tp.topic, tp.partition)
        producer = await self._producer(tp)
        if key not in self._floors:
            self._floors[key] = await self.committed(tp)
        return producer

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
                **producer_options(self.settings, self.demoter.limits),
            )
            try:
                await asyncio.wait_for(producer.start(), ATTEMPT_SECONDS)
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
        return [item for published in done for item in published]

    async def _publish_partition(self, tp: Any, items: list[Item], next_offset: int) -> list[Item]:
        key = (tp.topic, tp.partition)
        epoch = self._epochs[key]
        rungs: dict[int, int] = {}
        delay = 0.1
        attempt = 0
        while True:
            if key in self._closed or self._epochs[key] != epoch or tp not in self.assignment():
                log.info(
                    "%s-%s was taken away; its next owner processes the batch again",
                    tp.topic,
                    tp.partition,
                )
                return []
            async with self._locks[key]:
                try:
                    producer = await self._fence(tp)
                    committed = self._floors[key]
                    if attempt:
                        # A failed attempt may still have committed (a lost reply to the
                        # commit): the new producer's start has settled it; ask the group.
                        committed = await self.committed(tp)
                    if committed >= next_offset:
                        self.outage.recovered()
                        return []  # published before: by us, or by the previous owner
                    fresh = [i for i in items if i.inbound.offset >= committed]
                    await asyncio.wait_for(
                        self._transaction(producer, tp, fresh, next_offset, rungs),
                        ATTEMPT_SECONDS,
                    )
                    self.outage.recovered()
                    return fresh
                except FENCED_ERRORS as exc:
                    await self._discard(key)
                    if tp not in self.assignment():
                        log.warning(
                            "%s-%s: fenced by its new owner (%s); leaving the batch to it",
                            tp.topic,
                            tp.partition,
                            type(exc).__name__,
                        )
                        return []
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
                            raise UnpublishableError(item, exc) from exc
                        continue
                    futures.append(future)
                    break
            results = await asyncio.gather(*futures, return_exceptions=True)
            refused = False
            for item, result in zip(items, results, strict=True):
                if isinstance(result, REFUSED_ERRORS):
                    # Committing without this record would lose it: demote, or stop.
                    if not self.demoter.refused(item, result, rungs):
                        raise UnpublishableError(item, result)
                    refused = True
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


class UnpublishableError(RuntimeError):
    """Kafka refuses even the smallest dead letter of a message (a topic's configuration
    or ACLs): the worker stops rather than commit past it or retry for ever."""

    def __init__(self, item: Item, exc: BaseException) -> None:
        i = item.inbound
        super().__init__(
            f"{i.topic}-{i.partition}@{i.offset}: Kafka refuses even an empty dead letter "
            f"({type(exc).__name__}: {exc}); check the dead-letter topic's configuration"
        )


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
