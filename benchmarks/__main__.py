"""``python -m benchmarks`` (``make bench``): the whole benchmark in one run. See --help."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks import harness, workload


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure, in one run on the broker and on one workload: the enrichment "
        "core alone beside decode+NFC, a plain aiokafka loop, the Faust passthrough agent, "
        "the worker with 0, 1 and 2 helper processes and with duplicate detection, its "
        "latency at half its best rate and its memory, and the duplicate index's cost and "
        "memory. Writes a JSON file, prints a table, draws a PNG chart.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run (~1 min)")
    parser.add_argument("--messages", type=int, help="backlog per configuration (default 4000)")
    parser.add_argument("--warmup", type=int, help="latency run's warm-up backlog (default 200)")
    parser.add_argument(
        "--latency-seconds", type=float, help="length of the paced feed (default 20)"
    )
    parser.add_argument("--core-seconds", type=float, help="time per core round (default 2)")
    parser.add_argument("--core-rounds", type=int, help="core rounds, median kept (default 3)")
    parser.add_argument("--core-articles", type=int, help="distinct articles (default 400)")
    parser.add_argument(
        "--dedup-memory",
        type=_sizes,
        help="articles indexed for the dedup memory figure (default 100000,1000000)",
    )
    parser.add_argument("--seed", type=int, default=workload.DEFAULT_SEED, help="workload seed")
    parser.add_argument(
        "--configs",
        help="comma-separated configurations (default: aiokafka, passthrough, worker-0, "
        "worker-1, worker-1-dedup, worker-2; also worker-1-eos, the cost of exactly_once)",
    )
    parser.add_argument("--broker", help="override ARTICLE_WORKER_BROKER")
    parser.add_argument("--out", type=Path, default=Path(".run/benchmark.json"))
    parser.add_argument("--chart", type=Path, default=Path("docs/benchmark.png"))
    parser.add_argument("--no-chart", action="store_true", help="do not draw the PNG")
    parser.add_argument(
        "--start-broker",
        action="store_true",
        help="if no broker answers, start deploy/local/kafka.sh (and stop it at the end)",
    )
    return parser


def _sizes(text: str) -> tuple[int, ...]:
    """``"100000,1000000"`` as a tuple of positive counts."""
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of counts: {text!r}") from None
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(f"not a list of positive counts: {text!r}")
    return sizes


def options(args: argparse.Namespace) -> harness.Options:
    """The run's options: --quick's sizes, then any given explicitly."""
    base = (
        harness.Options(
            messages=400,
            warmup=50,
            latency_seconds=5,
            core_articles=100,
            core_seconds=0.5,
            core_rounds=1,
            dedup_synthetic=(1000, 10_000),
            dedup_memory=(10_000, 30_000),
        )
        if args.quick
        else harness.Options()
    )
    given = {
        name: getattr(args, name)
        for name in (
            "messages",
            "warmup",
            "latency_seconds",
            "core_articles",
            "core_seconds",
            "core_rounds",
            "dedup_memory",
        )
        if getattr(args, name) is not None
    }
    return dataclasses.replace(
        base,
        **given,
        seed=args.seed,
        configs=tuple(c for c in (args.configs or "").split(",") if c),
        out=args.out,
        chart=None if args.no_chart else args.chart,
        start_broker=args.start_broker,
    )


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    from worker.kafka_clients import KAFKA_ERRORS
    from worker.settings import SettingsError, load_settings

    args = build_parser().parse_args(argv)
    opts = options(args)
    try:
        harness.selected(opts.configs)
        settings = load_settings(broker=args.broker)
    except (ValueError, SettingsError) as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    # SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C, so that every
    # ``finally`` runs: measured processes stopped, topics deleted, a started broker stopped.
    signal.signal(signal.SIGTERM, _interrupted)
    broker = harness.LocalBroker(opts.kafka_sh)
    try:
        broker.ensure(settings, opts.start_broker)
        result = harness.measure(settings, opts)
    except RuntimeError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 1
    except KAFKA_ERRORS as exc:
        print(f"benchmarks: Kafka: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("benchmarks: interrupted; everything started was stopped", file=sys.stderr)
        return 130
    finally:
        broker.stop()
    harness.write(result, opts)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
