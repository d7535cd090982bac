"""Running the enrichment core in helper processes, so it does not hold the event loop.

The core is CPU-bound Python; inline, every millisecond it takes is a millisecond in
which the event loop cannot fetch, publish or answer /readyz. With helper processes the
loop (Faust, aiokafka) and the core run on different cores, which is how one worker keeps
close to the rate of an agent that only forwards messages. Processes start with
``spawn`` (forking a process that runs threads and an event loop is unsafe) and load the
gazetteer once each.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from worker.enrich import Enricher
from worker.enrich.entities import Gazetteer
from worker.stream.processor import Inbound, Outbound, Processor

log = logging.getLogger("article_worker")

_child_processor: Processor | None = None


def build_processor(
    gazetteer: str, max_bytes: int, enriched_topic: str, dlq_topic: str
) -> Processor:
    """The enrich-or-dead-letter processor for these settings (loads the gazetteer)."""
    loaded = Gazetteer.from_path(Path(gazetteer)) if gazetteer else None
    return Processor(Enricher(gazetteer=loaded, max_bytes=max_bytes), enriched_topic, dlq_topic)


def _init_child(gazetteer: str, max_bytes: int, enriched_topic: str, dlq_topic: str) -> None:
    global _child_processor  # noqa: PLW0603 - one processor per helper process
    # Signals are the parent's business: it finishes in-flight work, then shuts us down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _child_processor = build_processor(gazetteer, max_bytes, enriched_topic, dlq_topic)


def _process_in_child(messages: list[Inbound]) -> list[Outbound]:
    if _child_processor is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("helper process not initialized")
    return [_child_processor.process(m) for m in messages]


class OffloadedProcessor:
    """Processes messages in ``processes`` helper processes; inline if the pool breaks."""

    def __init__(
        self, processor: Processor, processes: int, gazetteer: str, max_bytes: int
    ) -> None:
        self._inline = processor
        self._args = (gazetteer, max_bytes, processor.enriched_topic, processor.dlq_topic)
        self._processes = processes
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_child,
            initargs=self._args,
        )

    async def process(self, messages: list[Inbound]) -> list[Outbound]:
        """Process a batch in a helper (one round trip for the batch, not one per message)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, _process_in_child, messages)
        except BrokenProcessPool:
            # A helper died (OOM killer, a signal): replace the pool, and do these here.
            log.error("enrichment helper process died; starting a new pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return [self._inline.process(m) for m in messages]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
