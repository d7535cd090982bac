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


def make_topics(bootstrap: str, partitions: int) -> Topics:
    """Fresh raw/enriched/dlq topics and a group name of their own, on ``bootstrap``."""
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


@pytest.fixture
def topics(bootstrap: str, request: pytest.FixtureRequest) -> Topics:
    """Fresh raw/enriched/dlq topics (4 partitions unless the test is marked otherwise)."""
    marker = request.node.get_closest_marker("partitions")
    return make_topics(bootstrap, marker.args[0] if marker else 4)


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


# -- a broker of the test's own, for outage tests --------------------------------------------

LIB_DIR = ROOT / "deploy" / "local" / "lib"


@dataclass
class PrivateBroker:
    """A one-node broker of the test's own: ``deploy/local/kafka.sh`` on free ports, with
    its data under the test's ``tmp_path`` and the project's jars (nothing fetched).

    ``stop()`` stops it (SIGTERM, as kafka.sh does), ``kill()`` kills it (SIGKILL, a
    crash), ``start()`` starts it again keeping its topics and offsets
    (``KAFKA_KEEP_DATA=1``); the fixture stops it at the end whatever happened.
    """

    port: int
    controller_port: int
    data_dir: Path
    log: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def _kafka_sh(self, command: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
        env.update(
            KAFKA_PORT=str(self.port),
            KAFKA_CONTROLLER_PORT=str(self.controller_port),
            KAFKA_DATA_DIR=str(self.data_dir),
            KAFKA_LIB_DIR=str(LIB_DIR),
            KAFKA_KEEP_DATA="1",  # a first start formats anyway; a restart keeps the data
            KAFKA_HEAP_OPTS=os.environ.get("KAFKA_HEAP_OPTS", "-Xms256m -Xmx256m"),
            KAFKA_STOP_TIMEOUT="20",
        )
        began = time.monotonic()
        done = subprocess.run(
            [str(KAFKA_SH), command],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        took = time.monotonic() - began
        self.log.append(f"$ kafka.sh {command} -> {done.returncode} in {took:.1f} s\n{done.stderr}")
        return done

    def start(self) -> None:
        done = self._kafka_sh("start")
        if done.returncode != 0:
            raise AssertionError(f"private broker did not start:\n{done.stderr}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop the broker now and wait until it is gone. Not through ``kafka.sh stop``:
        that waits for a lock every kafka.sh start and stop on this machine shares, and
        an outage must begin when the test says."""
        pid = self._pid()
        if pid is None:
            return
        began = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        while _alive(pid):
            if time.monotonic() - began > timeout:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        (self.data_dir / "kafka.pid").unlink(missing_ok=True)
        self.log.append(f"stopped pid {pid} ({sig.name}) in {time.monotonic() - began:.1f} s")

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed or closed cleanly."""
        self.stop(signal.SIGKILL)

    def _pid(self) -> int | None:
        try:
            return int((self.data_dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        return self._kafka_sh("status", timeout=30).returncode == 0


def _alive(pid: int) -> bool:
    """Running, and not a zombie (the broker's parent, kafka.sh, exited long ago)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A broker of this test's own on free ports (see :class:`PrivateBroker`), started;
    stopped at the end."""
    port = free_port()
    controller_port = free_port()
    while controller_port == port:
        controller_port = free_port()
    broker = PrivateBroker(port, controller_port, tmp_path / "private-kafka")
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """A list for workers a test starts on any broker (``faults.spawn_worker``); each one
    left running is killed at the end."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()
