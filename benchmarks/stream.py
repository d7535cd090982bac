"""(2)-(6): measured processes on the broker, one configuration at a time.

A configuration (:class:`StreamConfig`) is a command and its settings overrides; the list
:data:`CONFIGS` is data, so another configuration is one more entry (``worker-1-dedup``
beside ``worker-1`` is the dedup on/off pair). Each run gets fresh topics
(``bench-<run>-<name>.raw/.enriched/.dlq``; with dedup also ``.unique`` and the worker's
internal and changelog topics, see :func:`dedup_topics`), its own consumer group, and a
backlog fed *before* the process starts; the process is then started, the harness waits
(on end offsets only, to leave it the CPU) until every message has an output, stops it,
and reads the outputs back. The rate is outputs over the broker-timestamp span from the
first output to the last, so start-up is not counted. With dedup the worker still
publishes one enriched record per input (first-seen or marked as a copy), so counting
is the same.

The latency run (:func:`run_latency`) starts a configuration on a small backlog (its
warm-up), waits for it, then feeds messages at a fixed rate and takes each message's
output timestamp minus its input timestamp, both the broker's append time.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks import kafka_io, proc
from benchmarks.kafka_io import TopicSet
from benchmarks.rss import RssSummary
from benchmarks.stats import rate_from_timestamps, summarize
from benchmarks.workload import Article
from worker.settings import Settings

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """One measured process: ``python -m <module> <args>`` with settings ``overrides``
    (``ARTICLE_WORKER_*`` variables) on top of the harness's common ones."""

    name: str  # short, in topic names and the table: "worker-1"
    role: str  # "client" (2), "framework" (3) or "worker" (4)
    module: str
    args: tuple[str, ...] = ()
    overrides: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def dedup(self) -> bool:
        """Whether the process runs with duplicate detection (more topics of its own)."""
        return self.overrides.get(DEDUP_ENABLED, "").lower() in ("true", "1", "yes", "on")

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role,
            "command": ["python", "-m", self.module, *self.args],
            "overrides": dict(self.overrides),
            "description": self.description,
        }


def _worker(processes: int) -> StreamConfig:
    return StreamConfig(
        f"worker-{processes}",
        "worker",
        "worker",
        ("run",),
        {"ARTICLE_WORKER_ENRICH_PROCESSES": str(processes)},
        f"the full worker, enrich_processes = {processes}",
    )


DEDUP_ENABLED = "ARTICLE_WORKER_DEDUP_ENABLED"

CONFIGS: tuple[StreamConfig, ...] = (
    StreamConfig(
        "aiokafka",
        "client",
        "benchmarks.aiokafka_loop",
        description="plain aiokafka getmany -> send -> await -> commit loop",
    ),
    StreamConfig(
        "passthrough",
        "framework",
        "benchmarks.passthrough",
        description="the worker's Faust shell forwarding each message unchanged",
    ),
    _worker(0),
    _worker(1),
    StreamConfig(
        "worker-1-dedup",
        "worker",
        "worker",
        ("run",),
        {"ARTICLE_WORKER_ENRICH_PROCESSES": "1", DEDUP_ENABLED: "true"},
        "the full worker, enrich_processes = 1, duplicate detection on (dedup_enabled)",
    ),
    _worker(2),
)

#: Measured only when named (``--configs worker-1-eos``): the cost of transactions.
OPTIONAL_CONFIGS: tuple[StreamConfig, ...] = (
    StreamConfig(
        "worker-1-eos",
        "worker",
        "worker",
        ("run",),
        {
            "ARTICLE_WORKER_ENRICH_PROCESSES": "1",
            "ARTICLE_WORKER_PROCESSING_GUARANTEE": "exactly_once",
        },
        "the full worker, one helper process, exactly_once (transactions)",
    ),
)

#: Variables of the caller's environment the measured processes keep: the connection's
#: security and the config file. Every other ARTICLE_WORKER_* is the harness's.
KEPT = ("ARTICLE_WORKER_SECURITY_", "ARTICLE_WORKER_SSL_", "ARTICLE_WORKER_SASL_")
KEPT_EXACT = ("ARTICLE_WORKER_CONFIG",)


def common_settings(settings: Settings) -> dict[str, str]:
    """The settings every measured process gets (besides topics, group and port)."""
    return {
        "ARTICLE_WORKER_BROKER": settings.broker,
        "ARTICLE_WORKER_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "ARTICLE_WORKER_TOPIC_REPLICATION_FACTOR": str(settings.topic_replication_factor),
        "ARTICLE_WORKER_WEB_HOST": "127.0.0.1",
        "ARTICLE_WORKER_LOG_LEVEL": "warning",
        "ARTICLE_WORKER_SHUTDOWN_GRACE_SECONDS": "15",
    }


