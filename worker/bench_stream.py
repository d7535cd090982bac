"""``article-worker bench-stream``: end-to-end rate and latency of one worker on the broker.

Four workers are measured in the same run on the same articles: a Faust agent that only
forwards the messages unchanged (``run --passthrough``), the enriching worker with the
core in the event loop (``enrich_processes = 0``), with one helper process for the
core (``enrich_processes = 1``, the default), and the same under ``exactly_once`` (the
cost of the transactions). Each
gets fresh topics and a backlog of ``--messages`` seed-sized articles. The rate is taken
from the broker timestamps of the first and last output record (so start-up does not
count); then ``--latency-messages`` more are fed at ``--latency-rate`` per second to a
worker that has caught up, and latency is output timestamp minus input timestamp.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from kafka import TopicPartition
from kafka.admin import NewTopic

from worker.enrich.decode import RawArticle, decode
from worker.kafka_clients import new_admin, new_kafka_python_consumer, new_kafka_python_producer
from worker.settings import Settings
from worker.sources import read_items


@dataclass(frozen=True, slots=True)
class Result:
    mode: str
    rate: float  # messages per second through the worker
    p50: float  # seconds
    p99: float


def _articles(paths: Sequence[str], count: int, tag: str) -> list[tuple[bytes, bytes]]:
    # The input contract's own decoder gives each article's body (JSON or plain text).
    raw = [decode(item.data) for item in read_items(paths) if item.data is not None]
    bodies = [article.body for article in raw if isinstance(article, RawArticle)]
    out = []
    for i in range(count):
        key = f"{tag}-{i}"
        out.append((key.encode(), orjson.dumps({"id": key, "body": bodies[i % len(bodies)]})))
    return out


def _send(
    settings: Settings, topic: str, messages: list[tuple[bytes, bytes]], rate: float = 0
) -> None:
    producer = new_kafka_python_producer(settings, acks="all", linger_ms=5)
    start = time.monotonic()
    try:
        for n, (key, value) in enumerate(messages):
            if rate:
                wait = start + n / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            producer.send(topic, key=key, value=value)
        producer.flush()
    finally:
        producer.close()


def _read(settings: Settings, topic: str, count: int, timeout: float) -> dict[bytes, int]:
    """key -> broker timestamp (ms) of the first ``count`` records of ``topic``."""
    consumer = new_kafka_python_consumer(settings, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        seen: dict[bytes, int] = {}
        deadline = time.monotonic() + timeout
        while len(seen) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    seen.setdefault(record.key, record.timestamp)
        return seen
    finally:
        consumer.close()


def _measure(
    settings: Settings,
    paths: Sequence[str],
    mode: str,
    *,
    messages: int,
    latency_messages: int,
    latency_rate: float,
) -> Result:
    tag = f"bench-{mode.replace('+', '-')}-{uuid.uuid4().hex[:6]}"
    raw, enriched, dlq = f"{tag}.raw", f"{tag}.enriched", f"{tag}.dlq"
    admin = new_admin(settings)
    try:
        admin.create_topics(
            [NewTopic(t, settings.topic_partitions, 1) for t in (raw, enriched, dlq)]
        )
    finally:
        admin.close()
    backlog = _articles(paths, messages, tag)
    _send(settings, raw, backlog)

    # The benchmark's own settings are set below; the connection's security ones are kept.
    security = ("ARTICLE_WORKER_SECURITY_", "ARTICLE_WORKER_SSL_", "ARTICLE_WORKER_SASL_")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ARTICLE_WORKER_") or k.startswith(security)
    }
    env.update(
        ARTICLE_WORKER_BROKER=settings.broker,
        ARTICLE_WORKER_APP_ID=tag,
        ARTICLE_WORKER_RAW_TOPIC=raw,
        ARTICLE_WORKER_ENRICHED_TOPIC=enriched,
        ARTICLE_WORKER_DLQ_TOPIC=dlq,
        ARTICLE_WORKER_WEB_HOST="127.0.0.1",
        ARTICLE_WORKER_WEB_PORT=str(settings.web_port),
        ARTICLE_WORKER_DATA_DIR=tempfile.mkdtemp(prefix="article-worker-bench-"),
        ARTICLE_WORKER_LOG_LEVEL="warning",
    )
    env["ARTICLE_WORKER_ENRICH_PROCESSES"] = "1" if mode.startswith("enrich+helper") else "0"
    if mode.endswith("+eos"):
        env["ARTICLE_WORKER_PROCESSING_GUARANTEE"] = "exactly_once"
    command = [sys.executable, "-m", "worker", "run"] + (
        ["--passthrough"] if mode == "passthrough" else []
    )
    with tempfile.TemporaryFile() as log:
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            out = _read(settings, enriched, messages, timeout=300)
            if len(out) < messages:
                log.seek(0)
                raise RuntimeError(f"{mode}: {len(out)}/{messages} outputs\n{log.read()[-2000:]!r}")
            stamps = sorted(out.values())
            rate = (messages - 1) / max((stamps[-1] - stamps[0]) / 1000, 1e-3)

            late = _articles(paths, latency_messages, f"{tag}-late")
            _send(settings, raw, late, rate=latency_rate)
            outputs = _read(settings, enriched, messages + latency_messages, timeout=120)
            inputs = _read(settings, raw, messages + latency_messages, timeout=60)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    latencies = sorted(
        (outputs[k] - inputs[k]) / 1000 for k, _ in late if k in outputs and k in inputs
    )
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Result(mode, rate, cuts[49], cuts[98])


def run_stream_benchmark(
    settings: Settings,
    paths: Sequence[str],
    messages: int = 3000,
    latency_messages: int = 300,
    latency_rate: float = 50.0,
) -> int:
    """Print the comparison table; exit status 0."""
    print(
        f"{messages} backlog messages + {latency_messages} at {latency_rate:g}/s per mode, "
        f"{settings.topic_partitions} partitions, broker {settings.broker}, one worker"
    )
    results = [
        _measure(
            settings,
            paths,
            mode,
            messages=messages,
            latency_messages=latency_messages,
            latency_rate=latency_rate,
        )
        for mode in ("passthrough", "enrich", "enrich+helper", "enrich+helper+eos")
    ]
    base = results[0].rate
    for r in results:
        print(
            f"{r.mode:<18} {r.rate:>8,.0f} msg/s  ({r.rate / base:5.0%} of passthrough)  "
            f"latency p50 {r.p50 * 1000:6.1f} ms  p99 {r.p99 * 1000:6.1f} ms"
        )
    return 0
