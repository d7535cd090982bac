"""The streaming worker against the real broker: output, dead letters, metrics, health,
shutdown and restart, and two workers sharing a group."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka.admin import KafkaAdminClient

from tests.conftest import SEEDS
from tests.stream.conftest import WORKER, Topics, consume, produce, worker_env
from worker.enrich import Enricher, Rejection

pytestmark = pytest.mark.kafka


def canonical(records: list[dict[str, Any]]) -> list[bytes]:
    """Records as a sorted list of canonical JSON (two seeds share an id: same body)."""
    return sorted(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in records)


def offline_records() -> list[dict[str, Any]]:
    out = subprocess.run([*WORKER, "enrich", str(SEEDS)], capture_output=True, check=True)
    return [orjson.loads(line) for line in out.stdout.splitlines()]


def test_seeds_through_kafka_match_offline_enrich(
    bootstrap: str, topics: Topics, start_worker: Any, tmp_path: Path
) -> None:
    worker = start_worker(topics)
    feed = subprocess.run(
        [*WORKER, "feed", str(SEEDS)],
        env=worker_env(bootstrap, topics, 6066, tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert feed.returncode == 0, feed.stderr
    expected = offline_records()
    assert f"sent {len(expected)}, failed 0" in feed.stderr

    # kcat, an independent client, reads what the worker published.
    deadline = time.monotonic() + 60
    lines: list[bytes] = []
    while time.monotonic() < deadline:
        kcat = subprocess.run(
            [
                "kcat",
                "-b",
                bootstrap,
                "-C",
                "-t",
                topics.enriched,
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%k\t%s\n",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        lines = [line for line in kcat.stdout.split(b"\n") if line]
        if len(lines) >= len(expected):
            break
        time.sleep(1)
    got = []
    for line in lines:
        key, value = line.split(b"\t", 1)
        record = orjson.loads(value)
        assert key.decode() == record["id"]
        got.append(record)
    assert canonical(got) == canonical(expected)
    assert worker.metric("article_worker_articles_enriched_total") == len(expected)
    assert worker.stop() == 0


BAD = [
    (b"k-utf8", b"\xff\xfe not utf-8", "invalid_utf8"),
    (b"k-json", b'{"body": "unterminated', "invalid_json"),
    (b"k-array", b'[{"body": "x"}]', "not_an_object"),
    (b"k-missing", b'{"title": "no body"}', "missing_body"),
    (b"k-type", b'{"body": 17}', "body_not_string"),
    (b"k-empty", '{"body": "\u200b\u200e  \u00ad"}'.encode(), "empty_body"),
    (b"k-field", b'{"body": "ok", "published_at": "yesterday"}', "bad_field"),
    (b"k-large", b"x" * 7000, "too_large"),
]


def test_bad_messages_go_to_the_dead_letter_topic(
    bootstrap: str, topics: Topics, start_worker: Any
) -> None:
    # The core inline (no helper process) here; every other test runs the default helper.
    worker = start_worker(
        topics, ARTICLE_WORKER_MAX_BYTES="6000", ARTICLE_WORKER_ENRICH_PROCESSES="0"
    )
    good = (SEEDS / "000_5ed99ae0c0ed6bfe.txt").read_bytes()
    produce(bootstrap, topics.raw, [(k, v) for k, v, _ in BAD] + [(b"k-good", good)])

    core = Enricher(max_bytes=6000)
    dead = consume(bootstrap, topics.dlq, len(BAD))
    assert len(dead) == len(BAD)
    by_key = {m.key: m for m in dead}
    for key, value, reason in BAD:
        message = by_key[key]
        headers = dict(message.headers)
        assert message.value == value, key  # the original bytes, untouched
        assert headers["x-reject-reason"].decode() == reason
        # The detail the core itself gives for these bytes, under the same size limit.
        rejection = core.enrich(value)
        assert isinstance(rejection, Rejection), key
        assert headers["x-reject-detail"].decode() == rejection.detail, key
        assert headers["x-source-topic"].decode() == topics.raw
        assert int(headers["x-source-offset"]) >= 0
    enriched = consume(bootstrap, topics.enriched, 1)
    assert len(enriched) == 1  # the stream went on past every bad message

    deadline = time.monotonic() + 15
    while (
        worker.metric("article_worker_messages_consumed_total") < len(BAD) + 1
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert worker.metric("article_worker_messages_consumed_total") == len(BAD) + 1
    assert worker.metric("article_worker_articles_enriched_total") == 1
    assert worker.metric("article_worker_articles_by_language_total", 'language="hi"') == 1
    for _, _, reason in BAD:
        assert worker.metric("article_worker_articles_rejected_total", f'reason="{reason}"') == 1
    assert worker.metric("article_worker_input_bytes_total") == sum(
        len(v) for _, v, _ in BAD
    ) + len(good)
    assert worker.metric("article_worker_processing_duration_seconds_count") == len(BAD) + 1
    assert worker.metric("article_worker_end_to_end_latency_seconds_count") == len(BAD) + 1
    assert worker.metric("article_worker_last_processed_timestamp_seconds") > time.time() - 60
    assert worker.metric("article_worker_in_flight_messages") == 0
    _, body = worker.get("/metrics")
    assert b"article_worker_build_info{" in body
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lags = [
            line
            for line in body.decode().splitlines()
            if line.startswith("article_worker_consumer_lag_messages{")
        ]
        if len(lags) == topics.partitions and all(line.endswith(" 0.0") for line in lags):
            break
        time.sleep(0.5)
        _, body = worker.get("/metrics")
    assert len(lags) == topics.partitions
    assert all(line.endswith(" 0.0") for line in lags), lags
    assert worker.stop() == 0


def test_readiness_across_start_and_stop(topics: Topics, start_worker: Any) -> None:
    worker = start_worker(topics, wait=False)
    worker.wait_ready()
    assert 503 in worker.statuses, worker.statuses  # seen before it was ready
    assert worker.get("/livez")[0] == 200
    status, body = worker.get("/readyz")
    assert status == 200
    assert json.loads(body) == {"ready": True, "reason": "ok"}
    worker.proc.send_signal(15)
    seen = []
    deadline = time.monotonic() + 20
    while worker.proc.poll() is None and time.monotonic() < deadline:
        try:
            seen.append(worker.get("/readyz")[0])
        except OSError:
            break
        time.sleep(0.05)
    assert 503 in seen, seen
    assert worker.proc.wait(timeout=30) == 0


def _articles(count: int) -> list[tuple[bytes, bytes]]:
    body = (SEEDS / "000_5ed99ae0c0ed6bfe.txt").read_text(encoding="utf-8")
    return [(f"a-{i}".encode(), orjson.dumps({"id": f"a-{i}", "body": body})) for i in range(count)]


def test_sigterm_in_flight_then_restart_loses_nothing(
    bootstrap: str, topics: Topics, start_worker: Any
) -> None:
    articles = _articles(1500)
    produce(bootstrap, topics.raw, articles)
    worker = start_worker(topics)
    deadline = time.monotonic() + 60
    while (
        worker.metric("article_worker_articles_enriched_total") < 100
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    started = time.monotonic()
    assert worker.stop() == 0  # SIGTERM while the backlog is being worked through
    assert time.monotonic() - started < 30
    first_run = len(consume(bootstrap, topics.enriched, len(articles), timeout=5))
    assert 0 < first_run < len(articles), "the worker should have been stopped mid-backlog"

    again = start_worker(topics)
    out = consume(bootstrap, topics.enriched, 0, timeout=120, keys={k for k, _ in articles})
    ids = {m.key.decode() for m in out}
    assert ids == {k.decode() for k, _ in articles}  # lost = 0 (duplicates allowed)
    assert again.stop() == 0


@pytest.mark.partitions(4)
def test_two_workers_share_the_partitions(
    bootstrap: str, topics: Topics, start_worker: Any
) -> None:
    first = start_worker(topics)
    second = start_worker(topics)
    articles = _articles(400)
    produce(bootstrap, topics.raw, articles)
    # A rebalance while the second worker joins may hand over uncommitted messages, so
    # some may be processed twice: wait for every key rather than for a count.
    out = consume(bootstrap, topics.enriched, 0, timeout=90, keys={k for k, _ in articles})
    missing = {k.decode() for k, _ in articles} - {m.key.decode() for m in out}
    assert not missing, (
        f"{len(missing)} never processed\n--- first\n{first.log.read_text()[-6000:]}"
        f"\n--- second\n{second.log.read_text()[-6000:]}"
    )
    a = first.metric("article_worker_messages_consumed_total")
    b = second.metric("article_worker_messages_consumed_total")
    assert a > 0
    assert b > 0
    assert a + b >= len(articles)
    assert first.stop() == 0
    assert second.stop() == 0


def test_invalid_setting_stops_the_start(bootstrap: str, topics: Topics, tmp_path: Path) -> None:
    env = worker_env(bootstrap, topics, 6099, tmp_path, ARTICLE_WORKER_CONCURRENCY="lots")
    run = subprocess.run(
        [*WORKER, "run"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert run.returncode == 2
    assert "ARTICLE_WORKER_CONCURRENCY: expected int" in run.stderr


def test_feed_repeat_gzip_and_a_bad_file(bootstrap: str, topics: Topics, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    feed = subprocess.run(
        [*WORKER, "feed", str(SEEDS), str(missing), "--repeat", "2", "--compression", "gzip"],
        env=worker_env(bootstrap, topics, 6066, tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    seeds = [p for p in SEEDS.iterdir() if p.suffix in {".txt", ".json"}]
    assert feed.returncode == 1  # the unreadable file is reported and makes the run fail
    assert f"cannot read {missing}" in feed.stderr
    assert f"sent {2 * len(seeds)}, failed 0, unreadable files 1" in feed.stderr
    sent = consume(bootstrap, topics.raw, 2 * len(seeds), timeout=30)
    assert len(sent) == 2 * len(seeds)
    by_value = {m.value for m in sent}
    assert by_value == {p.read_bytes() for p in seeds}  # the bytes, unchanged
    keyed = {m.key for m in sent if m.key}
    assert b"kb-2024-03-06-metro" in keyed  # JSON articles are keyed by their id


def _topic_bytes(bootstrap: str, topic: str) -> int:
    """Bytes the broker stores for ``topic`` (its partitions' log sizes)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return sum(
            partition["partition_size"]
            for broker in admin.describe_log_dirs()
            for log_dir in broker["log_dirs"]
            for entry in log_dir["topics"]
            if entry["name"] == topic
            for partition in entry["partitions"]
        )
    finally:
        admin.close()


