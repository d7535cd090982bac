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
import math
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

from tests.deploy.conftest import CONTAINERS_DIR, podman, podman_env, wait_for
from tests.deploy.promql import alert_exprs, panel_exprs
from tests.deploy.stack import (
    PARTITIONS,
    ROOT,
    OutputReader,
    Stack,
    finish_feed,
    metric,
    raw_ids,
    seed_ids,
    stop_feed,
    throughput,
    write_articles,
)

pytestmark = pytest.mark.containers

FIGURES = ROOT / ".run" / "stack-figures.json"
ARTICLES = 3000  # per feed of the two-replica test; "a few thousand seed-sized articles"
#: Per throughput measurement: enough for a window of several seconds at ~500 a second.
BACKLOG = 6000
#: The stream the replicas are scaled during: STREAM_RATE articles a second until the test
#: stops it, which is once both changes of scale are done. Its file holds more than the
#: longest those may take (every wait's timeout below, added up), so it never runs dry first.
STREAM_RATE = 50
SETTLE_S = 90  # for the replicas to hold every partition after a change
LOGGED_S = 30  # for their logs to name the partitions their gauges count
STREAM_LEAD_S = 5  # streaming before the first change of scale ...
STREAM_TAIL_S = 3  # ... and after the last
#: Stack.scale's own waits: compose up (its timeout) to scale up, podman stop to scale down.
SCALE_UP_S, SCALE_DOWN_S = 300, 60
STREAM_ARTICLES = STREAM_RATE * (
    STREAM_LEAD_S + SCALE_UP_S + SCALE_DOWN_S + 2 * (SETTLE_S + LOGGED_S) + STREAM_TAIL_S
)
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
        # Kafka is up (the replicas consume): its image's healthcheck, which compose uses,
        # must say so (podman never runs it on its own here).
        kafka = running.containers("kafka")[0]
        check = running.healthcheck(kafka)
        assert check.returncode == 0, f"healthcheck of {kafka}:\n{check.stdout}{check.stderr}"
        figures["kafka_healthcheck"] = f"exit {check.returncode}"
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


def settle(stack: Stack, workers: int) -> dict[str, frozenset[int]]:
    """Wait until ``workers`` replicas hold every partition (their gauges) and each one's log
    names as many partitions as its gauge counts; then each replica's partition ids."""
    wait_for(
        f"{workers} replicas holding every partition", lambda: stack.settled(workers), SETTLE_S
    )
    held: dict[str, frozenset[int]] = {}

    def logged() -> bool:
        try:
            counts = stack.assigned()
        except OSError:
            return False
        held.clear()
        held.update(stack.held_partitions())
        return held.keys() == counts.keys() and all(len(held[n]) == c for n, c in counts.items())

    wait_for("each replica's log naming the partitions its gauge counts", logged, LOGGED_S)
    return dict(held)


def assert_partitioned(held: dict[str, frozenset[int]]) -> None:
    """Each partition of the raw topic held by exactly one replica: disjoint sets, all ids."""
    owned = sorted(p for parts in held.values() for p in parts)
    assert owned == list(range(PARTITIONS)), f"not each partition exactly once: {held}"


def owners(held: dict[str, frozenset[int]]) -> dict[int, str]:
    return {p: name for name, parts in held.items() for p in parts}


