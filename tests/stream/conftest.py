"""Fixtures for tests against the real Kafka broker and real worker processes.

The broker is the project's own (``deploy/local/kafka.sh``): used when already running
(CI starts it first), started here otherwise and then stopped at the end. Each test gets
topics and a consumer group of its own, so tests do not see each other's messages.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "local" / "kafka.sh"
VENV_BIN = Path(sys.executable).parent
WORKER = [str(VENV_BIN / "article-worker")]


@pytest.fixture(scope="session")
def bootstrap() -> Iterator[str]:
    """host:port of a running broker; starts the project's own when none is running."""
    status = subprocess.run([str(KAFKA_SH), "status"], capture_output=True, text=True, check=False)
    if status.returncode == 0:
        yield status.stdout.strip().splitlines()[-1]
        return
    started = subprocess.run([str(KAFKA_SH), "start"], capture_output=True, text=True, check=False)
    if started.returncode != 0:
        pytest.fail(f"could not start the local Kafka broker:\n{started.stderr}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(KAFKA_SH), "stop"], capture_output=True, check=False)


@dataclass
class Topics:
    raw: str
    enriched: str
    dlq: str
    group: str
    partitions: int


@pytest.fixture
def topics(bootstrap: str, request: pytest.FixtureRequest) -> Topics:
    """Fresh raw/enriched/dlq topics (4 partitions unless the test is marked otherwise)."""
    marker = request.node.get_closest_marker("partitions")
    partitions = marker.args[0] if marker else 4
    suffix = uuid.uuid4().hex[:8]
    t = Topics(
        f"raw-{suffix}", f"enriched-{suffix}", f"dlq-{suffix}", f"group-{suffix}", partitions
    )
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(n, partitions, 1) for n in (t.raw, t.enriched, t.dlq)])
    finally:
        admin.close()
    return t


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_env(
    bootstrap: str, topics: Topics, port: int, tmp: Path, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_WORKER_")}
    env.update(
        ARTICLE_WORKER_BROKER=f"kafka://{bootstrap}",
        ARTICLE_WORKER_APP_ID=topics.group,
        ARTICLE_WORKER_RAW_TOPIC=topics.raw,
        ARTICLE_WORKER_ENRICHED_TOPIC=topics.enriched,
        ARTICLE_WORKER_DLQ_TOPIC=topics.dlq,
        ARTICLE_WORKER_TOPIC_PARTITIONS=str(topics.partitions),
        ARTICLE_WORKER_WEB_HOST="127.0.0.1",
        ARTICLE_WORKER_WEB_PORT=str(port),
        ARTICLE_WORKER_DATA_DIR=str(tmp / f"faust-{port}"),
        ARTICLE_WORKER_LAG_INTERVAL_SECONDS="1",
        **extra,
    )
    return env


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    statuses: list[int] = field(default_factory=list)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def ready(self) -> bool:
        with contextlib.suppress(OSError):
            status, _ = self.get("/readyz")
            self.statuses.append(status)
            return status == 200
        return False

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"worker exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            if self.ready():
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def metric(self, name: str, labels: str = "") -> float:
        _, body = self.get("/metrics")
        prefix = f"{name}{{{labels}}} " if labels else f"{name} "
        for line in body.decode().splitlines():
            if line.startswith(prefix):
                return float(line.split()[-1])
        return 0.0

    def stop(self, timeout: float = 40) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def start_worker(bootstrap: str, tmp_path: Path) -> Iterator[Any]:
    """Start ``article-worker run`` processes; every one left running is stopped at the end."""
    started: list[WorkerProcess] = []

    def start(topics: Topics, *, wait: bool = True, **extra: str) -> WorkerProcess:
        port = free_port()
        log = tmp_path / f"worker-{port}.log"
        proc = subprocess.Popen(
            [*WORKER, "run"],
            env=worker_env(bootstrap, topics, port, tmp_path, **extra),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        worker = WorkerProcess(proc, port, log)
        started.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value in messages:
            producer.send(topic, key=key, value=value)
        producer.flush()
    finally:
        producer.close()


def consume(
    bootstrap: str,
    topic: str,
    count: int,
    timeout: float = 60,
    keys: set[bytes] | None = None,
) -> list[Any]:
    """Read ``topic`` from the beginning until ``count`` messages arrived (or, with ``keys``,
    until every one of those keys was seen), or time ran out."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        missing = set(keys) if keys is not None else None
        while time.monotonic() < deadline:
            if (missing is None and len(out) >= count) or missing == set():
                break
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
                if missing is not None:
                    missing.difference_update(m.key for m in batch)
        return out
    finally:
        consumer.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "partitions(n): partitions of the test's topics")
