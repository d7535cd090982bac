"""Static checks of the Grafana dashboard and its provisioning: a current JSON model, the
provisioned data source, metric names the worker really exposes, every required panel;
promtool parses every expression and evaluates the resource panels' sums. (Running each
expression against a live Prometheus is the compose stack's test.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import (
    BUILT_IN,
    JOB,
    ROOT,
    alert_rules,
    exposed_names,
    exprs,
    load_dashboard,
    metric_names,
    panels,
    promtool,
)

GRAFANA = ROOT / "deploy" / "grafana"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "article-worker.yml"


def test_metric_names_reads_selectors_not_functions_or_labels() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{job="x", le!="1"}[5m])))'
        ' > 0.25 and on (instance) absent(up{job="x"} == 1) or b offset 5m > 1e3'
    )
    assert metric_names(expr) == {"a_bucket", "up", "b"}


def test_the_panel_walk_finds_panels_inside_rows() -> None:
    row = {"type": "row", "title": "r", "panels": [{"title": "in", "targets": [{"expr": "a"}]}]}
    model = {"panels": [{"title": "top", "targets": [{"expr": "b"}, {"refId": "B"}]}, row]}
    assert [p["title"] for p in panels(model)] == ["top", "r", "in"]
    assert exprs(model) == ["b", "a"]


#: Top-level fields of Grafana's classic dashboard model (its JSON model docs, 12.x).
DASHBOARD_FIELDS = {
    *("annotations", "description", "editable", "fiscalYearStartMonth", "graphTooltip", "id"),
    *("links", "liveNow", "panels", "refresh", "schemaVersion", "tags", "templating", "time"),
    *("timepicker", "timezone", "title", "uid", "version", "weekStart"),
}
PANEL_FIELDS = {
    *("collapsed", "datasource", "description", "fieldConfig", "gridPos", "id", "interval"),
    *("maxDataPoints", "options", "panels", "pluginVersion", "targets", "title", "transformations"),
    "type",
}
#: The time series panel's field config (GraphFieldConfig of grafana-schema's common
#: types), and the allowed values of the enumerations the dashboard sets.
GRAPH_FIELDS = {
    *("lineColor", "lineWidth", "lineInterpolation", "lineStyle", "spanNulls", "fillColor"),
    *("fillOpacity", "fillBelowTo", "showPoints", "pointSize", "pointColor", "pointSymbol"),
    *("axisPlacement", "axisColorMode", "axisLabel", "axisWidth", "axisSoftMin", "axisSoftMax"),
    *("axisGridShow", "scaleDistribution", "axisCenteredZero", "axisBorderShow"),
    *("barAlignment", "barWidthFactor", "barMaxWidth", "stacking", "hideFrom", "drawStyle"),
    *("gradientMode", "thresholdsStyle", "transform", "insertNulls"),
}
ENUMS = {
    "drawStyle": {"line", "bars", "points"},
    "showPoints": {"auto", "never", "always"},
    "axisPlacement": {"auto", "top", "right", "bottom", "left", "hidden"},
}
#: The schema version Grafana 12.0 (compose's grafana/grafana:12.0.0) writes: 40 made
#: ``refresh`` a string, 41 dropped ``timepicker.time_options``.
GRAFANA_SCHEMA = {"12.0": 41}


def test_dashboard_is_a_current_grafana_model() -> None:
    d = load_dashboard()
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    image = compose["services"]["grafana"]["image"]
    version = re.fullmatch(r"grafana/grafana:(\d+\.\d+)\.\d+", image)
    assert version, image
    assert d["schemaVersion"] == GRAFANA_SCHEMA[version.group(1)]
    assert not d.keys() - DASHBOARD_FIELDS, d.keys() - DASHBOARD_FIELDS
    assert isinstance(d["refresh"], str)
    assert "time_options" not in d["timepicker"]
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
    assert "article_worker_helper_cpu_seconds_total" in exposed
    assert "article_worker_dedup_seconds_bucket" in exposed
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
    "rebalances": (r"increase\(article_worker_rebalances_total",),
    "memory per replica": (
        r"^sum by \(instance\) \(process_resident_memory_bytes\{.*\}\) \+ "
        r"sum by \(instance\) \(article_worker_helper_resident_memory_bytes\{",
    ),
    "cpu per replica": (
        r"^sum by \(instance\) \(rate\(process_cpu_seconds_total\{.*\}\[1m\]\)\) \+ "
        r"sum by \(instance\) \(rate\(article_worker_helper_cpu_seconds_total\{",
    ),
    # Issue 10, duplicate detection (dedup_enabled).
    "duplicate share by kind": (
        r"^sum by \(kind\) \(rate\(article_worker_duplicates_total\{.*\}\[1m\]\)\) "
        r"/ ignoring \(kind\) group_left \(\) \(sum\(rate\(article_worker_duplicates_total\{.*"
        r"\+ sum\(rate\(article_worker_unique_total\{",
    ),
    "unique and duplicates per second": (
        r"^sum\(rate\(article_worker_unique_total",
        r"^sum by \(kind\) \(rate\(article_worker_duplicates_total",
    ),
    "articles waiting for band verdicts": (r"by \(instance\) \(article_worker_dedup_pending",),
    "band-index entries": (r"by \(instance\) \(article_worker_dedup_entries",),
    "duplicate detection latency p99": (
        r"histogram_quantile\(0.99, sum by \(le\) \(rate\(article_worker_dedup_seconds_bucket",
    ),
}


def test_time_series_panels_use_the_fields_of_the_grafana_model() -> None:
    for p in panels(load_dashboard()):
        assert not p.keys() - PANEL_FIELDS, (p["title"], p.keys() - PANEL_FIELDS)
        if p["type"] != "timeseries":
            continue
        custom = p["fieldConfig"]["defaults"].get("custom", {})
        assert not custom.keys() - GRAPH_FIELDS, (p["title"], custom.keys() - GRAPH_FIELDS)
        for field, allowed in ENUMS.items():
            if field in custom:
                assert custom[field] in allowed, (p["title"], field)
        assert isinstance(p["fieldConfig"]["overrides"], list), p["title"]
        legend, tooltip = p["options"]["legend"], p["options"]["tooltip"]
        # Required by the panel's options schema (VizLegendOptions, VizTooltipOptions).
        assert {"displayMode", "placement", "showLegend", "calcs"} <= legend.keys(), p["title"]
        assert legend["displayMode"] in {"list", "table", "hidden"}, p["title"]
        assert legend["placement"] in {"bottom", "right"}, p["title"]
        assert tooltip["mode"] in {"single", "multi", "none"}, p["title"]
        assert tooltip["sort"] in {"asc", "desc", "none"}, p["title"]


def test_resource_panels_add_the_helper_processes_to_the_main_one() -> None:
    d = load_dashboard()
    for need in ("memory per replica", "cpu per replica"):
        panel = _panel_with(d, *REQUIRED[need])
        assert panel is not None, need
        assert "main + helper" in panel["title"], panel["title"]
        # Per replica: both sides summed by instance, so they match one to one.
        total = panel["targets"][0]["expr"]
        assert total.count("sum by (instance)") == 2, total


def test_every_expression_is_valid_promql(tmp_path: Path) -> None:
    rules = [
        {"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(exprs(load_dashboard()))
    ]
    (tmp_path / "exprs.yml").write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]}))
    result = promtool("check", "rules", "exprs.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_resource_panels_give_main_plus_helpers_per_replica(tmp_path: Path) -> None:
    """The memory and CPU totals, evaluated by promtool on two replicas' series: each
    replica's main process plus its helpers, not mixed across replicas."""
    d = load_dashboard()
    memory = _panel_with(d, *REQUIRED["memory per replica"])
    cpu = _panel_with(d, *REQUIRED["cpu per replica"])
    assert memory is not None
    assert cpu is not None
    job = f'job="{JOB}"'
    series = []
    # Per 15 s: replica a's main process uses 1 CPU second a second, its helpers 2;
    # replica b's 0.5 and 0.25. Memory in MiB-free round numbers.
    for instance, rss, helpers_rss, main_cpu, helpers_cpu in (
        ("a:6066", 100, 300, 15, 30),
        ("b:6066", 200, 50, 7.5, 3.75),
    ):
        labels = f'{{{job}, instance="{instance}"}}'
        series += [
            {"series": f"process_resident_memory_bytes{labels}", "values": f"{rss}x40"},
            {
                "series": f"article_worker_helper_resident_memory_bytes{labels}",
                "values": f"{helpers_rss}x40",
            },
            {"series": f"process_cpu_seconds_total{labels}", "values": f"0+{main_cpu}x40"},
            {
                "series": f"article_worker_helper_cpu_seconds_total{labels}",
                "values": f"0+{helpers_cpu}x40",
            },
        ]

    def expect(expr: str, a: float, b: float) -> dict[str, Any]:
        return {
            "expr": expr,
            "eval_time": "5m",
            "exp_samples": [
                {"labels": '{instance="a:6066"}', "value": a},
                {"labels": '{instance="b:6066"}', "value": b},
            ],
        }

    tests = {
        "rule_files": [],
        "tests": [
            {
                "interval": "15s",
                "input_series": series,
                "promql_expr_test": [
                    expect(memory["targets"][0]["expr"], 400, 250),
                    expect(memory["targets"][1]["expr"], 300, 50),
                    expect(cpu["targets"][0]["expr"], 3, 0.75),
                    expect(cpu["targets"][1]["expr"], 2, 0.25),
                ],
            }
        ],
    }
    (tmp_path / "resources.test.yml").write_text(yaml.safe_dump(tests))
    result = promtool("test", "rules", "resources.test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rebalances_panel_counts_as_the_alert_does() -> None:
    panel = _panel_with(load_dashboard(), *REQUIRED["rebalances"])
    assert panel is not None
    [rule] = [r for r in alert_rules() if r["alert"] == "ArticleWorkerRebalancingOften"]
    counted = re.search(
        r"increase\(article_worker_rebalances_total\{[^}]*\}\[15m\]\)", rule["expr"]
    )
    assert counted
    assert counted.group() in panel["targets"][0]["expr"]
    assert "extrapolat" in panel["description"]


@pytest.mark.parametrize("need", sorted(REQUIRED))
def test_the_dashboard_has_each_required_panel(need: str) -> None:
    panel = _panel_with(load_dashboard(), *REQUIRED[need])
    assert panel is not None, f"no panel for {need}"
    assert panel["title"]
    for t in panel["targets"]:
        assert t.get("legendFormat"), f"{panel['title']}: a series needs a legend"


def test_the_duplicate_share_is_of_every_record_the_dedup_published(tmp_path: Path) -> None:
    """The share panel, evaluated by promtool on two replicas' series: each kind's
    duplicates over all records published with a verdict (duplicates and first-seen
    stories of every replica), not over the duplicates alone or per replica."""
    panel = _panel_with(load_dashboard(), *REQUIRED["duplicate share by kind"])
    assert panel is not None
    by_kind, overall = (t["expr"] for t in panel["targets"])
    series = []
    # Per second: unique 1 (a) and 0.5 (b); exact 0.25 and 0.25; near 0.5 and 0. Of the
    # 2.5 records a second, 0.5 are exact and 0.5 near copies.
    for instance, unique, exact, near in (("a:6066", 15, 3.75, 7.5), ("b:6066", 7.5, 3.75, 0)):
        labels = f'job="{JOB}", instance="{instance}"'
        series += [
            {"series": f"article_worker_unique_total{{{labels}}}", "values": f"0+{unique}x40"},
            {
                "series": f'article_worker_duplicates_total{{{labels}, kind="exact"}}',
                "values": f"0+{exact}x40",
            },
            {
                "series": f'article_worker_duplicates_total{{{labels}, kind="near"}}',
                "values": f"0+{near}x40",
            },
        ]
    tests = {
        "rule_files": [],
        "tests": [
            {
                "interval": "15s",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": by_kind,
                        "eval_time": "5m",
                        "exp_samples": [
                            {"labels": '{kind="exact"}', "value": 0.2},
                            {"labels": '{kind="near"}', "value": 0.2},
                        ],
                    },
                    {"expr": overall, "eval_time": "5m", "exp_samples": [{"value": 0.4}]},
                ],
            }
        ],
    }
    (tmp_path / "share.test.yml").write_text(yaml.safe_dump(tests))
    result = promtool("test", "rules", "share.test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
