"""Metrics the worker adds beyond its fixed set: the helper processes' counters."""

from __future__ import annotations

from prometheus_client import generate_latest

from worker.stream.metrics import create_metrics, register_helpers
from worker.stream.offload import OffloadCounters


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
