"""The worker's Faust app: ``retry_backoff_ms`` reaches every aiokafka client the worker
runs (Faust's consumer: its client, and the fetcher and coordinator ``start`` makes from
it; Faust's producer; the worker's own producers), and Faust's seeks to the committed
offsets are reported. No broker: nothing here is started."""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
import pytest
from faust.types import TP

from worker.kafka_clients import new_aiokafka_producer, new_faust_app, set_consumer_retry_backoff
from worker.settings import Settings

SETTINGS = Settings(retry_backoff_ms=700)


def _built(make: Any) -> Any:
    """Run ``make()`` in an event loop (aiokafka clients want one), closing nothing."""

    async def inner() -> Any:
        return make()

    return asyncio.run(inner())


def test_faust_consumer_waits_retry_backoff_ms() -> None:
    def make() -> Any:
        app = new_faust_app(SETTINGS, store="memory://")
        return app.consumer._thread._create_consumer(loop=asyncio.get_running_loop())

    consumer = _built(make)
    assert consumer._retry_backoff_ms == 700  # what start() gives its fetcher and coordinator
    assert consumer._client._retry_backoff == 0.7


def test_faust_producer_and_the_workers_producers_wait_retry_backoff_ms() -> None:
    def make() -> Any:
        app = new_faust_app(SETTINGS, store="memory://")
        return app.producer._new_producer(), new_aiokafka_producer(SETTINGS)

    for producer in _built(make):
        assert producer._sender._retry_backoff == 0.7
        assert producer.client._retry_backoff == 0.7


def test_a_caller_may_still_choose_its_own_wait() -> None:
    producer = _built(lambda: new_aiokafka_producer(SETTINGS, retry_backoff_ms=50))
    assert producer._sender._retry_backoff == 0.05


def test_an_aiokafka_that_moved_the_wait_is_an_error_not_a_silent_100_ms() -> None:
    consumer = _built(lambda: aiokafka.AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1"))
    del consumer._retry_backoff_ms
    with pytest.raises(AttributeError, match="aiokafka changed"):
        set_consumer_retry_backoff(consumer, 700)


def test_each_seek_to_the_committed_offsets_is_reported() -> None:
    seen: list[Any] = []
    committed = {TP("raw", 0): 586, TP("raw", 1): None}

    async def scenario() -> Any:
        app = new_faust_app(SETTINGS, on_seek_to_committed=seen.append, store="memory://")

        async def thread_seek_to_committed() -> Any:  # the consumer thread, not started
            return committed

        app.consumer._thread.seek_to_committed = thread_seek_to_committed
        await app.consumer.perform_seek()  # what Faust's recovery calls at a rebalance
        return app.consumer._read_offset

    read_offset = asyncio.run(scenario())
    assert seen == [committed]
    assert read_offset[TP("raw", 0)] == 586
