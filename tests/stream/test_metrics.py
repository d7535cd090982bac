"""Metrics the worker adds beyond its fixed set: the helper processes' counters, memory
and CPU time, the process collector, rebalances and partitions held."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from faust.types import TP
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SEEDS
from tests.stream.conftest import Topics
from tests.stream.test_offload_budget import misbehaving_factory
from worker.settings import Settings
from worker.stream.app import StreamWorker
from worker.stream.metrics import HelperProcessCollector, Metrics, create_metrics, register_helpers
from worker.stream.offload import OffloadCounters, OffloadedProcessor, build_processor
from worker.stream.processor import Inbound, Outbound

MEMORY = "article_worker_helper_resident_memory_bytes"
CPU = "article_worker_helper_cpu_seconds_total"
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


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
    assert CPU not in text
    assert "article_worker_rebalances_total 0.0" in text
    assert "article_worker_assigned_partitions 0.0" in text


class _Forward:
    def process(self, message: Inbound) -> Outbound:
        return Outbound("enriched", message.key, message.value or b"", [], None, None, 0.0)


def _worker() -> StreamWorker:
    # No core, so no gazetteer and no helper processes; the app is made but not started.
    return StreamWorker(Settings(raw_topic="raw", enrich_processes=0), processor=_Forward())


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
    # A revocation naming partitions the gauge never counted leaves it at zero, not below.
    asyncio.run(worker._on_revoked(None, {TP("raw", 0), TP("raw", 1)}))
    assert now() == (3, 0)
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
    # The worker's one helper process (enrich_processes=1) enriched: it shows.
    assert first.metric(MEMORY) > 10 * 1024 * 1024
    assert first.metric(CPU) > 0
    assert first.stop() == 0
    assert second.stop() == 0


# -- the helper processes' memory and CPU time ----------------------------------------------

MESSAGES = [
    Inbound("raw", 0, i, None, path.read_bytes()) for i, path in enumerate(sorted(SEEDS.glob("0*")))
]


def _offloaded(**kwargs: Any) -> tuple[OffloadedProcessor, Metrics]:
    processor = build_processor("", 1024 * 1024, "enriched", "dlq")
    offloaded = OffloadedProcessor(processor, 1, "", 1024 * 1024, **kwargs)
    metrics = create_metrics()
    register_helpers(metrics, lambda: offloaded.counters, lambda: offloaded.unreaped_pids)
    return offloaded, metrics


def _value(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    assert value is not None, name
    return value


@linux
def test_a_helpers_memory_and_cpu_are_exposed_and_its_cpu_grows_when_it_works() -> None:
    offloaded, metrics = _offloaded()
    try:
        asyncio.run(offloaded.process(MESSAGES))  # waits until the helper has loaded
        [pid] = offloaded.helper_pids
        assert pid != os.getpid()
        memory, before = _value(metrics, MEMORY), _value(metrics, CPU)
        # A Python interpreter with the enrichment core loaded.
        assert memory > 10 * 1024 * 1024
        assert before > 0
        main_before = _value(metrics, "process_cpu_seconds_total")
        asyncio.run(offloaded.process(MESSAGES * 10))
        after = _value(metrics, CPU)
        # The work is the helper's: its CPU grew by more than the main process' did.
        assert after - before > 0.1
        assert after - before > _value(metrics, "process_cpu_seconds_total") - main_before
    finally:
        offloaded.close()


def _cpu_of(pid: int) -> float:
    """utime + stime of one process, read here independently of the collector."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@linux
def test_the_cpu_of_helpers_killed_and_replaced_is_kept() -> None:
    # misbehaving_factory: a ``sleep:S`` message sleeps past the 0.5 s budget, so its
    # helper is killed (SIGKILL) and replaced.
    offloaded, metrics = _offloaded(timeout_seconds=0.5, factory=misbehaving_factory)
    stuck = [Inbound("raw", 0, 999, None, b"sleep:5")]
    try:
        asyncio.run(offloaded.process(MESSAGES * 3))
        [first] = offloaded.helper_pids
        worked = _value(metrics, CPU)
        assert worked > 0.1
        assert [o.reason for o in asyncio.run(offloaded.process(stuck))] == ["timeout"]
        # Killed, and not reaped until the next replacement: read from its zombie's /proc.
        assert first in offloaded.unreaped_pids
        asyncio.run(offloaded.process(MESSAGES * 3))
        [second] = offloaded.helper_pids
        replacements = _cpu_of(second)
        assert asyncio.run(offloaded.process(stuck))[0].reason == "timeout"
        # Starting the third helper reaped the first: its CPU is in our cutime now.
        assert first not in offloaded.unreaped_pids
        asyncio.run(offloaded.process(MESSAGES * 3))
        [third] = offloaded.helper_pids
        assert len({first, second, third}) == 3
        replacements += _cpu_of(third)
        assert replacements > 0.2
        # Every helper's CPU, not the highest of them.
        assert _value(metrics, CPU) >= worked + replacements
    finally:
        offloaded.close()
    # Every helper reaped, none live: the figure holds.
    assert offloaded.unreaped_pids == []
    assert _value(metrics, CPU) >= worked + replacements
    assert _value(metrics, MEMORY) == 0


def _stat(pid: int, ppid: int, utime: int, stime: int, *, cutime: int = 0, rss: int = 0) -> str:
    """A /proc/<pid>/stat line (proc(5)): fields 14-17 CPU ticks, 24 resident pages."""
    fields = ["S", str(ppid)] + ["0"] * 48
    fields[11], fields[12], fields[13], fields[21] = str(utime), str(stime), str(cutime), str(rss)
    # A command name with spaces and a parenthesis, as a process may set.
    return f"{pid} (py (helper) x) " + " ".join(fields) + "\n"


def test_helper_figures_come_from_proc_and_the_cpu_never_goes_down(tmp_path: Path) -> None:
    me, ticks, page = os.getpid(), os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    for name in ("self", "101", "102", "103"):
        (tmp_path / name).mkdir()
    (tmp_path / "self" / "stat").write_text(_stat(me, 1, 5, 5, cutime=ticks))
    (tmp_path / "101" / "stat").write_text(_stat(101, me, ticks, ticks, rss=10))
    (tmp_path / "102" / "stat").write_text(_stat(102, me, ticks, 0, rss=5))
    (tmp_path / "103" / "stat").write_text(_stat(103, 4242, 50 * ticks, 0, rss=99))  # not ours
    pids = [101, 102, 103, 104]  # 104: already gone
    collector = HelperProcessCollector(lambda: pids, proc=tmp_path)

    def figures() -> dict[str, float]:
        return {s.name: s.value for family in collector.collect() for s in family.samples}

    # The main process' own CPU (5 + 5 ticks) is not the helpers'; reaped children's is.
    assert figures() == {MEMORY: 15 * page, CPU: 4.0}
    # 101 reaped, and its CPU not (yet) in the cutime read: held at the highest, not 2.0.
    pids.remove(101)
    (tmp_path / "101" / "stat").unlink()
    assert figures() == {MEMORY: 5 * page, CPU: 4.0}
    (tmp_path / "self" / "stat").write_text(_stat(me, 1, 5, 5, cutime=3 * ticks + ticks))
    assert figures()[CPU] == 5.0


def test_helper_figures_are_absent_without_proc(tmp_path: Path) -> None:
    assert list(HelperProcessCollector(lambda: [os.getpid()], proc=tmp_path).collect()) == []
