"""Topic creation on the real broker: limits that agree with the settings, existing topics
left alone but checked, and Kafka refusing the configuration reported as exit 2."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from tests.stream.conftest import ROOT, WORKER, free_port
from worker.settings import DEAD_LETTER_HEADROOM
from worker.stream.topics import RECORD_BATCH_OVERHEAD

pytestmark = pytest.mark.kafka

OUTPUT_MAX_BYTES = 2 * 1024 * 1024
MAX_BYTES = 512 * 1024


@pytest.fixture
def names(bootstrap: str) -> Iterator[dict[str, str]]:
    """Three fresh topic names (not created), deleted at the end if they were."""
    tag = f"topics-{uuid.uuid4().hex[:8]}"
    out = {
        "RAW_TOPIC": f"{tag}.raw",
        "ENRICHED_TOPIC": f"{tag}.enriched",
        "DLQ_TOPIC": f"{tag}.dlq",
    }
    yield out
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        existing = set(admin.list_topics())
        mine = [n for n in out.values() if n in existing]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def _command(
    bootstrap: str, names: dict[str, str], tmp_path: Path, *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_WORKER_")}
    env.update({f"ARTICLE_WORKER_{k}": v for k, v in names.items()})
    env.update(
        ARTICLE_WORKER_BROKER=f"kafka://{bootstrap}",
        ARTICLE_WORKER_APP_ID=f"group-{uuid.uuid4().hex[:8]}",
        ARTICLE_WORKER_WEB_HOST="127.0.0.1",
        ARTICLE_WORKER_WEB_PORT=str(free_port()),
        ARTICLE_WORKER_DATA_DIR=str(tmp_path / "faust"),
    )
    env.update({f"ARTICLE_WORKER_{k}": v for k, v in settings.items()})
    return subprocess.run(
        [*WORKER, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=90, check=False
    )


def _limits(bootstrap: str, topics: list[str]) -> dict[str, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, ["max.message.bytes"]) for t in topics],
            config_filter="all",
        )
    finally:
        admin.close()
    return {t: int(c["max.message.bytes"]["value"]) for t, c in described["topic"].items()}


@pytest.mark.parametrize("command", ["topics", "run"])
def test_a_replication_factor_above_the_broker_count_exits_2(
    bootstrap: str, names: dict[str, str], tmp_path: Path, command: str
) -> None:
    done = _command(bootstrap, names, tmp_path, command, TOPIC_REPLICATION_FACTOR="3")
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "Traceback" not in out
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"article-worker: Kafka at kafka://{bootstrap} refused the configuration"
    )
    assert "InvalidReplicationFactorError" in last
    assert "cannot be reached because only 1 broker(s)" in last  # the broker's own words
    assert "check ARTICLE_WORKER_TOPIC_REPLICATION_FACTOR" in last
    assert "cannot reach Kafka" not in out


def test_created_topics_carry_limits_that_agree_with_the_settings(
    bootstrap: str, names: dict[str, str], tmp_path: Path
) -> None:
    limits = {"OUTPUT_MAX_BYTES": str(OUTPUT_MAX_BYTES), "MAX_BYTES": str(MAX_BYTES)}
    done = _command(bootstrap, names, tmp_path, "topics", **limits)
    assert done.returncode == 0, done.stderr
    output_limit = OUTPUT_MAX_BYTES + RECORD_BATCH_OVERHEAD
    raw_limit = OUTPUT_MAX_BYTES - DEAD_LETTER_HEADROOM + RECORD_BATCH_OVERHEAD
    assert raw_limit >= MAX_BYTES + RECORD_BATCH_OVERHEAD
    expected = {
        names["RAW_TOPIC"]: raw_limit,
        names["ENRICHED_TOPIC"]: output_limit,
        names["DLQ_TOPIC"]: output_limit,
    }
    assert _limits(bootstrap, list(expected)) == expected
    for name, limit in expected.items():
        assert f"{name}\tcreated\t4 partitions\tmax.message.bytes {limit}\n" in done.stdout
    assert "WARNING" not in done.stderr

    again = _command(bootstrap, names, tmp_path, "topics", **limits)
    assert again.returncode == 0, again.stderr
    for name, limit in expected.items():
        assert f"{name}\texists\t4 partitions\tmax.message.bytes {limit}\n" in again.stdout
    assert "too small" not in again.stdout


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_the_largest_record_the_worker_may_write_fits(
    bootstrap: str, names: dict[str, str], tmp_path: Path, compression: str | None
) -> None:
    done = _command(bootstrap, names, tmp_path, "topics", OUTPUT_MAX_BYTES=str(OUTPUT_MAX_BYTES))
    assert done.returncode == 0, done.stderr
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        compression_type=compression,
        max_request_size=4 * OUTPUT_MAX_BYTES,
    )
    try:
        # Key, value and headers of OUTPUT_MAX_BYTES together, random so that gzip cannot
        # shrink it (it grows a little instead): the broker must take it as one batch.
        headers = [(f"x-h{i}", b"v" * 100) for i in range(7)]
        key = b"k" * 36
        size = OUTPUT_MAX_BYTES - len(key) - sum(len(k) + len(v) for k, v in headers)
        value = os.urandom(size)
        for topic in (names["ENRICHED_TOPIC"], names["DLQ_TOPIC"]):
            producer.send(topic, key=key, value=value, headers=headers).get(timeout=60)
        # The raw topic takes what can still be dead-lettered intact, and not much more.
        raw_value = os.urandom(OUTPUT_MAX_BYTES - DEAD_LETTER_HEADROOM - len(key))
        producer.send(names["RAW_TOPIC"], key=key, value=raw_value).get(timeout=60)
    finally:
        producer.close()


def test_an_existing_topic_too_small_is_reported_and_left_alone(
    bootstrap: str, names: dict[str, str], tmp_path: Path
) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            {
                names["ENRICHED_TOPIC"]: {
                    "num_partitions": 2,
                    "replication_factor": 1,
                    "configs": {"max.message.bytes": "100000"},
                },
                names["RAW_TOPIC"]: {
                    "num_partitions": 2,
                    "replication_factor": 1,
                    "configs": {"max.message.bytes": "200000"},
                },
            }
        )
    finally:
        admin.close()
    done = _command(bootstrap, names, tmp_path, "topics")  # default limits (4 MiB, 1 MiB)
    assert done.returncode == 0, done.stderr
    needed = 4 * 1024 * 1024 + RECORD_BATCH_OVERHEAD
    assert (
        f"{names['ENRICHED_TOPIC']}\texists\t2 partitions\tmax.message.bytes 100000 "
        f"(too small: needs {needed})"
    ) in done.stdout
    assert f"{names['RAW_TOPIC']}\texists\t2 partitions\tmax.message.bytes 200000 (too small" in (
        done.stdout
    )
    assert f"{names['DLQ_TOPIC']}\tcreated" in done.stdout
    assert f"topic {names['ENRICHED_TOPIC']} accepts record batches up to 100000 bytes" in (
        done.stderr
    )
    assert f"topic {names['RAW_TOPIC']} accepts messages up to 200000 bytes" in done.stderr
    assert "--add-config max.message.bytes=" in done.stderr  # how to fix it
    limits = _limits(bootstrap, [names["ENRICHED_TOPIC"], names["RAW_TOPIC"]])
    assert limits == {names["ENRICHED_TOPIC"]: 100000, names["RAW_TOPIC"]: 200000}  # unaltered
