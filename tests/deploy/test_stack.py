"""The compose stack run for real with podman-compose (deploy/compose.yaml with the local
images of deploy/compose.local.yaml): two replicas share the partitions and the work and
Prometheus finds both; scaling 2 -> 3 -> 1 during a stream loses nothing and moves the
partitions; every PromQL expression of the dashboard and of the alert rules runs against
that Prometheus; throughput of one and of two replicas.

One stack for the module (its start is most of the cost); the tests run in file order and
each brings the replica count it needs. Figures go to .run/stack-figures.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CONTAINERS_DIR, podman, podman_env, wait_for
from tests.deploy.stack import (
    PARTITIONS,
    ROOT,
    OutputReader,
    Stack,
    finish_feed,
    metric,
    seed_ids,
    throughput,
    write_articles,
)

pytestmark = pytest.mark.containers

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "article-worker.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
FIGURES = ROOT / ".run" / "stack-figures.json"
ARTICLES = 3000  # per feed of the two-replica test; "a few thousand seed-sized articles"
#: Per throughput measurement: enough for a window of several seconds at ~500 a second.
BACKLOG = 6000
#: Grafana's variables, for running a panel's query straight against Prometheus.
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "2s", "__range": "5m"}


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, Any]]:
    found: dict[str, Any] = {}
    yield found
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    sys.stderr.write(f"\nstack figures: {json.dumps(found)}\n")


@pytest.fixture(scope="module")
def stack(
    worker_image: str, tmp_path_factory: pytest.TempPathFactory, figures: dict[str, Any]
) -> Iterator[Stack]:
    """Two worker replicas, the seeds fed by the stack's own feed, Prometheus scraping both."""
    began = time.monotonic()
    # The local Kafka and Prometheus images (the worker image is the fixture's).
    done = subprocess.run(
        [str(CONTAINERS_DIR / "stack-images.sh")],
        env=podman_env(SKIP_WORKER_IMAGE="1"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"stack-images.sh exited {done.returncode}:\n{done.stderr}"
    figures["images_s"] = round(time.monotonic() - began, 1)
    running = Stack(tmp_path_factory.mktemp("awstack"))
    try:
        began = time.monotonic()
        running.up(workers=2)
        feed = running.containers("feed", running=False)
        wait_for("the seed feed to finish", lambda: running.exit_code(feed[0]) is not None, 120)
        assert running.exit_code(feed[0]) == 0, podman("logs", feed[0]).stderr
        wait_for("two replicas holding every partition", lambda: running.settled(2), 120)
        wait_for("Prometheus scraping two replicas", lambda: len(up_targets(running)) == 2, 60)
        figures["stack_start_s"] = round(time.monotonic() - began, 1)
        yield running
    finally:
        running.down()


@pytest.fixture(scope="module")
def reader(stack: Stack) -> Iterator[OutputReader]:
    out = OutputReader(stack.bootstrap)
    yield out
    out.close()


@pytest.fixture(scope="module")
def seeds() -> list[str]:
    return seed_ids()


def up_targets(stack: Stack) -> list[str]:
    return [t["labels"]["instance"] for t in stack.targets() if t["health"] == "up"]


def scalar(stack: Stack, expr: str) -> float | None:
    result = stack.query(expr)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_two_replicas_share_partitions_and_work(
    stack: Stack,
    reader: OutputReader,
    seeds: list[str],
    tmp_path: Path,
    figures: dict[str, Any],
) -> None:
    stack.scale(2)
    wait_for("two replicas holding every partition", lambda: stack.settled(2), 90)
    ids = write_articles(tmp_path / "two.jsonl", ARTICLES, "two")
    began = time.monotonic()
    figures["feed_host"] = finish_feed(stack.feed(tmp_path / "two.jsonl"))
    output = reader.read_until(seeds + ids, timeout=300)
    figures["two_replicas_fed_to_out_s"] = round(time.monotonic() - began, 1)

    fed = len(seeds) + len(ids)
    replicas = stack.containers("worker")
    per_replica = {name: stack.metrics(name) for name in replicas}
    enriched = {
        n: metric(text, "article_worker_articles_enriched_total") for n, text in per_replica.items()
    }
    held = {
        n: metric(text, "article_worker_assigned_partitions") for n, text in per_replica.items()
    }
    figures["two_replicas_enriched"] = enriched
    assert len(replicas) == 2
    assert all(count > 0 for count in enriched.values()), enriched
    assert all(count > 0 for count in held.values()), held
    assert sum(held.values()) == PARTITIONS, held
    # Nothing rebalanced while the articles were in flight: each came out exactly once
    # (two seeds have the same body, and so the same content-hash id).
    assert sum(enriched.values()) == fed
    expected = Counter(seeds + ids)
    assert {i: output.counts[i] for i in expected} == expected

    addresses = {f"{stack.address(name)}:6066" for name in replicas}
    wait_for("both replicas up in Prometheus", lambda: set(up_targets(stack)) == addresses, 60)
    total = "sum(article_worker_articles_enriched_total)"
    wait_for(f"{total} == {fed}", lambda: scalar(stack, total) == fed, 60)


def test_scale_two_three_one_during_a_stream(
    stack: Stack, reader: OutputReader, tmp_path: Path, figures: dict[str, Any]
) -> None:
    stack.scale(2)
    wait_for("two replicas holding every partition", lambda: stack.settled(2), 90)
    at_two = stack.assigned()
    ids = write_articles(tmp_path / "scale.jsonl", ARTICLES, "scale")
    # 50 a second: the stream lasts a minute, longer than both changes of scale.
    feeding = stack.feed(tmp_path / "scale.jsonl", "--rate", "50")
    time.sleep(5)

    began = time.monotonic()
    stack.scale(3)
    wait_for("three replicas holding every partition", lambda: stack.settled(3), 90)
    at_three = stack.assigned()
    figures["scale_up_s"] = round(time.monotonic() - began, 1)
    assert feeding.poll() is None, "the stream ended before scaling down; slow it down"
    began = time.monotonic()
    stack.scale(1)
    wait_for("one replica holding every partition", lambda: stack.settled(1), 90)
    at_one = stack.assigned()
    figures["scale_down_s"] = round(time.monotonic() - began, 1)
    streaming = feeding.poll() is None
    finish_feed(feeding)
    output = reader.read_until(ids, timeout=300)

    first = sorted(at_two)[0]
    figures["partitions"] = {"two": at_two, "three": at_three, "one": at_one}
    figures["scale_duplicates"] = sum(output.counts[i] - 1 for i in ids)
    assert streaming, "the stream ended before the scale-down finished"
    assert sorted(at_two.values()) == [3, 3]
    assert sorted(at_three.values()) == [2, 2, 2]
    assert at_one == {first: PARTITIONS}
    assert at_two[first] != at_three[first] != at_one[first]


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expr) for every query target, Grafana's variables substituted."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))  # rows hold panels

    model = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = []
    for panel in panels(model["panels"]):
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append((panel.get("title", "?"), grafana_to_promql(target["expr"])))
    return found


def grafana_to_promql(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return GRAFANA_VARIABLES.get(name, ".*")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)


def alert_exprs() -> list[tuple[str, str]]:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [
        (rule.get("alert") or rule.get("record", "?"), str(rule["expr"]))
        for group in rules["groups"]
        for rule in group["rules"]
    ]


def test_grafana_variables_become_promql() -> None:
    expr = 'rate(x{instance=~"$instance"}[$__rate_interval]) + y[${__range}]'
    assert grafana_to_promql(expr) == 'rate(x{instance=~".*"}[1m]) + y[5m]'


def test_dashboard_and_alert_queries_run_on_prometheus(
    stack: Stack, reader: OutputReader, tmp_path: Path, figures: dict[str, Any]
) -> None:
    # Traffic of its own, so that every rate over the last minute has samples.
    ids = write_articles(tmp_path / "queries.jsonl", 300, "queries")
    finish_feed(stack.feed(tmp_path / "queries.jsonl"))
    reader.read_until(ids, timeout=120)
    time.sleep(6)  # three scrapes after the last output

    panels, alerts = dashboard_exprs(), alert_exprs()
    assert panels
    assert alerts
    problems = []
    for title, expr in panels + alerts:
        answer = stack.query(expr)
        if answer.get("status") != "success":
            problems.append(f"{title}: {expr!r}: {answer.get('error')}")
    for title, expr in panels:
        answer = stack.query(expr)
        if answer.get("status") == "success" and not answer["data"]["result"]:
            problems.append(f"{title}: {expr!r}: no data")
    figures["queries"] = {"dashboard": len(panels), "alerts": len(alerts)}
    assert not problems, "\n".join(problems)

    # promtool (Debian's 2.42, in the local Prometheus image) lints a replica's /metrics.
    text = stack.metrics(stack.containers("worker")[0])
    prometheus = stack.containers("prometheus")[0]
    done = podman(
        "exec", "-i", prometheus, "promtool", "check", "metrics", input_text=text, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not done.stdout.strip(), done.stdout


def measure(
    stack: Stack, reader: OutputReader, workers: int, path: Path, tag: str
) -> dict[str, float]:
    """Articles per second of ``workers`` replicas on a backlog fed while they were stopped,
    and the machine's load average when they started on it (other work shares the cores)."""
    stack.scale(workers)
    wait_for(f"{workers} replicas holding every partition", lambda: stack.settled(workers), 90)
    names = stack.containers("worker")
    podman("stop", "--time", "35", *names, timeout=90)
    ids = write_articles(path, BACKLOG, tag)
    finish_feed(stack.feed(path))
    load = os.getloadavg()[0]
    podman("start", *names, timeout=90)
    output = reader.read_until(ids, timeout=300)
    return {"articles_per_s": round(throughput(output, ids), 1), "load_1m": round(load, 2)}


def test_throughput_one_and_two_replicas(
    stack: Stack, reader: OutputReader, tmp_path: Path, figures: dict[str, Any]
) -> None:
    one = measure(stack, reader, 1, tmp_path / "one.jsonl", "rate1")
    two = measure(stack, reader, 2, tmp_path / "two.jsonl", "rate2")
    figures["throughput"] = {"one_replica": one, "two_replicas": two}
    assert one["articles_per_s"] > 0
    assert two["articles_per_s"] > 0