def environment(
    settings: Settings, config: StreamConfig, topics: TopicSet, port: int, data_dir: str
) -> dict[str, str]:
    """The measured process's environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ARTICLE_WORKER_") or k.startswith(KEPT) or k in KEPT_EXACT
    }
    env.update(common_settings(settings))
    env.update(
        ARTICLE_WORKER_APP_ID=topics.group,
        ARTICLE_WORKER_RAW_TOPIC=topics.raw,
        ARTICLE_WORKER_ENRICHED_TOPIC=topics.enriched,
        ARTICLE_WORKER_DLQ_TOPIC=topics.dlq,
        ARTICLE_WORKER_WEB_PORT=str(port),
        ARTICLE_WORKER_DATA_DIR=data_dir,
    )
    if config.dedup:
        env["ARTICLE_WORKER_UNIQUE_TOPIC"] = unique_topic(topics)
    env.update(config.overrides)
    return env


def unique_topic(topics: TopicSet) -> str:
    """The run's own unique topic (``<prefix>.unique``) for a configuration with dedup."""
    return f"{topics.group}.unique"


def dedup_topics(topics: TopicSet) -> list[str]:
    """What a configuration with dedup adds to the broker: the unique topic (the worker
    creates it), the internal join and bands topics (the worker too) and the tables'
    changelogs (Faust), named after ``app_id`` (= the group) as the worker names them."""
    app_id = topics.group
    return [
        unique_topic(topics),
        f"{app_id}-dedup-join",
        f"{app_id}-dedup-bands",
        f"{app_id}-dedup-pending-changelog",
        f"{app_id}-dedup-buckets-changelog",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunResult:
    """One configuration's run: rate (or latency), outputs, memory."""

    config: StreamConfig
    phase: str  # "rate" or "latency"
    messages: int
    outputs: int = 0
    dead_letters: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    rate: float = 0.0
    span_s: float = 0.0
    offered_rate: float | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    rss: RssSummary | None = None  # the whole run
    rss_window: RssSummary | None = None  # the paced feed of a latency run
    exit_status: int | None = None
    log_append_time: bool = True
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "config": self.config.name,
            "phase": self.phase,
            "messages": self.messages,
            "outputs": self.outputs,
            "dead_letters": self.dead_letters,
            "dead_letter_reasons": self.reasons,
            "duplicates": self.duplicates,
            "rate": round(self.rate, 1),
            "span_s": round(self.span_s, 3),
            "offered_rate": self.offered_rate,
            "latency_ms": {k: round(v, 2) for k, v in self.latency_ms.items()},
            "rss": self.rss.as_dict() if self.rss else None,
            "rss_steady_load": self.rss_window.as_dict() if self.rss_window else None,
            "exit_status": self.exit_status,
            "broker_timestamps": self.log_append_time,
            "error": self.error,
        }


