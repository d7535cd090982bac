"""The compose stack (deploy/compose.yaml with deploy/compose.local.yaml) run for real with
podman-compose, and what the stack tests read from it: each replica's /metrics (by the
container's bridge address: rootful podman routes to it), Prometheus' HTTP API (published
on a free host port) and the enriched topic (Kafka's EXTERNAL listener, published on a free
host port and advertised as 127.0.0.1:that port).

Articles are fed from the host through that published port: the test reads the output
there anyway, and `article-worker feed` on the host needs no container start per batch.
The stack's own one-shot feed container sends seeds/ at start.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.conftest import podman, podman_env
from tests.stream.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILES = (DEPLOY / "compose.yaml", DEPLOY / "compose.local.yaml")
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
SEEDS = ROOT / "seeds"
RAW_TOPIC = "articles.raw"
ENRICHED_TOPIC = "articles.enriched"
PARTITIONS = 6  # ARTICLE_WORKER_TOPIC_PARTITIONS in compose.yaml
#: Test override of Prometheus' intervals, so that nothing waits long for a scrape.
SCRAPE_INTERVAL = "2s"


#: The worker's log line at the end of each rebalance (worker/stream/app.py _on_assigned).
ASSIGNED_LOG = re.compile(r"assigned partitions: \[([^\]]*)\]")
RAW_PARTITION = re.compile(rf"'{re.escape(RAW_TOPIC)}-(\d+)'")


def seed_ids() -> list[str]:
    """The ids the worker gives the seeds (their own, else the content hash): the offline
    core run on the host, which the container runs too."""
    done = subprocess.run(
        [sys.executable, "-m", "worker", "enrich", str(SEEDS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line)["id"] for line in done.stdout.splitlines() if line.strip()]


def write_articles(path: Path, count: int, tag: str) -> list[str]:
    """``count`` seed-sized JSON articles (the seeds' bodies in turn) with unique ids."""
    bases: list[dict[str, Any]] = []
    for seed in sorted(SEEDS.iterdir()):
        if seed.suffix == ".json":
            bases.append(json.loads(seed.read_text(encoding="utf-8")))
        elif seed.suffix == ".txt":
            bases.append({"body": seed.read_text(encoding="utf-8")})
    ids = [f"{tag}-{n:05d}" for n in range(count)]
    with path.open("w", encoding="utf-8") as out:
        for n, article_id in enumerate(ids):
            article = dict(bases[n % len(bases)], id=article_id)
            out.write(json.dumps(article, ensure_ascii=False) + "\n")
    return ids


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def metric(text: str, name: str) -> float:
    """The sum of a metric's samples in a /metrics text (0 when it has none)."""
    return sum(value for sample, _, value in parse_metrics(text) if sample == name)


@dataclass
class Output:
    """Everything on articles.enriched so far: each key's count and broker timestamp."""

    counts: Counter[str] = field(default_factory=Counter)
    timestamps: dict[str, float] = field(default_factory=dict)

    def missing(self, ids: list[str]) -> list[str]:
        return [i for i in ids if i not in self.counts]


class OutputReader:
    """A plain consumer (no group) over every partition of articles.enriched, from the start."""

    def __init__(self, bootstrap: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
        )
        parts = [TopicPartition(ENRICHED_TOPIC, p) for p in range(PARTITIONS)]
        self.consumer.assign(parts)
        self.consumer.seek_to_beginning(*parts)
        self.output = Output()

    def read_until(self, ids: list[str], timeout: float) -> Output:
        """Read until every id in ``ids`` came out; fail naming the missing after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in self.consumer.poll(timeout_ms=500, max_records=5000).values():
                for record in records:
                    key = (record.key or b"").decode() or json.loads(record.value)["id"]
                    self.output.counts[key] += 1
                    self.output.timestamps.setdefault(key, record.timestamp / 1000)
            if not self.output.missing(ids):
                return self.output
        missing = self.output.missing(ids)
        pytest.fail(f"{len(missing)} of {len(ids)} ids never came out, e.g. {missing[:5]}")

    def close(self) -> None:
        self.consumer.close()


class Stack:
    """One compose project of its own (``awstack-<random>``), with free host ports."""

    def __init__(self, workdir: Path) -> None:
        self.project = f"awstack-{uuid.uuid4().hex[:8]}"
        self.kafka_port = free_port()
        self.prometheus_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.kafka_port}"
        self.workdir = workdir
        self.prometheus_yml = workdir / "prometheus.yml"
        self.prometheus_yml.write_text(yaml.safe_dump(fast_prometheus_config()), encoding="utf-8")
        self.prometheus_yml.chmod(0o644)

    # --- compose and podman ------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return podman_env(
            KAFKA_EXTERNAL_PORT=str(self.kafka_port),
            PROMETHEUS_PORT=str(self.prometheus_port),
            PROMETHEUS_CONFIG=str(self.prometheus_yml),
        )

    def compose(self, *args: str, timeout: float = 300) -> str:
        command = [str(Path(sys.executable).parent / "podman-compose")]
        for path in COMPOSE_FILES:
            command += ["-f", str(path)]
        command += ["-p", self.project, *args]
        done = subprocess.run(
            command, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"podman-compose {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done.stdout

    def containers(self, service: str, running: bool = True) -> list[str]:
        """The service's container names, in replica order."""
        args = [
            "ps",
            "--format",
            "{{.Names}}",
            "--filter",
            f"label=io.podman.compose.project={self.project}",
        ]
        args += ["--filter", f"label=com.docker.compose.service={service}"]
        if not running:
            args.append("--all")
        names = podman(*args).stdout.split()
        return sorted(names, key=lambda n: int(n.rsplit("_", 1)[-1]))

    def exit_code(self, name: str) -> int | None:
        state = json.loads(podman("inspect", "--format", "{{json .State}}", name).stdout)
        return None if state["Running"] else int(state["ExitCode"])

    def address(self, name: str) -> str:
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        return podman("inspect", "--format", fmt, name).stdout.strip()

    def up(self, workers: int) -> None:
        self.compose("up", "-d", "--scale", f"worker={workers}")

    def scale(self, workers: int) -> None:
        """Scale the worker service: more replicas through podman-compose (--no-deps: the
        one-shots are not run again), fewer by stopping the highest-numbered ones, as
        `docker compose up --scale` does (podman-compose 1.6 does not scale down)."""
        names = self.containers("worker")
        if workers > len(names):
            self.compose("up", "-d", "--no-deps", "--scale", f"worker={workers}", "worker")
        for name in names[workers:]:
            podman("stop", "--time", "35", name, timeout=60)
            podman("rm", name)

    def down(self) -> None:
        """Remove everything of the project, whatever state a failed test left."""
        label = f"label=io.podman.compose.project={self.project}"
        # Dependents before what they depend on (podman refuses otherwise).
        for service in ("worker", "feed", "topics", "prometheus", "kafka", "grafana"):
            names = self.containers(service, running=False)
            if names:
                podman("rm", "--force", "--time", "0", *names, timeout=120, check=False)
        leftover = podman("ps", "--all", "--quiet", "--filter", label).stdout.split()
        if leftover:
            podman("rm", "--force", "--time", "0", *leftover, timeout=120, check=False)
        podman("pod", "rm", "--force", f"pod_{self.project}", check=False)
        volumes = podman("volume", "ls", "--quiet", "--filter", label).stdout.split()
        if volumes:
            podman("volume", "rm", "--force", *volumes, check=False)
        podman("network", "rm", "--force", f"{self.project}_default", check=False)

    # --- what the tests read -----------------------------------------------------------

    def metrics(self, name: str) -> str:
        url = f"http://{self.address(name)}:6066/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def assigned(self) -> dict[str, int]:
        """Partitions of the raw topic each running replica holds (its own gauge)."""
        return {
            name: int(metric(self.metrics(name), "article_worker_assigned_partitions"))
            for name in self.containers("worker")
        }

    def held_partitions(self) -> dict[str, frozenset[int]]:
        """Raw-topic partition ids each running replica holds, from its own account: its last
        "assigned partitions" log line (a source apart from the gauge ``assigned`` reads)."""
        held = {}
        for name in self.containers("worker"):
            logs = podman("logs", name, check=False)
            lines = ASSIGNED_LOG.findall(logs.stderr + logs.stdout)  # the worker logs to stderr
            ids = RAW_PARTITION.findall(lines[-1]) if lines else []
            held[name] = frozenset(int(i) for i in ids)
        return held

    def healthcheck(self, name: str) -> subprocess.CompletedProcess[str]:
        """The container's own healthcheck, run once (podman runs none by itself here: it
        schedules them with systemd timers, and there is no systemd)."""
        return podman("healthcheck", "run", name, timeout=60, check=False)

    def settled(self, workers: int) -> bool:
        """Every partition held, by ``workers`` replicas that each hold some."""
        try:
            held = self.assigned()
        except OSError:
            return False
        return len(held) == workers and sum(held.values()) == PARTITIONS and min(held.values()) > 0

    def query(self, expr: str) -> dict[str, Any]:
        """A Prometheus instant query; the whole JSON answer (errors included)."""
        url = f"http://127.0.0.1:{self.prometheus_port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr}
        )
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as error:  # 400/422: the answer says why
            return dict(json.load(error))

    def targets(self) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.prometheus_port}/api/v1/targets"
        with urllib.request.urlopen(url, timeout=10) as response:
            active: list[dict[str, Any]] = json.load(response)["data"]["activeTargets"]
        return [t for t in active if t["labels"].get("job") == "article-worker"]

    def feed(self, path: Path, *extra: str) -> subprocess.Popen[str]:
        """`article-worker feed PATH` from the host into the stack's raw topic (started)."""
        env = {k: v for k, v in self.env().items() if not k.startswith("ARTICLE_WORKER_")}
        env["ARTICLE_WORKER_BROKER"] = f"kafka://{self.bootstrap}"
        command = [sys.executable, "-m", "worker", "feed", str(path), *extra]
        return subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


