"""(2) The Kafka client's ceiling: a plain aiokafka consume -> produce loop, no framework.

``python -m benchmarks.aiokafka_loop`` reads the same settings as the worker
(``ARTICLE_WORKER_*``: broker and security, ``raw_topic``, ``enriched_topic``, ``app_id``
as the consumer group) and loops: ``getmany`` a batch, ``send`` every message unchanged to
the enriched topic and collect the delivery futures, await them all, then commit the
batch's next offsets. Like the worker it is at least once (nothing is committed before
its output is acknowledged) and its producer has the worker's options
(:func:`worker.stream.limits.producer_options`), so the difference in rate is the
framework's and the enrichment's, not a looser delivery rule. Runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from worker.kafka_clients import aiokafka_options, new_aiokafka_producer
from worker.settings import Settings


async def relay(settings: Settings, stop: asyncio.Event) -> int:
    """Consume ``raw_topic`` and produce every message to ``enriched_topic`` until ``stop``;
    return how many were relayed."""
    from aiokafka import AIOKafkaConsumer

    from worker.stream.limits import producer_options

    consumer = AIOKafkaConsumer(
        settings.raw_topic,
        **aiokafka_options(
            settings,
            group_id=settings.app_id,
            client_id=f"{settings.app_id}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        ),
    )
    producer = new_aiokafka_producer(settings, **producer_options(settings))
    relayed = 0
    await producer.start()
    try:
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                futures: list[Any] = []
                offsets = {}
                for tp, records in batches.items():
                    for record in records:
                        futures.append(
                            await producer.send(
                                settings.enriched_topic, record.value, key=record.key
                            )
                        )
                    offsets[tp] = records[-1].offset + 1
                if futures:
                    await asyncio.gather(*futures)
                    await consumer.commit(offsets)  # only after every output is acked
                    relayed += len(futures)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
    return relayed


async def _main(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await relay(settings, stop)
    return 0


def main() -> int:
    """Run the loop until SIGTERM/SIGINT; the exit status."""
    from worker.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"benchmarks.aiokafka_loop: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_main(settings))


if __name__ == "__main__":
    sys.exit(main())
