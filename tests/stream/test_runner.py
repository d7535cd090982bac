"""The batch pipeline's own rules, without a broker: publish order, offsets, a broken chain.

The publisher here is a stand-in that records calls (the shell's own logic under test);
the real publishers are tested against the broker in test_*_kafka.py.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from worker.stream.guard import OffsetGuard
from worker.stream.health import Health
from worker.stream.limits import Item
from worker.stream.metrics import create_metrics
from worker.stream.processor import Inbound, Outbound
from worker.stream.runner import BatchRunner


def message(partition: int, offset: int) -> Any:
    return SimpleNamespace(
        topic="raw", partition=partition, offset=offset, key=b"k", value=b"v", timestamp=None
    )


class RecordingPublisher:
    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[tuple[list[int], dict[Any, int]]] = []
        self.fail_at = fail_at

    async def publish(self, items: list[Item], offsets: dict[Any, int]) -> list[Item]:
        # Publishes take varying time; the order must hold regardless.
        await asyncio.sleep(0.001 * (len(self.calls) % 3))
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise RuntimeError("a bug in the publisher")
        self.calls.append(([i.inbound.offset for i in items], dict(offsets)))
        return items


async def slow_then_fast(inbound: list[Inbound]) -> list[Outbound]:
    # The first batch takes longest: a later batch is ready to publish before it.
    await asyncio.sleep(0.05 if inbound[0].offset == 0 else 0.0)
    return [Outbound("enriched", i.key, b"{}", [], None, "en", 0.0) for i in inbound]


def runner(publisher: Any, broken: list[BaseException], depth: int = 3) -> BatchRunner:
    return BatchRunner(
        slow_then_fast,
        publisher,
        create_metrics(),
        Health(stall_seconds=30),
        depth=depth,
        dlq_topic="dlq",
        on_broken=broken.append,
    )


def test_batches_publish_in_the_order_they_were_taken() -> None:
    async def scenario() -> RecordingPublisher:
        publisher = RecordingPublisher()
        run = runner(publisher, [])
        for start in (0, 10, 20, 30):
            await run.submit([message(0, start + n) for n in range(10)])
        assert await run.drain(5)
        return publisher

    publisher = asyncio.run(scenario())
    assert [offsets[0] for offsets, _ in publisher.calls] == [0, 10, 20, 30]
    # each batch makes its partition committable up to just past its last message
    assert [next(iter(o.values())) for _, o in publisher.calls] == [10, 20, 30, 40]


def test_a_broken_batch_holds_back_every_later_one() -> None:
    async def scenario() -> tuple[RecordingPublisher, list[BaseException], BatchRunner]:
        publisher = RecordingPublisher(fail_at=1)
        broken: list[BaseException] = []
        run = runner(publisher, broken)
        for start in (0, 10, 20):
            await run.submit([message(1, start + n) for n in range(10)])
        await run.drain(5)
        return publisher, broken, run

    publisher, broken, run = asyncio.run(scenario())
    assert [offsets[0] for offsets, _ in publisher.calls] == [0]  # nothing after the failure
    assert len(broken) == 1
    assert isinstance(broken[0], RuntimeError)
    assert run.positions == {("raw", 1): 10}


def test_submit_waits_while_depth_batches_are_in_flight() -> None:
    async def scenario() -> int:
        release = asyncio.Event()

        class Blocking(RecordingPublisher):
            async def publish(self, items: list[Item], _offsets: dict[Any, int]) -> list[Item]:
                await release.wait()
                return items

        run = runner(Blocking(), [], depth=2)
        await run.submit([message(0, 0)])
        await run.submit([message(0, 1)])
        third = asyncio.ensure_future(run.submit([message(0, 2)]))
        await asyncio.sleep(0.1)
        waiting = int(not third.done())
        release.set()
        await third
        await run.drain(5)
        return waiting

    assert asyncio.run(scenario()) == 1


def test_a_failing_core_dead_letters_the_batch_instead() -> None:
    async def exploding(_inbound: list[Inbound]) -> list[Outbound]:
        raise OSError("helper pipe closed")

    async def scenario() -> list[Item]:
        seen: list[Item] = []

        class Keep(RecordingPublisher):
            async def publish(self, items: list[Item], _offsets: dict[Any, int]) -> list[Item]:
                seen.extend(items)
                return items

        run = runner(Keep(), [])
        run.process = exploding
        await run.submit([message(0, 5), message(0, 6)])
        await run.drain(5)
        return seen

    items = asyncio.run(scenario())
    assert [i.out.topic for i in items] == ["dlq", "dlq"]
    assert all(i.out.reason == "internal_error" for i in items)
    assert [i.out.value for i in items] == [b"v", b"v"]  # the originals


@pytest.mark.parametrize("depth", [1, 4])
def test_metrics_count_what_was_published(depth: int) -> None:
    async def scenario() -> BatchRunner:
        run = runner(RecordingPublisher(), [], depth=depth)
        await run.submit([message(2, n) for n in range(7)])
        await run.drain(5)
        return run

    run = asyncio.run(scenario())
    m = run.metrics
    assert m.consumed._value.get() == 7
    assert m.enriched._value.get() == 7
    assert m.in_flight._value.get() == 0


def test_a_batch_from_before_a_revocation_is_not_published_after_it() -> None:
    async def scenario() -> RecordingPublisher:
        publisher = RecordingPublisher()
        run = runner(publisher, [])
        await run.submit([message(0, n) for n in range(10)])  # offset 0: slow to process
        run.generation += 1  # a rebalance revokes the partitions meanwhile
        await run.submit([message(0, n) for n in range(10, 20)])  # the new owner's read
        assert await run.drain(5)
        return publisher

    publisher = asyncio.run(scenario())
    assert [offsets[0] for offsets, _ in publisher.calls] == [10]


def test_a_record_from_before_a_rebalance_is_not_published_past_the_ones_it_skipped() -> None:
    # faust-streaming/faust#221: after the seek to the committed offset 586, records
    # fetched before the rebalance (590-591) come first. Published, they would commit 592
    # and 586-589 would be lost; the guard holds them back and seeks back to 586.
    sought: list[dict[tuple[str, int], int]] = []

    async def seek_back(seeks: dict[tuple[str, int], int]) -> None:
        sought.append(seeks)

    async def scenario() -> RecordingPublisher:
        publisher = RecordingPublisher()
        guard = OffsetGuard()
        run = BatchRunner(
            slow_then_fast,
            publisher,
            create_metrics(),
            Health(stall_seconds=30),
            depth=2,
            dlq_topic="dlq",
            on_broken=lambda _: None,
            guard=guard,
            seek_back=seek_back,
        )
        guard.start({TP("raw", 0): 586, TP("raw", 1): 0})
        await run.submit([message(0, 590), message(0, 591), message(1, 0)])
        await run.submit([message(0, o) for o in range(586, 592)])
        assert await run.drain(5)
        return publisher

    publisher = asyncio.run(scenario())
    assert sought == [{("raw", 0): 586}]
    assert publisher.calls == [
        ([0], {TP("raw", 1): 1}),
        ([586, 587, 588, 589, 590, 591], {TP("raw", 0): 592}),
    ]
