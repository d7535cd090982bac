"""TLS and SASL against a real broker of this module's own.

One broker (``deploy/local/kafka.sh`` on free ports, its data under a temporary folder)
with an SSL listener that requires client certificates, a SASL_SSL and a SASL_PLAINTEXT
listener (SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN users), and certificates made here with
``openssl``. ``topics``, ``feed`` and ``run`` connect through each; what they publish is
read back with kafka-python over the secure listener, configured here by hand (not through
worker/kafka_clients.py, so that a mistake in that mapping shows). Wrong credentials end
in a clear message, and no secret is ever printed, logged, exported or dead-lettered.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.conftest import SEEDS
from tests.pki import Pki, make_pki
from tests.stream.conftest import KAFKA_SH, ROOT, WORKER, WorkerProcess, free_port

pytestmark = pytest.mark.kafka

USER_SEED = SEEDS / "000_5ed99ae0c0ed6bfe.txt"
USERS = {  # user -> mechanism; each has a password of its own, made per run
    "alice": "SCRAM-SHA-512",
    "bob": "SCRAM-SHA-256",
    "carol": "PLAIN",
}


@dataclass
class SecureBroker:
    plaintext_port: int
    ssl_port: int
    sasl_ssl_port: int
    sasl_plaintext_port: int
    pki: Pki
    passwords: dict[str, str]
    data_dir: Path

    def port(self, protocol: str) -> int:
        return {
            "PLAINTEXT": self.plaintext_port,
            "SSL": self.ssl_port,
            "SASL_SSL": self.sasl_ssl_port,
            "SASL_PLAINTEXT": self.sasl_plaintext_port,
        }[protocol]

    @property
    def secrets(self) -> list[str]:
        """Every secret of this run: none may show up in any output."""
        return [*self.passwords.values(), self.pki.key_password, self.pki.store_password]

    def env(
        self, protocol: str, topics: Names, user: str = "alice", **extra: str
    ) -> dict[str, str]:
        """ARTICLE_WORKER_* settings to connect with ``protocol`` (SSL: client certificate;
        SASL: as ``user`` with that user's mechanism)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_WORKER_")}
        env.update(
            ARTICLE_WORKER_BROKER=f"kafka://127.0.0.1:{self.port(protocol)}",
            ARTICLE_WORKER_SECURITY_PROTOCOL=protocol,
            ARTICLE_WORKER_APP_ID=topics.group,
            ARTICLE_WORKER_RAW_TOPIC=topics.raw,
            ARTICLE_WORKER_ENRICHED_TOPIC=topics.enriched,
            ARTICLE_WORKER_DLQ_TOPIC=topics.dlq,
            ARTICLE_WORKER_TOPIC_PARTITIONS="2",
        )
        if protocol in ("SSL", "SASL_SSL"):
            env["ARTICLE_WORKER_SSL_CAFILE"] = str(self.pki.ca)
        if protocol == "SSL":
            env["ARTICLE_WORKER_SSL_CERTFILE"] = str(self.pki.client_cert)
            env["ARTICLE_WORKER_SSL_KEYFILE"] = str(self.pki.client_key)
            env["ARTICLE_WORKER_SSL_KEY_PASSWORD"] = self.pki.key_password
        if protocol.startswith("SASL"):
            env["ARTICLE_WORKER_SASL_MECHANISM"] = USERS[user]
            env["ARTICLE_WORKER_SASL_USERNAME"] = user
            env["ARTICLE_WORKER_SASL_PASSWORD"] = self.passwords[user]
        env.update(extra)
        return {k: v for k, v in env.items() if v}

    def client(self, protocol: str) -> dict[str, Any]:
        """kafka-python options for the test's own reads, written out by hand."""
        options: dict[str, Any] = {
            "bootstrap_servers": f"127.0.0.1:{self.port(protocol)}",
            "security_protocol": protocol,
        }
        if protocol == "SSL":
            options.update(
                ssl_cafile=str(self.pki.ca),
                ssl_certfile=str(self.pki.client_cert),
                ssl_keyfile=str(self.pki.client_key),
                ssl_password=self.pki.key_password,
            )
        if protocol == "SASL_SSL":
            options.update(
                ssl_cafile=str(self.pki.ca),
                sasl_mechanism="SCRAM-SHA-512",
                sasl_plain_username="alice",
                sasl_plain_password=self.passwords["alice"],
            )
        return options


@dataclass
class Names:
    raw: str
    enriched: str
    dlq: str
    group: str


def names() -> Names:
    suffix = uuid.uuid4().hex[:8]
    return Names(f"raw-{suffix}", f"enriched-{suffix}", f"dlq-{suffix}", f"group-{suffix}")


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """The module's broker with SSL, SASL_SSL and SASL_PLAINTEXT listeners."""
    base = tmp_path_factory.mktemp("secure-kafka")
    pki = make_pki(base / "pki", f"store-{secrets.token_hex(6)}", f"key-{secrets.token_hex(6)}")
    passwords = {user: f"{user}-{secrets.token_hex(8)}" for user in USERS}
    ports: list[int] = []
    while len(ports) < 5:  # five distinct ones: the OS may hand out a released port again
        if (port := free_port()) not in ports:
            ports.append(port)
    broker = SecureBroker(ports[0], ports[2], ports[3], ports[4], pki, passwords, base / "data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env.update(
        KAFKA_PORT=str(ports[0]),
        KAFKA_CONTROLLER_PORT=str(ports[1]),
        KAFKA_SSL_PORT=str(broker.ssl_port),
        KAFKA_SASL_SSL_PORT=str(broker.sasl_ssl_port),
        KAFKA_SASL_PLAINTEXT_PORT=str(broker.sasl_plaintext_port),
        KAFKA_DATA_DIR=str(broker.data_dir),
        KAFKA_LIB_DIR=str(ROOT / "deploy" / "local" / "lib"),
        KAFKA_HEAP_OPTS="-Xms256m -Xmx256m",
        KAFKA_SSL_KEYSTORE=str(pki.broker_keystore),
        KAFKA_SSL_KEYSTORE_PASSWORD=pki.store_password,
        KAFKA_SSL_TRUSTSTORE=str(pki.ca),
        KAFKA_SSL_CLIENT_AUTH="required",
        KAFKA_SCRAM_USERS="\n".join(
            f"{mechanism}=[name={user},password={passwords[user]}]"
            for user, mechanism in USERS.items()
            if mechanism.startswith("SCRAM")
        ),
        KAFKA_SASL_PLAIN_USERS=f"carol={passwords['carol']}",
    )
    started = subprocess.run(
        [str(KAFKA_SH), "start"], env=env, capture_output=True, text=True, timeout=150, check=False
    )
    if started.returncode != 0:
        subprocess.run([str(KAFKA_SH), "stop"], env=env, capture_output=True, check=False)
        pytest.fail(f"the secure broker did not start:\n{started.stderr}")
    try:
        yield broker
    finally:
        subprocess.run([str(KAFKA_SH), "stop"], env=env, capture_output=True, check=False)


def cli(*args: str, env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WORKER, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def read(
    secure: SecureBroker, protocol: str, topic: str, count: int, timeout: float = 60
) -> list[Any]:
    """Messages of ``topic`` from the beginning, until ``count`` arrived or time ran out."""
    consumer = KafkaConsumer(**secure.client(protocol), enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
        return out
    finally:
        consumer.close()


def sent(feed: subprocess.CompletedProcess[str]) -> int:
    """The count in feed's summary line, ``sent N, failed 0, ...``."""
    assert feed.returncode == 0, feed.stderr
    line = next(line for line in feed.stderr.splitlines() if line.startswith("sent "))
    assert ", failed 0," in line, line
    return int(line.split()[1].rstrip(","))


def assert_no_secret(secure: SecureBroker, *texts: str | bytes) -> None:
    for text in texts:
        blob = text if isinstance(text, bytes) else text.encode()
        for secret in secure.secrets:
            assert secret.encode() not in blob, f"a secret leaked into: {blob[-2000:]!r}"


# -- topics and feed ------------------------------------------------------------------------


def test_topics_and_feed_over_ssl_with_client_certificate(secure: SecureBroker) -> None:
    t = names()
    env = secure.env("SSL", t)
    topics = cli("topics", env=env)
    assert topics.returncode == 0, topics.stderr
    assert topics.stdout.count("\tcreated\t") == 3
    feed = cli("feed", str(SEEDS), env=env)
    count = sent(feed)
    assert len(read(secure, "SSL", t.raw, count)) == count
    assert_no_secret(secure, topics.stdout, topics.stderr, feed.stdout, feed.stderr)


@pytest.mark.parametrize(
    ("protocol", "user"),
    [("SASL_SSL", "alice"), ("SASL_SSL", "bob"), ("SASL_SSL", "carol"), ("SASL_PLAINTEXT", "bob")],
)
def test_topics_and_feed_over_sasl(secure: SecureBroker, protocol: str, user: str) -> None:
    t = names()
    env = secure.env(protocol, t, user=user)
    topics = cli("topics", env=env)
    assert topics.returncode == 0, topics.stderr
    assert topics.stdout.count("\tcreated\t") == 3
    feed = cli("feed", str(USER_SEED), env=env)
    assert sent(feed) == 1
    (message,) = read(secure, "SASL_SSL", t.raw, 1)
    assert message.value == USER_SEED.read_bytes()
    assert_no_secret(secure, topics.stdout, topics.stderr, feed.stdout, feed.stderr)


# -- refusals -------------------------------------------------------------------------------


def assert_clear_failure(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("article-worker: "), done.stderr
    for word in words:
        assert word in last, done.stderr


def test_wrong_password_wrong_ca_or_no_client_certificate_are_clear_errors(
    secure: SecureBroker, tmp_path: Path
) -> None:
    t = names()
    wrong = "wrong-" + secrets.token_hex(6)
    env = secure.env(
        "SASL_SSL",
        t,
        ARTICLE_WORKER_SASL_PASSWORD=wrong,
        # for `run`: a port and folder of its own, so only the password can stop it
        ARTICLE_WORKER_WEB_HOST="127.0.0.1",
        ARTICLE_WORKER_WEB_PORT=str(free_port()),
        ARTICLE_WORKER_DATA_DIR=str(tmp_path / "faust"),
    )
    started = time.monotonic()
    for command in (["topics"], ["feed", str(USER_SEED)], ["run"]):
        done = cli(*command, env=env)
        assert_clear_failure(done, "authentication as 'alice'", "sasl_password")
        assert wrong not in done.stderr + done.stdout
        assert_no_secret(secure, done.stdout, done.stderr)

    wrong_ca = secure.env("SASL_SSL", t, ARTICLE_WORKER_SSL_CAFILE=str(secure.pki.other_ca))
    done = cli("topics", env=wrong_ca)
    assert_clear_failure(done, "certificate", "ssl_cafile")
    done = cli(
        "topics", env=secure.env("SSL", t, ARTICLE_WORKER_SSL_CAFILE=str(secure.pki.other_ca))
    )
    assert_clear_failure(done, "certificate", "ssl_cafile")

    no_certificate = secure.env(
        "SSL",
        t,
        ARTICLE_WORKER_SSL_CERTFILE="",
        ARTICLE_WORKER_SSL_KEYFILE="",
        ARTICLE_WORKER_SSL_KEY_PASSWORD="",
    )
    assert_clear_failure(cli("topics", env=no_certificate), "client certificate")
    # Each refusal is found by one test connection, not after the clients' 30 s timeout.
    assert time.monotonic() - started < 40


def test_inconsistent_settings_exit_2_without_echoing_secrets(secure: SecureBroker) -> None:
    t = names()
    env = secure.env("SASL_SSL", t, ARTICLE_WORKER_SASL_MECHANISM="", ARTICLE_WORKER_SSL_CAFILE="")
    for command in ("topics", "run"):
        done = cli(command, env=env)
        assert done.returncode == 2, done.stderr
        assert "sasl_mechanism: required" in done.stderr
        assert "ssl_cafile: required" in done.stderr
        assert "Traceback" not in done.stderr
        assert_no_secret(secure, done.stdout, done.stderr)
    env = secure.env("SSL", t, ARTICLE_WORKER_SSL_KEY_PASSWORD="not-" + secure.pki.key_password)
    done = cli("topics", env=env)
    assert done.returncode == 2
    assert "wrong ssl_key_password" in done.stderr
    assert secure.pki.key_password not in done.stderr


# -- the worker -------------------------------------------------------------------------------


def start_worker(env: dict[str, str], tmp_path: Path) -> WorkerProcess:
    port = free_port()
    log = tmp_path / f"worker-{port}.log"
    env = {
        **env,
        "ARTICLE_WORKER_WEB_HOST": "127.0.0.1",
        "ARTICLE_WORKER_WEB_PORT": str(port),
        "ARTICLE_WORKER_DATA_DIR": str(tmp_path / f"faust-{port}"),
        "ARTICLE_WORKER_LAG_INTERVAL_SECONDS": "1",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*WORKER, "run"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    return WorkerProcess(proc, port, log)


def offline_count() -> int:
    done = subprocess.run([*WORKER, "enrich", str(SEEDS)], capture_output=True, check=True)
    return len(done.stdout.splitlines())


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SSL"])
def test_worker_enriches_over_a_secure_listener_and_keeps_its_secrets(
    secure: SecureBroker, protocol: str, tmp_path: Path
) -> None:
    """End to end through the secure listener; the worker logs at debug level, where the
    client libraries dump their configurations, and still no secret shows anywhere."""
    t = names()
    env = secure.env(protocol, t, ARTICLE_WORKER_LOG_LEVEL="debug")
    if protocol == "SASL_SSL":  # the password from a file, as Kubernetes mounts secrets
        password_file = tmp_path / "sasl-password"
        password_file.write_text(env.pop("ARTICLE_WORKER_SASL_PASSWORD") + "\n")
        env["ARTICLE_WORKER_SASL_PASSWORD_FILE"] = str(password_file)
    worker = start_worker(env, tmp_path)
    try:
        worker.wait_ready(timeout=90)
        feed = cli("feed", str(SEEDS), env=env)
        count = sent(feed)
        bad = tmp_path / "bad.json"
        bad.write_bytes(b'{"title": "no body"}')
        bad_feed = cli("feed", str(bad), env=env)
        assert sent(bad_feed) == 1

        expected = offline_count()
        enriched = read(secure, protocol, t.enriched, expected, timeout=90)
        assert len(enriched) == expected
        for message in enriched:
            assert orjson.loads(message.value)["id"] == message.key.decode()
        (dead,) = read(secure, protocol, t.dlq, 1)
        assert dict(dead.headers)["x-reject-reason"] == b"missing_body"

        deadline = time.monotonic() + 15
        while (
            worker.metric("article_worker_messages_consumed_total") < count + 1
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        assert worker.metric("article_worker_messages_consumed_total") == count + 1
        _, metrics = worker.get("/metrics")
        _, ready = worker.get("/readyz")
    finally:
        status = worker.stop()
    assert status == 0, worker.log.read_text()[-3000:]
    log = worker.log.read_bytes()
    assert b"DEBUG" in log  # the debug output was there to be searched
    dead_letters = [dead.value, *(value for _, value in dead.headers)]
    outputs = [feed.stdout, feed.stderr, bad_feed.stdout, bad_feed.stderr, log, metrics, ready]
    assert_no_secret(secure, *outputs, *dead_letters, *(m.value for m in enriched))
