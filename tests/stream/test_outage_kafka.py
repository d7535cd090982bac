"""A 120 s broker outage mid-stream, on a broker of the test's own: the worker stays alive,
turns not-ready within ``stall_seconds``, logs the outage as a state change rather than
per error, stays near idle, resumes by itself, and loses nothing; and an idle worker is
ready again when the broker returns."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.stream.conftest import WorkerProcess, consume, make_topics
from tests.stream.faults import (
    articles,
    cpu_seconds,
    produce_to_partitions,
    record,
    rss_mb,
    spawn_worker,
    wait_for_metric,
)

pytestmark = pytest.mark.kafka

OUTAGE_SECONDS = 120
STALL_SECONDS = 10
IDLE_STALL_SECONDS = 5


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def test_outage_of_120_seconds_mid_stream(
    private_broker: Any, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    bootstrap = private_broker.bootstrap
    topics = make_topics(bootstrap, 4)
    sent = articles(4000, "outage")
    worker = spawn_worker(
        bootstrap,
        topics,
        tmp_path,
        workers,
        ARTICLE_WORKER_STALL_SECONDS=str(STALL_SECONDS),
    )
    worker.wait_ready()
    produce_to_partitions(bootstrap, topics.raw, sent, topics.partitions)
    wait_for_metric(worker, "article_worker_articles_enriched_total", 500, timeout=60)

    private_broker.kill()  # a crash, mid-stream
    down_at = time.monotonic()
    lines_before, cpu_before = _lines(worker.log), cpu_seconds(worker.proc.pid)
    not_ready_after = None
    while time.monotonic() - down_at < OUTAGE_SECONDS:
        assert worker.proc.poll() is None, worker.log.read_text()[-3000:]
        status, _ = worker.get("/readyz")
        if status == 503 and not_ready_after is None:
            not_ready_after = time.monotonic() - down_at
        assert worker.get("/livez")[0] == 200
        time.sleep(1)
    outage_lines = _lines(worker.log) - lines_before
    outage_cpu = cpu_seconds(worker.proc.pid) - cpu_before

    private_broker.start()
    up_at = time.monotonic()
    worker.wait_ready(timeout=90)
    ready_after = time.monotonic() - up_at
    out = consume(bootstrap, topics.enriched, 0, timeout=120, keys={k for k, _ in sent})
    rss = rss_mb(worker.proc.pid)
    lost = {k for k, _ in sent} - {m.key for m in out}
    record(
        "outage_120_s",
        articles=len(sent),
        lost=len(lost),
        duplicates=len(out) - len({m.key for m in out}),
        not_ready_after_seconds=None if not_ready_after is None else round(not_ready_after, 1),
        log_lines_during_outage=outage_lines,
        cpu_share_during_outage=round(outage_cpu / OUTAGE_SECONDS, 3),
        ready_after_broker_back_seconds=round(ready_after, 1),
        worker_rss_mb=rss,
    )
    assert not lost, f"{len(lost)} lost\n{worker.log.read_text()[-3000:]}"
    assert not_ready_after is not None
    assert not_ready_after <= STALL_SECONDS + 5
    assert outage_lines < 300, worker.log.read_text()[-5000:]
    assert outage_cpu / OUTAGE_SECONDS < 0.10  # near idle: under a tenth of one core
    assert worker.stop() == 0


def test_an_idle_worker_is_ready_again_when_the_broker_returns(
    private_broker: Any, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    # With nothing to publish or commit, only the lag request sees Kafka go and come
    # back; its success must end the outage, or the worker stays not-ready for good.
    bootstrap = private_broker.bootstrap
    topics = make_topics(bootstrap, 2)
    sent = articles(20, "idle")
    worker = spawn_worker(
        bootstrap, topics, tmp_path, workers, ARTICLE_WORKER_STALL_SECONDS=str(IDLE_STALL_SECONDS)
    )
    worker.wait_ready()
    produce_to_partitions(bootstrap, topics.raw, sent, topics.partitions)
    wait_for_metric(worker, "article_worker_articles_enriched_total", len(sent), timeout=60)

    private_broker.kill()
    down_at = time.monotonic()
    while worker.ready():
        assert time.monotonic() - down_at < IDLE_STALL_SECONDS + 20, "still ready"
        time.sleep(0.5)
    private_broker.start()
    worker.wait_ready(timeout=IDLE_STALL_SECONDS + 30)
    assert worker.stop() == 0