def finish_feed(process: subprocess.Popen[str], timeout: float = 180) -> str:
    """Wait for a feed; fail with its output unless it sent everything. The process is gone
    when this returns, whatever happened (a timeout, an interrupt)."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"feed still running after {timeout:g} s:\n{out}\n{err}")
    finally:
        stop_feed(process)
    assert process.returncode == 0, f"feed exited {process.returncode}:\n{out}\n{err}"
    return err.strip().splitlines()[-1]


def stop_feed(process: subprocess.Popen[str], grace: float = 30) -> None:
    """Stop a feed that may still run: SIGINT (it stops sending and closes its producer),
    then SIGKILL after ``grace`` seconds; always reaped, its pipes closed."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
    process.communicate()


def raw_ids(bootstrap: str, prefix: str) -> dict[str, float]:
    """Ids starting with ``prefix`` on articles.raw (every partition, from the start, up to
    the end offsets of now), each with its first broker timestamp: what entered the stack."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        parts = [TopicPartition(RAW_TOPIC, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        found: dict[str, float] = {}
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            if time.monotonic() > deadline:
                pytest.fail(f"{RAW_TOPIC} not read to its end in 120 s")
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                for record in records:
                    # The feed keys an article by its id; the seeds' plain texts have none.
                    key = (record.key or b"").decode()
                    if key.startswith(prefix):
                        found.setdefault(key, record.timestamp / 1000)
        return found
    finally:
        consumer.close()


def fast_prometheus_config() -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with every interval at SCRAPE_INTERVAL."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_YML.read_text(encoding="utf-8"))
    config["global"]["scrape_interval"] = SCRAPE_INTERVAL
    config["global"]["evaluation_interval"] = SCRAPE_INTERVAL
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            sd["refresh_interval"] = SCRAPE_INTERVAL
    return config


def throughput(output: Output, ids: list[str]) -> float:
    """Articles per second between the 10th and the 90th percentile of the outputs' broker
    timestamps, so neither the replicas' start nor a straggler counts."""
    stamps = sorted(output.timestamps[i] for i in ids)
    low, high = stamps[len(stamps) // 10], stamps[(len(stamps) * 9) // 10]
    return (len(stamps) * 0.8) / max(high - low, 1e-3)
