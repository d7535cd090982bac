"""The batch pipeline between the agent and Kafka: process, publish, commit, in order.

The agent hands each batch it takes to :meth:`BatchRunner.submit`. Up to ``depth``
batches are in flight: the core works on one batch while the one before it is being
published. Publishing is strictly in submission order, so a batch's offsets are made
committable only after every batch before it was published: an offset is never
committed past a message whose output is not acknowledged, whatever the timing.

Faust's own acknowledgements are switched off for the raw topic (its events are acked
when the agent takes the next batch, which is too early, and an exception in the agent
would have them acked regardless); offsets move only through the publisher.

If anything unexpected breaks a batch (a bug, not a bad article: those are dead
letters), every later batch is held back too, nothing more is committed, and
``on_broken`` is called so the worker can exit and be restarted from the last
committed offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faust.types import TP

from worker.enrich import errors as reasons
from worker.stream.guard import OffsetGuard, Positioned
from worker.stream.health import Health
from worker.stream.limits import Item
from worker.stream.metrics import Metrics
from worker.stream.processor import Inbound, Outbound, dead_letter
from worker.stream.publisher import Publisher

log = logging.getLogger("article_worker")

ProcessBatch = Callable[[list[Inbound]], Awaitable[list[Outbound]]]
#: Seeks partitions (``{(topic, partition): offset}``) back, to read them again from there.
SeekBack = Callable[[dict[tuple[str, int], int]], Awaitable[None]]


async def admit_runs(
    guard: OffsetGuard | None, seek_back: SeekBack | None, messages: Sequence[Positioned]
) -> list[int] | None:
    """Indexes of the ``messages`` that continue their partitions' runs (None without a
    guard: all of them); the partitions whose run broke are handed to ``seek_back``."""
    if guard is None:
        return None
    admission = guard.admit(messages)
    if admission.seeks and seek_back is not None:
        await seek_back(admission.seeks)
    return admission.admitted


class BatchRunner:
    """Runs batches through ``process`` and ``publisher`` (see the module docstring).

    Args:
        process: the core over a batch (inline or in helper processes); one output each.
        publisher: sends outputs and makes offsets committable.
        metrics, health: updated as batches complete.
        depth: batches in flight at once (the ``concurrency`` setting).
        dlq_topic: where a batch goes when ``process`` itself fails.
        on_broken: called once if a batch fails unexpectedly.
        guard: if given, each partition's messages are published only in an unbroken run
            (:class:`~worker.stream.guard.OffsetGuard`); ``seek_back`` reads a broken
            run again from its first missing offset.
    """

    def __init__(
        self,
        process: ProcessBatch,
        publisher: Publisher,
        metrics: Metrics,
        health: Health,
        *,
        depth: int,
        dlq_topic: str,
        on_broken: Callable[[BaseException], None],
        guard: OffsetGuard | None = None,
        seek_back: SeekBack | None = None,
    ) -> None:
        self.process = process
        self.guard = guard
        self.seek_back = seek_back
        self.publisher = publisher
        self.metrics = metrics
        self.health = health
        self.dlq_topic = dlq_topic
        self.on_broken = on_broken
        self.positions: dict[TP, int] = {}
        #: Bumped when partitions are really revoked; a batch taken before that is not
        #: published after it. Dropping is safe only then: the eager rebalance makes every
        #: partition's next owner (maybe this worker again) read from the last commit.
        self.generation = 0
        #: After a revocation, the group generation of the next assignment: a message
        #: fetched in an earlier one (held in Faust's take buffer across the rebalance)
        #: is read again from the last commit, so it is stale too.
        self.min_message_generation: int | None = None
        self.broken: BaseException | None = None
        self.closed = False
        self._slots = asyncio.Semaphore(depth)
        self._tail: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, messages: list[Any]) -> None:
        """Start a batch of consumed Faust messages; waits while ``depth`` are in flight."""
        # Stamped before waiting for a slot: a rebalance while we wait makes it stale.
        generation = self.generation
        await self._slots.acquire()
        if self.closed or self.broken is not None:
            # Draining or broken: take no more; these are not committed, so they are
            # read again by whoever owns their partitions next.
            self._slots.release()
            await asyncio.Event().wait()
        previous = self._tail
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tail = done
        task = asyncio.create_task(self._run(messages, previous, done, generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, within: float | None = None) -> bool:
        """Wait for every batch in flight; False if ``within`` seconds passed first."""
        tasks = list(self._tasks)
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=within)
        return not pending

    async def _run(
        self,
        messages: list[Any],
        previous: asyncio.Future[None] | None,
        done: asyncio.Future[None],
        generation: int,
    ) -> None:
        m = self.metrics
        try:
            m.consumed.inc(len(messages))
            m.input_bytes.inc(sum(len(msg.value) for msg in messages if msg.value))
            m.in_flight.inc(len(messages))
            inbound = [
                Inbound(msg.topic, msg.partition, msg.offset, msg.key, msg.value, msg.timestamp)
                for msg in messages
            ]
            outs = await self._process(inbound)
            if previous is not None:
                await previous  # publishing keeps the order batches were taken in
            if self._stale(generation, messages):
                log.info(
                    "a batch of %d from before a rebalance is left to be read again", len(inbound)
                )
                done.set_result(None)
                return
            inbound, outs = await self._admit(inbound, outs)
            if not inbound:
                done.set_result(None)
                return
            offsets: dict[TP, int] = {}
            for msg in inbound:
                tp = TP(msg.topic, msg.partition)
                offsets[tp] = max(offsets.get(tp, 0), msg.offset + 1)
            items = [Item(i, o) for i, o in zip(inbound, outs, strict=True)]
            self.health.publishing_since = time.monotonic()
            try:
                published = await self.publisher.publish(items, offsets)
            finally:
                self.health.publishing_since = None
            self._account(published, offsets)
            done.set_result(None)
        except BaseException as exc:
            done.set_exception(_Held(exc))
            done.exception()  # retrieved here, so an unawaited tail does not warn
            if self.broken is None:
                self.broken = exc
                if not isinstance(exc, _Held | asyncio.CancelledError):
                    log.critical(
                        "a batch failed unexpectedly; committing nothing more", exc_info=exc
                    )
                    self.on_broken(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            m.in_flight.dec(len(messages))
            self._slots.release()

    async def _admit(
        self, inbound: list[Inbound], outs: list[Outbound]
    ) -> tuple[list[Inbound], list[Outbound]]:
        """The part of a batch that continues its partitions' runs (all of it, without a
        guard); a broken run is sought back, so that its missing messages come again."""
        keep = await admit_runs(self.guard, self.seek_back, inbound)
        if keep is None or len(keep) == len(inbound):
            return inbound, outs
        return [inbound[i] for i in keep], [outs[i] for i in keep]

    def _stale(self, generation: int, messages: list[Any]) -> bool:
        """Taken before the last revocation, or fetched before the assignment after it:
        its partitions are read again from the last commit, so publishing it could
        duplicate (or, under exactly once, commit after a batch that was dropped)."""
        if generation != self.generation:
            return True
        floor = self.min_message_generation
        return floor is not None and any(
            (getattr(m, "generation_id", None) or floor) < floor for m in messages
        )

    async def _process(self, inbound: list[Inbound]) -> list[Outbound]:
        try:
            return await self.process(inbound)
        except Exception as exc:  # the batch is kept, as dead letters
            # The core never raises and the helpers catch what it might; this is the
            # machinery failing. The originals go to the dead-letter topic, untouched.
            log.exception("processing a batch failed; dead-lettering its %d messages", len(inbound))
            detail = f"processing failed: {type(exc).__name__}: {exc}"
            return [dead_letter(i, reasons.INTERNAL_ERROR, detail, self.dlq_topic) for i in inbound]

    def _account(self, published: list[Item], offsets: dict[TP, int]) -> None:
        m = self.metrics
        now = time.time()
        for item in published:
            out = item.out
            m.processing.observe(out.duration)
            if item.inbound.timestamp:
                m.end_to_end.observe(max(0.0, now - item.inbound.timestamp))
            if out.reason is None:
                m.enriched.inc()
                if out.language:
                    m.language(out.language)
            else:
                m.reject(out.reason)
        for tp, offset in offsets.items():
            self.positions[tp] = max(self.positions.get(tp, 0), offset)
        m.last_processed.set(now)
        self.health.mark_progress()


class _Held(Exception):  # noqa: N818 - carries the reason a later batch is held back
    """An earlier batch failed, so this one is not published either."""


class ConsumerCommitter:
    """Commits offsets through Faust's consumer, coalescing, in the background.

    ``note`` is cheap and never blocks the publish stage; the latest offsets of every
    partition are committed as soon as the previous commit is done. A commit for a
    partition no longer assigned is dropped (its new owner reads from the last commit).
    """

    def __init__(self, app: Any, health: Health) -> None:
        self.app = app
        self.health = health
        self._pending: dict[TP, int] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def note(self, offsets: dict[Any, int]) -> None:
        for tp, offset in offsets.items():
            self._pending[tp] = max(self._pending.get(tp, 0), offset)
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def flush(self, within: float) -> bool:
        """Wait until everything noted is committed (or dropped); False after ``within`` s."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)
            return True
        return False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        from worker.kafka_clients import KAFKA_ERRORS

        delay = 0.1
        while True:
            await self._wake.wait()
            self._wake.clear()
            offsets, self._pending = self._pending, {}
            if not offsets:
                self._idle.set()
                continue
            try:
                thread = self.app.consumer._thread
                await thread.call_thread(_commit_in_thread, thread, offsets)
                self.health.outage.recovered()
                delay = 0.1
            except KAFKA_ERRORS as exc:
                if type(exc).__name__ in {"CommitFailedError", "IllegalStateError"}:
                    # Its partitions' next owner reads from the last commit (duplicates).
                    log.info("commit dropped after a rebalance: %s", exc)
                    if not self._pending:
                        self._idle.set()
                    continue
                self.health.outage.failing(exc)
                for tp, offset in offsets.items():  # try again, with whatever came since
                    self._pending[tp] = max(self._pending.get(tp, 0), offset)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                self._wake.set()
            if not self._pending:
                self._idle.set()


async def _commit_in_thread(thread: Any, offsets: dict[TP, int]) -> None:
    """Runs on the consumer's own thread and loop (aiokafka is not thread-safe there).

    Faust's own commit path is not used: it turns any commit error into a crash.
    """
    from aiokafka.structs import OffsetAndMetadata
    from aiokafka.structs import TopicPartition as AioTP

    consumer = thread._ensure_consumer()
    assigned = consumer.assignment()
    commit = {
        AioTP(tp.topic, tp.partition): OffsetAndMetadata(offset, "")
        for tp, offset in offsets.items()
        if AioTP(tp.topic, tp.partition) in assigned
    }
    if commit:
        await consumer.commit(commit)
