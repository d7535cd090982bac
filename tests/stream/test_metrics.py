"""Metrics the worker adds beyond its fixed set: the helper processes' counters, the
process collector, rebalances and partitions held."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from faust.types import TP
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.stream.conftest import Topics
from worker.settings import Settings
from worker.stream.app import StreamWorker
from worker.stream.metrics import create_metrics, register_helpers
from worker.stream.offload import OffloadCounters


def samples(text: str) -> dict[str, float]:
    """Unlabelled samples of an exposition, by name."""
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.labels
    }


def test_helper_counters_are_read_at_each_scrape() -> None:
    metrics = create_metrics()
    counters = OffloadCounters()
    register_helpers(metrics, lambda: counters)
    counters.helpers_replaced = 3
    counters.helper_deaths = 1
    text = generate_latest(metrics.registry).decode()
    assert "article_worker_helpers_replaced_total 3.0" in text
    assert "article_worker_helper_deaths_total 1.0" in text
    counters.helpers_replaced = 4
    assert "article_worker_helpers_replaced_total 4.0" in generate_latest(metrics.registry).decode()


def test_process_memory_and_cpu_are_exposed_in_the_workers_own_registry() -> None:
    metrics = create_metrics()
    before = samples(generate_latest(metrics.registry).decode())
    assert before["process_resident_memory_bytes"] > 1024 * 1024
    assert before["process_start_time_seconds"] <= time.time()
    # CPU time is read afresh at each scrape.
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    after = samples(generate_latest(metrics.registry).decode())
    assert after["process_cpu_seconds_total"] > before["process_cpu_seconds_total"]
    assert "python_info" in generate_latest(metrics.registry).decode()


def test_process_collectors_can_be_left_out() -> None:
    text = generate_latest(create_metrics(process=False).registry).decode()
    assert "process_resident_memory_bytes" not in text
    assert "article_worker_rebalances_total 0.0" in text
    assert "article_worker_assigned_partitions 0.0" in text


def _worker() -> StreamWorker:
    # Passthrough: no gazetteer and no helper processes; the app is made but not started.
    return StreamWorker(Settings(raw_topic="raw", enrich_processes=0), passthrough=True)


def test_each_assignment_counts_one_rebalance_and_sets_the_raw_partitions_held() -> None:
    worker = _worker()
    m = worker.metrics

    def now() -> tuple[float | None, float | None]:
        get = m.registry.get_sample_value
        return get("article_worker_rebalances_total"), get("article_worker_assigned_partitions")

    async def rebalances() -> list[tuple[float | None, float | None]]:
        seen = []
        await worker._on_revoked(None, set())  # the empty revocation before the first join
        # Faust's own leader topic is assigned too; it is not a raw partition.
        await worker._on_assigned(None, {TP("raw", 0), TP("raw", 1), TP("raw-leader", 0)})
        seen.append(now())
        await worker._on_revoked(None, {TP("raw", 0), TP("raw", 1), TP("raw-leader", 0)})
        seen.append(now())
        await worker._on_assigned(None, {TP("raw", 1)})
        seen.append(now())
        await worker._on_revoked(None, {TP("raw", 1)})
        await worker._on_assigned(None, set())  # more replicas than partitions
        seen.append(now())
        return seen

    assert asyncio.run(rebalances()) == [(1, 2), (1, 0), (2, 1), (3, 0)]
    text = generate_latest(m.registry).decode()
    assert "article_worker_rebalances_total 3.0" in text


@pytest.mark.kafka
def test_workers_report_the_partitions_they_hold(topics: Topics, start_worker: Any) -> None:
    first = start_worker(topics)
    assert first.metric("article_worker_assigned_partitions") == topics.partitions
    assert first.metric("article_worker_rebalances_total") >= 1
    second = start_worker(topics)
    # The second join is a rebalance for both; wait until the first replica saw it end.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        held = [w.metric("article_worker_assigned_partitions") for w in (first, second)]
        if sum(held) == topics.partitions and first.metric("article_worker_rebalances_total") > 1:
            break
        time.sleep(0.3)
    assert sum(held) == topics.partitions, held
    assert all(h > 0 for h in held), held
    assert first.metric("article_worker_rebalances_total") >= 2
    assert second.metric("article_worker_rebalances_total") >= 1
    assert first.metric("process_resident_memory_bytes") > 10 * 1024 * 1024
    assert first.stop() == 0
    assert second.stop() == 0
