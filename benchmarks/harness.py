"""One harness run: core, stream configurations, latency, memory; JSON, table and chart.

Everything it starts it stops: the measured processes (in ``finally``, see
:mod:`benchmarks.proc`), its topics and consumer groups (deleted at the end), and the
local broker when it had to start one (``deploy/local/kafka.sh start`` only when nothing
answers at the configured address, and ``stop`` only then).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from benchmarks import kafka_io, proc, report, workload
from benchmarks.core import run_core
from benchmarks.dedup import run_dedup
from benchmarks.stream import (
    CONFIGS,
    OPTIONAL_CONFIGS,
    Bench,
    RunResult,
    StreamConfig,
    common_settings,
)
from worker.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
KAFKA_SH = ROOT / "deploy" / "local" / "kafka.sh"
#: Points of the latency distribution kept in the JSON (for the chart's curve).
LATENCY_SAMPLE_POINTS = 1000
#: The issue's numbering of the measurements, by configuration role.
STEPS = {"client": 2, "framework": 3, "worker": 4}


def progress(line: str) -> None:
    """A progress line on stderr, with the time."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Options:
    """What ``python -m benchmarks`` was asked for (see its ``--help``)."""

    messages: int = 4000
    warmup: int = 200
    latency_seconds: float = 20.0
    core_articles: int = 400
    core_seconds: float = 2.0
    core_rounds: int = 3
    #: Index.add timed over this many synthetic candidates (besides the workload's own).
    dedup_synthetic: tuple[int, ...] = (4000, 100_000)
    #: The dedup table's memory measured with this many articles indexed.
    dedup_memory: tuple[int, ...] = (100_000, 1_000_000)
    seed: int = workload.DEFAULT_SEED
    configs: tuple[str, ...] = ()  # empty: all of CONFIGS
    out: Path = Path(".run/benchmark.json")
    chart: Path | None = Path("docs/benchmark.png")
    start_broker: bool = False
    kafka_sh: Path = KAFKA_SH


def reachable(servers: Sequence[str], timeout: float = 3.0) -> bool:
    """Whether any ``host:port`` of ``servers`` accepts a TCP connection."""
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return True
        except OSError:
            continue
    return False


class LocalBroker:
    """Starts the project's local broker when none answers, and stops only that one."""

    def __init__(self, kafka_sh: Path, log: Callable[[str], None] = progress) -> None:
        self.kafka_sh = kafka_sh
        self.started = False
        self.log = log

    def ensure(self, settings: Settings, allowed: bool) -> None:
        if reachable(settings.bootstrap_servers):
            return
        if not allowed:
            raise RuntimeError(
                f"no Kafka broker answers at {settings.broker}; start one "
                "(deploy/local/kafka.sh start) or pass --start-broker"
            )
        self.log(f"no broker at {settings.broker}: starting {self.kafka_sh} (stopped at the end)")
        done = subprocess.run(
            [str(self.kafka_sh), "start"], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.kafka_sh} start failed:\n{done.stderr[-2000:]}")
        self.started = True

    def stop(self) -> None:
        if self.started:
            self.log(f"stopping the broker this run started ({self.kafka_sh} stop)")
            subprocess.run([str(self.kafka_sh), "stop"], capture_output=True, check=False)
            self.started = False


