"""The dashboard's and the alert rules' PromQL, for the tests that check it: the panel
walk, every expression with the panel or alert it belongs to, the metric names an
expression selects, and the names the worker really exposes. (A module of its own, so no
test module imports another.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from worker.stream.metrics import create_dedup_metrics, create_metrics, register_helpers
from worker.stream.offload import OffloadCounters

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "article-worker.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
JOB = "article-worker"  # the scrape job of deploy/prometheus/prometheus.yml
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
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


def exposed_names() -> set[str]:
    """Sample names of the worker's /metrics, built the way the worker builds it (with
    helper processes: their counters, memory and CPU time; and with ``dedup_enabled``:
    the duplicate finder's metrics, which the dashboard and the alerts use too)."""
    metrics = create_metrics()
    register_helpers(metrics, OffloadCounters, list)
    create_dedup_metrics(metrics.registry)
    metrics.lag.labels("articles.raw", "0").set(0)  # labelled gauges appear when set
    text = generate_latest(metrics.registry).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows and the panels inside rows (collapsed ones) included."""
    found = []

    def walk(items: list[dict[str, Any]]) -> None:
        for panel in items:
            found.append(panel)
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    return found


def panel_exprs(dashboard: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(panel title, expr) of every query target with an expression, in panel order
    (the dashboard file when none is given)."""
    model = load_dashboard() if dashboard is None else dashboard
    return [
        (str(p.get("title", "?")), str(t["expr"]))
        for p in panels(model)
        for t in p.get("targets", [])
        if t.get("expr")
    ]


def exprs(dashboard: dict[str, Any]) -> list[str]:
    """Every expression of the dashboard's panels."""
    return [expr for _, expr in panel_exprs(dashboard)]


def alert_rules(path: Path = ALERTS) -> list[dict[str, Any]]:
    """The alerting rules (recording rules left out) of every group."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alert_exprs(path: Path = ALERTS) -> list[tuple[str, str]]:
    """(alert name, expr) of every alerting rule."""
    return [(str(rule["alert"]), str(rule["expr"])) for rule in alert_rules(path)]


def promtool(*args: str | Path, cwd: Path = ALERTS.parent) -> subprocess.CompletedProcess[str]:
    """Run Prometheus' promtool (Debian's ``prometheus`` package)."""
    # No skip without it: these checks are the point (make system-deps installs it).
    assert Path(PROMTOOL).exists(), "promtool missing: apt-get install prometheus"
    return subprocess.run(
        [PROMTOOL, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )
