"""Prometheus metrics of the worker: one prefix, base units, bounded label values."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from worker import __version__
from worker.enrich.errors import REASONS

PREFIX = "article_worker"
LANGUAGES = ("hi", "en", "mr", "ne", "ur", "bn")
# Enrichment takes about a millisecond; the end-to-end latency includes batching and
# the broker's acknowledgement.
PROCESSING_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class Metrics:
    """The worker's metrics, in their own registry (so tests can make as many as they like)."""

    registry: CollectorRegistry
    consumed: Counter
    enriched: Counter
    rejected: Counter
    input_bytes: Counter
    by_language: Counter
    processing: Histogram
    end_to_end: Histogram
    lag: Gauge
    last_processed: Gauge
    in_flight: Gauge
    rebalances: Counter
    assigned_partitions: Gauge
    # The helper processes' memory and CPU; None without the process collectors.
    helper_processes: HelperProcessCollector | None = None

    def language(self, code: str) -> None:
        self.by_language.labels(code if code in LANGUAGES else "other").inc()

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason if reason in REASONS else "internal_error").inc()


def create_metrics(registry: CollectorRegistry | None = None, *, process: bool = True) -> Metrics:
    """Register every metric (labelled series pre-created at zero, so dashboards see them).

    With ``process``, also prometheus-client's process and platform collectors
    (``process_resident_memory_bytes``, ``process_cpu_seconds_total``, ``python_info``...):
    the worker's registry is its own, so they are not there by default. Pass False for a
    registry that has them already (the library's global one). ``process`` also adds the
    helper processes' figures (:class:`HelperProcessCollector`, no helpers until
    :func:`register_helpers` names them), so wherever the main process' figures are, the
    helpers' are too and dashboards can add the two.
    """
    # The *_created series only double what dashboards scrape.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = registry or CollectorRegistry()
    helpers = HelperProcessCollector() if process else None
    m = Metrics(
        registry=registry,
        helper_processes=helpers,
        consumed=Counter(
            f"{PREFIX}_messages_consumed", "Raw messages consumed.", registry=registry
        ),
        enriched=Counter(
            f"{PREFIX}_articles_enriched",
            "Enriched records acknowledged by the broker.",
            registry=registry,
        ),
        rejected=Counter(
            f"{PREFIX}_articles_rejected",
            "Messages dead-lettered, by reason.",
            ["reason"],
            registry=registry,
        ),
        input_bytes=Counter(
            f"{PREFIX}_input_bytes", "Bytes of raw messages consumed.", registry=registry
        ),
        by_language=Counter(
            f"{PREFIX}_articles_by_language",
            "Enriched articles by language.",
            ["language"],
            registry=registry,
        ),
        processing=Histogram(
            f"{PREFIX}_processing_duration_seconds",
            "Time the enrichment core took per message.",
            buckets=PROCESSING_BUCKETS,
            registry=registry,
        ),
        end_to_end=Histogram(
            f"{PREFIX}_end_to_end_latency_seconds",
            "Broker timestamp of the raw message to the acknowledgement of its output.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        lag=Gauge(
            f"{PREFIX}_consumer_lag_messages",
            "High-water mark minus the worker's position, per assigned partition.",
            ["topic", "partition"],
            registry=registry,
        ),
        last_processed=Gauge(
            f"{PREFIX}_last_processed_timestamp_seconds",
            "Unix time the last message was fully processed.",
            registry=registry,
        ),
        in_flight=Gauge(
            f"{PREFIX}_in_flight_messages",
            "Messages consumed whose output is not yet acknowledged.",
            registry=registry,
        ),
        # Counted when a rebalance ends (Faust's partitions-assigned signal), so once per
        # rebalance this replica takes part in, the first join included; the revocation
        # that starts it is not counted as well. An assignment is sent even when it is
        # empty (more replicas than partitions), so idle replicas count too.
        rebalances=Counter(
            f"{PREFIX}_rebalances",
            "Consumer group rebalances this replica completed (the first join included).",
            registry=registry,
        ),
        assigned_partitions=Gauge(
            f"{PREFIX}_assigned_partitions",
            "Partitions of the raw topic this replica holds now.",
            registry=registry,
        ),
    )
    for reason in REASONS:
        m.rejected.labels(reason)
    for code in (*LANGUAGES, "other"):
        m.by_language.labels(code)
    Info(f"{PREFIX}_build", "Version of the worker and its runtime.", registry=registry).info(
        {"version": __version__, "python": platform.python_version()}
    )
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    if helpers is not None:
        registry.register(helpers)
    return m


class HelperCollector(Collector):
    """The helper processes' counts, read from the offload's counters at each scrape."""

    def __init__(self, counters: Callable[[], Any]) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        c = self.counters()
        for name, value, text in (
            ("helpers_started", c.helpers_started, "Helper processes started."),
            (
                "helpers_replaced",
                c.helpers_replaced,
                "Helper processes replaced after a timeout or an unexpected death.",
            ),
            ("helper_deaths", c.helper_deaths, "Helper processes that died while working."),
            (
                "helper_retries",
                c.retries,
                "Messages retried in a new helper after theirs died.",
            ),
        ):
            family = CounterMetricFamily(f"{PREFIX}_{name}", text)
            family.add_metric([], value)
            yield family


