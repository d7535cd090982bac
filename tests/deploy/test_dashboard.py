"""Static checks of the Grafana dashboard and its provisioning: a current JSON model, the
provisioned data source, metric names the worker really exposes, every required panel.
(Running each expression against a live Prometheus is the compose stack's test.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from worker.stream.metrics import create_metrics, register_helpers
from worker.stream.offload import OffloadCounters

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "article-worker.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "article-worker.yml"
JOB = "article-worker"  # the scrape job of deploy/prometheus/prometheus.yml
#: Series Prometheus makes itself for every target.
BUILT_IN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS |= {"and", "or", "unless", "offset", "bool", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (no full parser: strings, label
    matchers, label lists and range durations are blanked first)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    # Not inside a number or duration (0.5, 5m, 1e3).
    for match in re.finditer(r"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or match.group().lower() in _KEYWORDS:
            continue  # a function or aggregation, or a keyword
        names.add(match.group())
    return names


def test_metric_names_reads_selectors_not_functions_or_labels() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{job="x", le!="1"}[5m])))'
        ' > 0.25 and on (instance) absent(up{job="x"} == 1) or b offset 5m > 1e3'
    )
    assert metric_names(expr) == {"a_bucket", "up", "b"}


def exposed_names() -> set[str]:
    """Sample names of the worker's /metrics, built the way the worker builds it."""
    metrics = create_metrics()
    register_helpers(metrics, OffloadCounters)
    metrics.lag.labels("articles.raw", "0").set(0)  # labelled gauges appear when set
    text = generate_latest(metrics.registry).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def load_dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]


def test_dashboard_is_a_current_grafana_model() -> None:
    d = load_dashboard()
    assert d["schemaVersion"] >= 39
    assert d["uid"] == "article-worker"
    assert d["title"]
    assert d["id"] is None  # provisioned dashboards must not carry a database id
    ids = [p["id"] for p in panels(d)]
    assert len(ids) == len(set(ids)), ids
    assert len(ids) >= 12
    for p in panels(d):
        pos = p["gridPos"]
        assert {"x", "y", "w", "h"} <= pos.keys(), p["title"]
        assert pos["x"] >= 0, p["title"]
        assert pos["x"] + pos["w"] <= 24, p["title"]
        assert p["type"] in {"timeseries", "stat", "gauge", "bargauge", "row"}, p["title"]
    # No two panels overlap on the 24-column grid.
    cells: dict[tuple[int, int], str] = {}
    for p in panels(d):
        g = p["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


def test_panels_use_the_provisioned_prometheus_data_source() -> None:
    provisioned = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert len(provisioned) == 1
    source = provisioned[0]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"  # the compose service
    d = load_dashboard()
    for p in panels(d):
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": source["uid"]}, p["title"]
        assert p["targets"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == source["uid"], p["title"]
            assert t["expr"].strip(), p["title"]


def test_prometheus_scrapes_the_job_the_dashboard_selects() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert JOB in [job["job_name"] for job in config["scrape_configs"]]


def test_the_dashboard_provider_loads_the_dashboards_folder() -> None:
    providers = yaml.safe_load(PROVIDERS.read_text())["providers"]
    assert [p["type"] for p in providers] == ["file"]
    assert providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_every_metric_of_the_dashboard_is_exposed_by_the_worker() -> None:
    exposed = exposed_names()
    assert "process_resident_memory_bytes" in exposed
    for expr in exprs(load_dashboard()):
        names = metric_names(expr)
        assert names, expr
        unknown = names - exposed - BUILT_IN
        assert not unknown, f"{unknown} in {expr}"


def test_every_expression_selects_the_worker_job() -> None:
    # Process metrics and `up` exist for every target Prometheus scrapes.
    for expr in exprs(load_dashboard()):
        selectors = re.findall(r"\b([a-z_:]+)(\{[^}]*\})?", re.sub(r"\[[^\]]*\]", "", expr))
        for name, labels in selectors:
            if name in metric_names(expr):
                assert f'job="{JOB}"' in labels, expr


def _panel_with(d: dict[str, Any], *patterns: str) -> dict[str, Any] | None:
    """The first panel whose expressions, together, match every pattern (``^`` is the
    start of an expression)."""
    for p in panels(d):
        joined = "\n".join(t["expr"] for t in p.get("targets", []))
        if all(re.search(pattern, joined, re.M) for pattern in patterns):
            return p
    return None


REQUIRED = {
    "articles in and out per second": (
        r"rate\(article_worker_messages_consumed_total",
        r"rate\(article_worker_articles_enriched_total",
    ),
    "dead letters by reason": (r"by \(reason\) \(rate\(article_worker_articles_rejected_total",),
    "lag per partition": (r"by \(topic, partition\) \(article_worker_consumer_lag_messages",),
    "lag in total": (r"^sum\(article_worker_consumer_lag_messages",),
    "end-to-end latency p50/p95/p99": tuple(
        rf"histogram_quantile\({q}, sum by \(le\) \(rate\("
        r"article_worker_end_to_end_latency_seconds_bucket"
        for q in ("0.5", "0.95", "0.99")
    ),
    "processing time p50/p99": tuple(
        rf"histogram_quantile\({q}, .*article_worker_processing_duration_seconds_bucket"
        for q in ("0.5", "0.99")
    ),
    "languages": (r"by \(language\) \(rate\(article_worker_articles_by_language_total",),
    "in-flight messages": (r"article_worker_in_flight_messages",),
    "replicas up": (rf'up\{{job="{JOB}"\}}',),
    "partitions per replica": (r"by \(instance\) \(article_worker_assigned_partitions",),
    "rebalances": (r"(increase|changes)\(article_worker_rebalances_total",),
    "memory per replica": (r"^process_resident_memory_bytes\{",),
    "cpu per replica": (r"rate\(process_cpu_seconds_total\{",),
}


@pytest.mark.parametrize("need", sorted(REQUIRED))
def test_the_dashboard_has_each_required_panel(need: str) -> None:
    panel = _panel_with(load_dashboard(), *REQUIRED[need])
    assert panel is not None, f"no panel for {need}"
    assert panel["title"]
    for t in panel["targets"]:
        assert t.get("legendFormat"), f"{panel['title']}: a series needs a legend"