def test_two_replicas_share_partitions_and_work(
    stack: Stack,
    reader: OutputReader,
    seeds: list[str],
    tmp_path: Path,
    figures: dict[str, Any],
) -> None:
    stack.scale(2)
    assert_partitioned(settle(stack, 2))
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
    at_two = settle(stack, 2)
    counts_two = stack.assigned()
    write_articles(tmp_path / "scale.jsonl", STREAM_ARTICLES, "scale")
    feeding = stack.feed(tmp_path / "scale.jsonl", "--rate", str(STREAM_RATE))
    try:
        time.sleep(STREAM_LEAD_S)
        scale_up = time.time()
        began = time.monotonic()
        stack.scale(3)
        at_three = settle(stack, 3)
        counts_three = stack.assigned()
        figures["scale_up_s"] = round(time.monotonic() - began, 1)
        began = time.monotonic()
        stack.scale(1)
        at_one = settle(stack, 1)
        counts_one = stack.assigned()
        figures["scale_down_s"] = round(time.monotonic() - began, 1)
        scaled = time.time()
        time.sleep(STREAM_TAIL_S)
        streaming = feeding.poll() is None
    finally:
        stop_feed(feeding)
    assert streaming, f"the stream ended before the scaling did (exit {feeding.returncode})"
    # What entered the stack is what is on the raw topic (the feed was interrupted).
    sent = raw_ids(stack.bootstrap, "scale-")
    ids = sorted(sent)
    output = reader.read_until(ids, timeout=300)

    figures["partitions"] = {
        stage: {name: sorted(parts) for name, parts in held.items()}
        for stage, held in (("two", at_two), ("three", at_three), ("one", at_one))
    }
    figures["scale_streamed"] = len(ids)
    figures["scale_duplicates"] = sum(output.counts[i] - 1 for i in ids)
    # Articles went in before the first change of scale and after the last one.
    assert min(sent.values()) < scale_up < scaled < max(sent.values())
    assert sorted(counts_two.values()) == [3, 3]
    assert sorted(counts_three.values()) == [2, 2, 2]
    first = sorted(at_two)[0]
    assert counts_one == {first: PARTITIONS}
    # The partitions really moved: at each stage every one has exactly one owner, and
    # owners changed at both steps.
    for held in (at_two, at_three, at_one):
        assert_partitioned(held)
    assert at_two[first] != at_three[first] != at_one[first]
    assert owners(at_two) != owners(at_three) != owners(at_one)
    (third,) = set(at_three) - set(at_two)
    moved_up = {p for p, name in owners(at_three).items() if owners(at_two)[p] != name}
    moved_down = {p for p, name in owners(at_one).items() if owners(at_three)[p] != name}
    assert at_three[third] <= moved_up
    assert moved_down == set(range(PARTITIONS)) - at_three[first]


#: Metrics only a worker with dedup_enabled exposes (the Duplicates row's panels).
DEDUP_ONLY = ("article_worker_duplicates", "article_worker_unique", "article_worker_dedup_")


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expr) for every query target, Grafana's variables substituted."""
    return [(title, grafana_to_promql(expr)) for title, expr in panel_exprs()]


def grafana_to_promql(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return GRAFANA_VARIABLES.get(name, ".*")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)


def finite_values(answer: dict[str, Any]) -> list[float]:
    """The finite sample values of a successful query's answer (NaN and ±Inf left out: a
    panel showing only those shows nothing)."""
    data = answer["data"]
    if data["resultType"] == "scalar":
        values = [data["result"][1]]
    elif data["resultType"] == "vector":
        values = [series["value"][1] for series in data["result"]]
    elif data["resultType"] == "matrix":
        values = [v for series in data["result"] for _, v in series["values"]]
    else:  # string
        values = []
    return [float(v) for v in values if math.isfinite(float(v))]


def test_finite_values_leave_out_nan_and_inf() -> None:
    answer: dict[str, Any] = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": {}, "value": [1, "NaN"]}, {"metric": {}, "value": [1, "+Inf"]}],
        },
    }
    assert finite_values(answer) == []
    answer["data"]["result"].append({"metric": {}, "value": [1, "0.5"]})
    assert finite_values(answer) == [0.5]


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
        if any(name in expr for name in DEDUP_ONLY):
            continue  # the stack runs without dedup_enabled: these have no series
        answer = stack.query(expr)
        if answer.get("status") == "success" and not finite_values(answer):
            got = answer["data"]["result"]
            problems.append(f"{title}: {expr!r}: no finite value ({len(got)} series: {got[:3]})")
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
