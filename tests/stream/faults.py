"""Helpers of the fault tests: workers on any broker, topics, articles, committed reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.conftest import SEEDS
from tests.stream.conftest import ROOT, WORKER, Topics, WorkerProcess, free_port, worker_env


def spawn_worker(
    bootstrap: str, topics: Topics, tmp: Path, started: list[WorkerProcess], **extra: str
) -> WorkerProcess:
    """``article-worker run`` on ``bootstrap`` (the conftest fixture knows one broker only)."""
    port = free_port()
    env = worker_env(bootstrap, topics, port, tmp)
    env.update(extra)
    log = tmp / f"worker-{port}.log"
    proc = subprocess.Popen(
        [*WORKER, "run"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT
    )
    worker = WorkerProcess(proc, port, log)
    started.append(worker)
    return worker


def articles(count: int, tag: str = "a") -> list[tuple[bytes, bytes]]:
    body = (SEEDS / "000_5ed99ae0c0ed6bfe.txt").read_text(encoding="utf-8")
    return [
        (f"{tag}-{i}".encode(), orjson.dumps({"id": f"{tag}-{i}", "body": body}))
        for i in range(count)
    ]


def produce_to_partitions(
    bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]], partitions: int
) -> dict[bytes, int]:
    """Send round-robin over the partitions; returns each key's partition."""
    where: dict[bytes, int] = {}
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for n, (key, value) in enumerate(messages):
            where[key] = n % partitions
            producer.send(topic, key=key, value=value, partition=where[key])
        producer.flush()
    finally:
        producer.close()
    return where


def read_all(
    bootstrap: str,
    topic: str,
    until_keys: set[bytes],
    timeout: float,
    isolation_level: str = "read_uncommitted",
    *,
    quiet_give_up: float | None = None,
) -> list[Any]:
    """Every message of ``topic`` from the start, read until each of ``until_keys`` was
    seen and then two more quiet seconds (so late duplicates are counted too); with
    ``quiet_give_up``, also stop when nothing new came for that long (a key that is still
    missing then is lost, not late)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=isolation_level
    )
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        missing = set(until_keys)
        deadline = time.monotonic() + timeout
        quiet_until = None
        last_news = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            if batch:
                last_news = time.monotonic()
            elif quiet_give_up is not None and time.monotonic() - last_news >= quiet_give_up:
                break
            for records in batch.values():
                out.extend(records)
                missing.difference_update(r.key for r in records)
            if not missing:
                if batch or quiet_until is None:
                    quiet_until = time.monotonic() + 2
                elif time.monotonic() >= quiet_until:
                    break
        return out
    finally:
        consumer.close()


def read_committed_once(
    bootstrap: str, topic: str, keys: set[bytes]
) -> tuple[list[Any], set[bytes], int]:
    """What a ``read_committed`` reader sees of ``topic``: the records, the keys that
    never arrived, and how many records repeat a key already seen."""
    records = read_all(bootstrap, topic, keys, 180, "read_committed")
    got = [m.key for m in records]
    return records, keys - set(got), len(got) - len(set(got))


def end_offsets(bootstrap: str, topic: str) -> int:
    """Sum of the partitions' end offsets (records plus transaction markers)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def wait_for_metric(worker: WorkerProcess, name: str, at_least: float, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    value = 0.0
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise AssertionError(f"worker exited:\n{worker.log.read_text()[-3000:]}")
        try:
            value = worker.metric(name)
        except OSError:
            value = 0.0
        if value >= at_least:
            return value
        time.sleep(0.1)
    raise AssertionError(
        f"{name} = {value} < {at_least} after {timeout} s\n{worker.log.read_text()[-4000:]}"
    )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


FIGURES = ROOT / ".run" / "reliability-figures.json"


def record(test: str, **figures: object) -> None:
    """Keep a fault test's figures (``.run/reliability-figures.json``, for
    docs/reliability.md) and show them on stderr (``pytest -s``)."""
    FIGURES.parent.mkdir(exist_ok=True)
    found = json.loads(FIGURES.read_text()) if FIGURES.is_file() else {}
    found[test] = {**figures, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    FIGURES.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    sys.stderr.write(f"\n{test}: {json.dumps(figures)}\n")