PROC = Path("/proc")


def _stat(path: Path) -> list[str] | None:
    """The fields of a ``/proc/<pid>/stat`` after the command name (which may hold spaces
    and parentheses), so proc(5)'s field N is item N - 3; None when there is no such file."""
    try:
        text = path.read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


class HelperProcessCollector(Collector):
    """Resident memory and CPU time of the helper processes, read from /proc at each scrape.

    prometheus-client's process collector covers the main process only, while the
    enrichment runs in the helpers. Linux only: without ``/proc/self/stat`` nothing is
    exposed (like the process collector).

    ``article_worker_helper_cpu_seconds_total`` must never go down although helpers are
    killed and replaced (timeouts, deaths): it is the CPU time of the helpers not yet
    waited for (``pids``, from their /proc/<pid>/stat, a zombie's included) plus this
    process's ``cutime + cstime``, which the kernel adds every waited-for child's CPU time
    to when it is reaped, the time since the last scrape included, so nothing is lost. In
    the worker the helpers are the only children (so the figure is theirs); elsewhere
    (tests) other children count too. A pid whose parent is not this process (reaped and
    reused) is skipped. Reaping happens on the event loop, as scrapes do, so a helper is
    never counted in both or in neither; the figure is kept monotonic anyway (the highest
    value so far), as a counter that went down would look like a reset to rate().
    """

    def __init__(self, pids: Callable[[], Iterable[int]] = tuple, proc: Path = PROC) -> None:
        self.pids = pids
        self.proc = proc
        self._highest = 0.0
        self._ticks = self._page = 0
        if hasattr(os, "sysconf"):  # POSIX only
            self._ticks, self._page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")

    def collect(self) -> Iterator[Metric]:
        own = _stat(self.proc / "self" / "stat")
        if own is None or not self._ticks:
            return
        parent = str(os.getpid())
        ticks = int(own[13]) + int(own[14])  # cutime, cstime: reaped children
        pages = 0
        for pid in self.pids():
            fields = _stat(self.proc / str(pid) / "stat")
            if fields is None or fields[1] != parent:
                continue  # already reaped (then in cutime) and maybe reused
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            pages += int(fields[21])  # rss (0 for a zombie)
        self._highest = max(self._highest, ticks / self._ticks)
        memory = GaugeMetricFamily(
            f"{PREFIX}_helper_resident_memory_bytes",
            "Resident memory of the live helper processes, summed.",
            value=pages * self._page,
        )
        cpu = CounterMetricFamily(
            f"{PREFIX}_helper_cpu_seconds",
            "User and system CPU time of the helper processes, those replaced included.",
            value=self._highest,
        )
        yield memory
        yield cpu


def register_helpers(
    metrics: Metrics,
    counters: Callable[[], Any],
    pids: Callable[[], Iterable[int]] | None = None,
) -> None:
    """Expose an :class:`~worker.stream.offload.OffloadedProcessor`'s counters and, given
    ``pids`` (its ``unreaped_pids``), its helpers' memory and CPU time."""
    metrics.registry.register(HelperCollector(counters))
    if pids is not None:
        if metrics.helper_processes is None:
            metrics.registry.register(HelperProcessCollector(pids))
        else:
            metrics.helper_processes.pids = pids


@dataclass(frozen=True, slots=True)
class DedupMetrics:
    """The duplicate finder's metrics (registered only with ``dedup_enabled``)."""

    duplicates: Counter
    unique: Counter
    pending: Gauge
    entries: Gauge
    delay: Histogram


def create_dedup_metrics(registry: CollectorRegistry) -> DedupMetrics:
    """Register the duplicate finder's metrics in ``registry`` (both kinds pre-created)."""
    m = DedupMetrics(
        duplicates=Counter(
            f"{PREFIX}_duplicates",
            "Records published as duplicates of an earlier story, by kind (exact, near).",
            ["kind"],
            registry=registry,
        ),
        unique=Counter(
            f"{PREFIX}_unique",
            "Records published as first-seen stories (also to the unique topic).",
            registry=registry,
        ),
        pending=Gauge(
            f"{PREFIX}_dedup_pending",
            "Articles on this worker waiting for their band verdicts.",
            registry=registry,
        ),
        entries=Gauge(
            f"{PREFIX}_dedup_entries",
            "Band-index entries this worker holds (the retention window's articles x 4).",
            registry=registry,
        ),
        delay=Histogram(
            f"{PREFIX}_dedup_seconds",
            "Arrival of a record at the dedup join to the acknowledgement of its output.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
    )
    for kind in ("exact", "near"):
        m.duplicates.labels(kind)
    return m