def selected(names: Sequence[str]) -> list[StreamConfig]:
    """The configurations named (all when none); ValueError for an unknown name."""
    if not names:
        return list(CONFIGS)
    known = {c.name: c for c in (*CONFIGS, *OPTIONAL_CONFIGS)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown configuration {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]


def run_problems(run: RunResult) -> list[str]:
    """What makes a run's figure doubtful: an error, dead letters (cheaper than an
    enrichment, so a rate with them flatters), duplicates, producer timestamps."""
    problems = [run.error] if run.error else []
    if run.dead_letters:
        problems.append(f"{run.dead_letters} dead letters {run.reasons}")
    if run.duplicates:
        problems.append(f"{run.duplicates} duplicate outputs")
    if not run.log_append_time:
        problems.append("records without broker (LogAppendTime) timestamps")
    return problems


def latency_record(run: RunResult) -> dict[str, Any]:
    """The latency run in the JSON, with a thinned sorted sample for the chart."""
    ordered = sorted(run.latencies_ms)
    step = max(1, len(ordered) // LATENCY_SAMPLE_POINTS)
    thinned = ordered[::step]
    if ordered and thinned[-1] != ordered[-1]:
        thinned.append(ordered[-1])
    record = run.as_dict()
    record["sorted_sample_ms"] = thinned
    return record


def measure(settings: Settings, options: Options) -> dict[str, Any]:
    """Run every measurement; the result document (see :func:`benchmarks.report.table`)."""
    configs = selected(options.configs)
    run_id = f"{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:4]}"
    progress(f"run {run_id}: generating the workload (seed {options.seed})")
    total = max(options.messages, options.core_articles)
    articles = workload.generate(total, seed=options.seed)
    result: dict[str, Any] = {
        "schema_version": report.SCHEMA_VERSION,
        "run_id": run_id,
        "machine": report.machine(kafka_io.broker_version(settings), ROOT),
        "settings": {
            "broker": settings.broker,
            "partitions": settings.topic_partitions,
            "common": common_settings(settings),
            "timestamps": "LogAppendTime (broker append time, ms)",
        },
        "options": _options_dict(options),
        "workload": {"seed": options.seed, **workload.describe(articles[: options.messages])},
        "core": {},
        "configurations": [c.as_dict() for c in configs],
        "runs": [],
        "latency": None,
        "problems": [],
    }
    progress(f"(1) core on {options.core_articles} articles, {options.core_rounds} rounds")
    core = run_core(
        [a.value for a in articles[: options.core_articles]],
        seconds=options.core_seconds,
        rounds=options.core_rounds,
        progress=progress,
    )
    result["core"] = {name: item.as_dict() for name, item in core.items()}
    # The core target is for seed-sized articles (the seeds, 3 KiB mean); the
    # workload's articles are twice that, so the core is measured on both.
    seeds = workload.seed_messages()
    progress(f"(1) core on the {len(seeds)} seed articles, {options.core_rounds} rounds")
    on_seeds = run_core(
        seeds, seconds=options.core_seconds, rounds=options.core_rounds, progress=progress
    )
    result["core_seeds"] = {
        "articles": len(seeds),
        "bytes_mean": round(sum(map(len, seeds)) / len(seeds)),
        **{name: item.as_dict() for name, item in on_seeds.items()},
    }
    backlog_values = [a.value for a in articles[: options.messages]]
    progress(f"(1) dedup core on the backlog's {len(backlog_values)} articles and synthetic ones")
    result["dedup"] = run_dedup(
        backlog_values,
        synthetic=options.dedup_synthetic,
        memory=options.dedup_memory,
        progress=progress,
    )
    bench = Bench(settings, run_id, progress)
    try:
        backlog = articles[: options.messages]
        runs: list[RunResult] = []
        for config in configs:
            progress(f"({STEPS.get(config.role, '?')}) {config.name}: {config.description}")
            run = bench.run_rate(config, backlog)
            runs.append(run)
            result["problems"].extend(f"{config.name}: {p}" for p in run_problems(run))
        result["runs"] = [r.as_dict() for r in runs]
        roles = {c.name: c.role for c in configs}
        best = report.best_worker(result["runs"], roles)
        result["best_worker"] = best
        if best is not None:
            rate = next(r.rate for r in runs if r.config.name == best) / 2
            count = max(100, int(rate * options.latency_seconds))
            start = options.messages + options.warmup
            warmup = workload.generate(options.warmup, start=options.messages, seed=options.seed)
            paced = workload.generate(count, start=start, seed=options.seed)
            progress(f"(5) latency of {best} at {rate:,.0f}/s (half its rate)")
            config = next(c for c in configs if c.name == best)
            latency = bench.run_latency(config, warmup, paced, rate)
            result["problems"].extend(f"latency {best}: {p}" for p in run_problems(latency))
            result["latency"] = latency_record(latency)
            result["runs"].append(latency.as_dict())
    finally:
        proc.stop_all()
        problems = bench.cleanup()
        result["problems"].extend(problems)
        progress(f"deleted {len(bench.topics)} topics and {len(bench.groups)} groups")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["ratios"] = report.ratios(result)
    result["targets"] = [t.as_dict() for t in report.targets(result)]
    return result


def _options_dict(options: Options) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in dataclasses.fields(options):
        value = getattr(options, item.name)
        out[item.name] = str(value) if isinstance(value, Path) else value
    return out


def write(result: dict[str, Any], options: Options) -> None:
    """The JSON file, the table on stdout, and the chart (when matplotlib is there)."""
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    print(report.table(result))
    progress(f"wrote {options.out}")
    if options.chart is not None:
        try:
            from benchmarks.chart import draw

            draw(result, options.chart)
            progress(f"wrote {options.chart}")
        except ImportError as exc:
            progress(f"no chart ({exc}); pip install -e '.[render]'")