class Bench:
    """The broker side of one harness run: names, the topics and groups to delete."""

    def __init__(self, settings: Settings, run_id: str, progress: Progress) -> None:
        self.settings = settings
        self.run_id = run_id
        self.progress = progress
        self.topics: list[str] = []
        self.groups: list[str] = []

    def fresh_topics(self, name: str, dedup: bool = False) -> TopicSet:
        topics = TopicSet.named(f"bench-{self.run_id}-{name}")
        self.topics.extend([topics.raw, topics.enriched, topics.dlq])
        if dedup:  # made by the process, deleted with the others at the end
            self.topics.extend(dedup_topics(topics))
        self.groups.append(topics.group)
        kafka_io.create_topics(self.settings, topics)
        return topics

    def cleanup(self) -> list[str]:
        """Delete every topic and group this run made; the problems met."""
        return kafka_io.delete_all(self.settings, self.topics, self.groups)

    def _start(self, config: StreamConfig, topics: TopicSet) -> proc.Child:
        data_dir = tempfile.mkdtemp(prefix=f"bench-{config.name}-")
        env = environment(self.settings, config, topics, free_port(), data_dir)
        return proc.start(config.name, config.command(), env)

    def _wait(self, child: proc.Child, topics: TopicSet, count: int, stall: float) -> int:
        return kafka_io.wait_for_outputs(
            self.settings, topics.outputs, count, stall_seconds=stall, alive=lambda: child.alive
        )

    def _finish(
        self,
        result: RunResult,
        child: proc.Child,
        found: int,
        want: int,
        window: tuple[float, float | None] | None = None,
    ) -> None:
        result.exit_status = child.stop()
        result.rss = child.sampler.summary()
        if window is not None:
            result.rss_window = child.sampler.summary(*window)
        if found < want:
            result.error = (
                f"{found}/{want} outputs (exit status {result.exit_status})\n{child.log_tail()}"
            )

    def run_rate(
        self, config: StreamConfig, backlog: Sequence[Article], stall: float = 90.0
    ) -> RunResult:
        """Feed ``backlog``, start ``config``, wait for every output; rate and memory."""
        result = RunResult(config, "rate", len(backlog))
        topics = self.fresh_topics(config.name, config.dedup)
        kafka_io.send(self.settings, topics.raw, backlog)
        self.progress(f"{config.name}: {len(backlog)} messages fed; starting the process")
        child = self._start(config, topics)
        found = 0
        try:
            found = self._wait(child, topics, len(backlog), stall)
        finally:
            self._finish(result, child, found, len(backlog))
        records = kafka_io.read_all(self.settings, topics.outputs)
        keys = {a.key for a in backlog}
        stamps = [ts for key, ts in records.stamps.items() if key in keys]
        result.outputs = len(stamps)
        result.dead_letters = records.per_topic.get(topics.dlq, 0)
        result.reasons = records.reasons
        result.duplicates = records.records - len(records.stamps)
        result.log_append_time = records.log_append_time
        result.rate, result.span_s = rate_from_timestamps(stamps)
        if result.outputs < len(backlog) and result.error is None:
            result.error = f"{len(backlog) - result.outputs} messages without an output"
        self.progress(
            f"{config.name}: {result.outputs}/{len(backlog)} outputs, {result.rate:,.0f} msg/s"
            + (f", peak RSS {result.rss.peak_total_mib:.0f} MiB" if result.rss else "")
        )
        return result

    def run_latency(
        self,
        config: StreamConfig,
        warmup: Sequence[Article],
        paced: Sequence[Article],
        rate: float,
        stall: float = 90.0,
    ) -> RunResult:
        """Warm ``config`` up on ``warmup``, then feed ``paced`` at ``rate`` per second;
        latency percentiles (output minus input broker timestamp) and memory."""
        result = RunResult(config, "latency", len(paced), offered_rate=round(rate, 1))
        topics = self.fresh_topics(f"{config.name}-latency", config.dedup)
        kafka_io.send(self.settings, topics.raw, warmup)
        child = self._start(config, topics)
        found, want = 0, len(warmup) + len(paced)
        # Memory is summarized over the paced feed only (steady load, start-up left out).
        window: tuple[float, float | None] | None = None
        try:
            found = self._wait(child, topics, len(warmup), stall)
            if found >= len(warmup):
                self.progress(
                    f"{config.name}: warmed up; {len(paced)} messages at {rate:,.0f}/s "
                    f"(~{len(paced) / rate:.0f} s)"
                )
                began = child.sampler.now()
                took = kafka_io.send(self.settings, topics.raw, paced, rate=rate)
                window = (began, child.sampler.now())
                result.offered_rate = round(len(paced) / took, 1) if took else None
                found = self._wait(child, topics, want, stall)
        finally:
            self._finish(result, child, found, want, window)
        outputs = kafka_io.read_all(self.settings, topics.outputs)
        inputs = kafka_io.read_all(self.settings, [topics.raw])
        latencies = [
            float(outputs.stamps[a.key] - inputs.stamps[a.key])
            for a in paced
            if a.key in outputs.stamps and a.key in inputs.stamps
        ]
        result.outputs = len(latencies)
        # What the worker kept up with while paced: below the offered rate, the latency
        # is queueing behind a worker that fell behind, not the time one message takes.
        result.rate, result.span_s = rate_from_timestamps(
            [outputs.stamps[a.key] for a in paced if a.key in outputs.stamps]
        )
        result.dead_letters = outputs.per_topic.get(topics.dlq, 0)
        result.reasons = outputs.reasons
        result.duplicates = outputs.records - len(outputs.stamps)
        result.log_append_time = outputs.log_append_time and inputs.log_append_time
        result.latencies_ms = latencies
        result.latency_ms = summarize(latencies)
        if result.outputs < len(paced) and result.error is None:
            result.error = f"{len(paced) - result.outputs} paced messages without an output"
        shown = ", ".join(
            f"{k} {v:.0f} ms" for k, v in result.latency_ms.items() if k.startswith("p")
        )
        self.progress(f"{config.name}: latency {shown}")
        return result


def wait_a_little(seconds: float) -> None:
    """Let the broker settle between runs (log flushes of the last run's topics)."""
    time.sleep(seconds)
