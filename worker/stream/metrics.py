"""Prometheus metrics of the worker: one prefix, base units, bounded label values."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from prometheus_client.core import CounterMetricFamily, Metric
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

    def language(self, code: str) -> None:
        self.by_language.labels(code if code in LANGUAGES else "other").inc()

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason if reason in REASONS else "internal_error").inc()


def create_metrics(registry: CollectorRegistry | None = None, *, process: bool = True) -> Metrics:
    """Register every metric (labelled series pre-created at zero, so dashboards see them).

    With ``process``, also prometheus-client's process and platform collectors
    (``process_resident_memory_bytes``, ``process_cpu_seconds_total``, ``python_info``...):
    the worker's registry is its own, so they are not there by default. Pass False for a
    registry that has them already (the library's global one).
    """
    # The *_created series only double what dashboards scrape.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = registry or CollectorRegistry()
    m = Metrics(
        registry=registry,
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


def register_helpers(metrics: Metrics, counters: Callable[[], Any]) -> None:
    """Expose an :class:`~worker.stream.offload.OffloadedProcessor`'s counters."""
    metrics.registry.register(HelperCollector(counters))