def test_zstd_feed_and_worker_output_are_compressed_and_readable(
    bootstrap: str, topics: Topics, start_worker: Any, tmp_path: Path
) -> None:
    # The feed's producer is kafka-python's (zstandard), the worker's aiokafka's (cramjam).
    start_worker(topics, ARTICLE_WORKER_PRODUCER_COMPRESSION="zstd")
    env = worker_env(bootstrap, topics, 6066, tmp_path, ARTICLE_WORKER_PRODUCER_COMPRESSION="zstd")
    feed = subprocess.run(
        [*WORKER, "feed", str(SEEDS), "--repeat", "3"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert feed.returncode == 0, feed.stderr
    expected = offline_records()
    out = consume(bootstrap, topics.enriched, 3 * len(expected), timeout=90)
    assert len(out) == 3 * len(expected)
    assert sorted(set(canonical([orjson.loads(m.value) for m in out]))) == sorted(
        set(canonical(expected))
    )
    # Stored compressed: JSON news text compresses to about a third with zstd.
    raw_bytes = sum(len(m.value) + len(m.key or b"") for m in out)
    assert _topic_bytes(bootstrap, topics.enriched) < 0.6 * raw_bytes
    sent = consume(bootstrap, topics.raw, 3 * len(expected), timeout=30)
    assert _topic_bytes(bootstrap, topics.raw) < 0.6 * sum(len(m.value) for m in sent)


def test_second_signal_exits_at_once(topics: Topics, start_worker: Any) -> None:
    worker = start_worker(topics)
    worker.proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=10) == 128 + signal.SIGTERM
