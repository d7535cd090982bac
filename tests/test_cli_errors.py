"""Every configuration error ends a Kafka command with exit status 2 and a short message,
never a traceback; Kafka that cannot be reached is exit status 1 and says so."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import aiokafka.errors
import kafka.errors
import pytest

from worker import cli

ROOT = Path(__file__).resolve().parents[1]
WORKER = [str(Path(sys.executable).parent / "article-worker")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_WORKER_")}
    env.update(
        # Nothing listens there: a command that got as far as Kafka would show it.
        ARTICLE_WORKER_BROKER=f"kafka://127.0.0.1:{_free_port()}",
        ARTICLE_WORKER_WEB_HOST="127.0.0.1",
        ARTICLE_WORKER_WEB_PORT=str(_free_port()),
        ARTICLE_WORKER_DATA_DIR=str(tmp_path / "faust"),
    )
    env.update({f"ARTICLE_WORKER_{k}": v for k, v in settings.items()})
    return subprocess.run(
        [*WORKER, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=90, check=False
    )


def _assert_clear(done: subprocess.CompletedProcess[str], status: int, *words: str) -> None:
    out = done.stdout + done.stderr
    assert done.returncode == status, out
    assert "Traceback" not in out, out
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, out
    assert lines[-1].startswith(("article-worker: ", "  ")), out
    assert len([line for line in lines if line.startswith("article-worker: ")]) == 1, out
    for word in words:
        assert word in done.stderr, out


@pytest.mark.parametrize("command", ["run", "topics"])
@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"BROKER": "kafka://127.0.0.1:abc"}, ["broker: the port of 'kafka://127.0.0.1:abc'"]),
        ({"RAW_TOPIC": "bad/name"}, ["raw_topic: only ASCII letters"]),
        ({"DLQ_TOPIC": "x" * 250}, ["dlq_topic: at most 249 characters"]),
        ({"APP_ID": "my worker"}, ["app_id: only ASCII letters"]),
        ({"SHUTDOWN_GRACE_SECONDS": "nan"}, ["shutdown_grace_seconds: must be a finite number"]),
        ({"BATCH_WAIT_SECONDS": "inf"}, ["batch_wait_seconds: must be a finite number"]),
        ({"MAX_BYTES": str(10**14)}, ["max_bytes: must be 1024-67108864"]),
        ({"CONCURRENCY": "100000"}, ["concurrency: must be 1-64"]),
        ({"GAZETTEER": "/nonexistent.json"}, ["gazetteer: no such file"]),
    ],
)
def test_bad_settings_exit_2(
    command: str, settings: dict[str, str], words: list[str], tmp_path: Path
) -> None:
    _assert_clear(_run([command], tmp_path, **settings), 2, "invalid settings", *words)


def test_a_file_that_is_not_a_gazetteer_exits_2(tmp_path: Path) -> None:
    done = _run(["run"], tmp_path, GAZETTEER="/etc/passwd")
    _assert_clear(done, 2, "gazetteer: /etc/passwd: not JSON")


def test_a_gazetteer_of_the_wrong_shape_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "gazetteer.json"
    bad.write_text('{"entities": [{"canonical": "X", "type": "planet", "aliases": []}]}')
    _assert_clear(_run(["run"], tmp_path, GAZETTEER=str(bad)), 2, "gazetteer:", "type must be")


def test_a_web_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run(["run"], tmp_path, WEB_PORT=str(port))
    _assert_clear(done, 2, f"cannot listen on 127.0.0.1:{port}")


def test_an_unusable_data_dir_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = _run(["run"], tmp_path, DATA_DIR=str(blocker / "faust"))
    _assert_clear(done, 2, "data_dir: cannot create")


def test_feed_with_a_bad_topic_name_exits_2(tmp_path: Path) -> None:
    done = _run(["feed", str(ROOT / "seeds"), "--topic", "a b"], tmp_path)
    _assert_clear(done, 2, "--topic: only ASCII letters")


def test_unreachable_kafka_exits_1_and_says_so(tmp_path: Path) -> None:
    done = _run(["topics"], tmp_path)  # nothing listens on the broker port
    _assert_clear(done, 1, "cannot reach Kafka at kafka://127.0.0.1:")


def test_feed_to_unreachable_kafka_says_what_it_waits_for(tmp_path: Path) -> None:
    done = _run(["feed", str(ROOT / "seeds")], tmp_path)
    assert "article-worker feed: connecting to Kafka at 127.0.0.1:" in done.stderr
    _assert_clear(done, 1, "cannot reach Kafka at kafka://127.0.0.1:")


# -- classifying Kafka's errors ---------------------------------------------------------------


def _refused() -> list[type[Exception]]:
    found = [
        getattr(module, name)
        for module in (kafka.errors, aiokafka.errors)
        for name in cli.REFUSED_CONFIGURATION
        if hasattr(module, name)
    ]
    assert len(found) >= 20  # both libraries, most names in each
    return found


@pytest.mark.parametrize("error", _refused(), ids=lambda e: f"{e.__module__}.{e.__name__}")
def test_kafka_refusing_the_configuration_is_exit_2(error: type[Exception]) -> None:
    status, message = cli.kafka_failure(error("cannot create topic t: nope"), "kafka://b:9092")
    assert status == 2
    assert message.startswith("Kafka at kafka://b:9092 refused the configuration: ")
    assert error.__name__ in message
    assert f"(check {cli.REFUSED_CONFIGURATION[error.__name__]})" in message


@pytest.mark.parametrize(
    "error",
    [
        kafka.errors.KafkaTimeoutError("Unable to bootstrap from ['127.0.0.1:1']"),
        kafka.errors.KafkaConnectionError("111 ECONNREFUSED"),
        kafka.errors.RequestTimedOutError(),
        aiokafka.errors.KafkaConnectionError("Unable to bootstrap"),
        aiokafka.errors.KafkaTimeoutError(),
        aiokafka.errors.NoBrokersAvailable(),
    ],
    ids=lambda e: f"{type(e).__module__}.{type(e).__name__}",
)
def test_kafka_out_of_reach_is_exit_1(error: Exception) -> None:
    status, message = cli.kafka_failure(error, "kafka://b:9092")
    assert status == 1
    assert message.startswith("cannot reach Kafka at kafka://b:9092: ")
    assert type(error).__name__ in message


def test_other_kafka_errors_are_exit_1_without_claiming_it_is_unreachable() -> None:
    status, message = cli.kafka_failure(kafka.errors.UnsupportedVersionError("old"), "kafka://b:1")
    assert status == 1
    assert message.startswith("Kafka at kafka://b:1 failed: ")


def test_kafka_messages_stay_on_one_short_line() -> None:
    error = kafka.errors.PolicyViolationError("a\nvery\n\nlong " + "x" * 2000)
    _, message = cli.kafka_failure(error, "kafka://b:9092")
    assert "\n" not in message
    assert len(message) < 700
