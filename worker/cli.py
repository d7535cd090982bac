"""The ``article-worker`` command line (also ``python -m worker``)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from worker import __version__
from worker.settings import COMPRESSION_TYPES, Settings, SettingsError, load_settings


def _enrich(args: argparse.Namespace) -> int:
    from worker.enrich import Enriched, Enricher
    from worker.enrich.entities import Gazetteer, GazetteerError
    from worker.sources import read_items

    try:
        gazetteer = Gazetteer.from_path(args.gazetteer) if args.gazetteer else None
        enricher = Enricher(gazetteer=gazetteer, max_bytes=args.max_bytes)
    except GazetteerError as exc:
        print(f"article-worker: {exc}", file=sys.stderr)
        return 2
    out, err = sys.stdout.buffer, sys.stderr.buffer
    option = orjson.OPT_INDENT_2 if args.indent else 0
    done = rejected = 0
    for item in read_items(args.paths):
        if item.data is None:
            rejected += 1
            line = {"input": item.label, "reason": "unreadable", "detail": item.error}
            err.write(orjson.dumps(line) + b"\n")
            continue
        result = enricher.enrich(item.data)
        if isinstance(result, Enriched):
            done += 1
            out.write(orjson.dumps(result.record, option=option) + b"\n")
        else:
            rejected += 1
            line = {"input": item.label, **result.as_dict()}
            err.write(orjson.dumps(line) + b"\n")
    out.flush()
    if sys.stderr.isatty():
        print(f"enriched {done}, rejected {rejected}", file=sys.stderr)
    return 1 if rejected else 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from worker.stream.app import StreamWorker
    from worker.stream.topics import ensure_topics

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ensure_topics(settings)
    return StreamWorker(settings, passthrough=args.passthrough).run()


def _topics(_args: argparse.Namespace, settings: Settings) -> int:
    from worker.stream.topics import ensure_topics

    for status in ensure_topics(settings):
        state = "created" if status.created else "exists"
        print(f"{status.name}\t{state}\t{status.partitions} partitions")
    return 0


def _feed(args: argparse.Namespace, settings: Settings) -> int:
    from worker.feed import feed

    result = feed(
        settings,
        args.paths,
        topic=args.topic,
        rate=args.rate,
        repeat=args.repeat,
        compression=args.compression,
    )
    rate = result.sent / result.seconds if result.seconds else 0.0
    print(
        f"sent {result.sent}, failed {result.failed}, unreadable files {len(result.unreadable)}, "
        f"{result.bytes / 1024:.1f} KiB in {result.seconds:.2f} s ({rate:,.0f} msg/s) "
        f"to {args.topic or settings.raw_topic}",
        file=sys.stderr,
    )
    return 0 if result.ok else 1


def _bench(args: argparse.Namespace) -> int:
    from worker.bench import run_core_benchmark

    return run_core_benchmark(args.paths, seconds=args.seconds)


def _bench_stream(args: argparse.Namespace, settings: Settings) -> int:
    from worker.bench_stream import run_stream_benchmark

    return run_stream_benchmark(
        settings,
        args.paths,
        messages=args.messages,
        latency_messages=args.latency_messages,
        latency_rate=args.latency_rate,
    )


def _with_settings(args: argparse.Namespace) -> int:
    """Load and check the settings, then run a Kafka command; clear errors, no tracebacks."""
    from kafka.errors import KafkaError

    try:
        settings = load_settings(broker=args.broker)
    except SettingsError as exc:
        print(f"article-worker: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.kafka_handler(args, settings))
    except KafkaError as exc:
        print(f"article-worker: cannot reach Kafka at {settings.broker}: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="article-worker",
        description="Normalize and enrich news articles, offline or on Kafka.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enrich = commands.add_parser(
        "enrich",
        help="enrich files, folders, JSONL or stdin; JSONL records on stdout",
        description=(
            "Enrich raw articles without Kafka. Records go to stdout as JSON lines; each "
            'rejected input goes to stderr as {"input", "reason", "detail"}. Exit status 1 '
            "when anything was rejected."
        ),
    )
    enrich.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or - for stdin")
    enrich.add_argument("--max-bytes", type=int, default=1024 * 1024, help="reject larger inputs")
    enrich.add_argument(
        "--gazetteer", type=Path, help="gazetteer JSON (default config/gazetteer.json)"
    )
    enrich.add_argument("--indent", action="store_true", help="pretty-print records")
    enrich.set_defaults(handler=_enrich)

    run = commands.add_parser(
        "run",
        help="run the streaming worker (Faust) until SIGTERM/SIGINT",
        description="Consume raw articles, publish enriched records and dead letters. "
        "Settings come from ARTICLE_WORKER_* variables and config/worker.toml (see README).",
    )
    run.add_argument("--broker", help="override ARTICLE_WORKER_BROKER, e.g. kafka://127.0.0.1:9092")
    run.add_argument(
        "--passthrough",
        action="store_true",
        help="forward messages unchanged (the benchmark's baseline)",
    )
    run.set_defaults(handler=_with_settings, kafka_handler=_run)

    topics = commands.add_parser("topics", help="create the worker's topics when missing")
    topics.add_argument("--broker", help="override ARTICLE_WORKER_BROKER")
    topics.set_defaults(handler=_with_settings, kafka_handler=_topics)

    feed = commands.add_parser(
        "feed",
        help="send raw articles (files, folders, JSONL, stdin) to the raw topic",
        description="Send raw articles to Kafka with acks=all and idempotence.",
    )
    feed.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or - for stdin")
    feed.add_argument("--broker", help="override ARTICLE_WORKER_BROKER")
    feed.add_argument("--topic", help="default: the raw topic setting (articles.raw)")
    feed.add_argument("--rate", type=float, help="at most N messages per second")
    feed.add_argument("--repeat", type=int, default=1, help="send everything N times")
    feed.add_argument("--compression", choices=COMPRESSION_TYPES, help="producer compression")
    feed.set_defaults(handler=_with_settings, kafka_handler=_feed)

    bench = commands.add_parser(
        "bench",
        help="articles per second of the enrichment core on one core",
        description="Measure the core alone on seed-sized articles, beside same-run baselines.",
    )
    bench.add_argument("paths", nargs="*", default=["seeds"], metavar="PATH")
    bench.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    bench.set_defaults(handler=_bench)

    bench_stream = commands.add_parser(
        "bench-stream",
        help="end-to-end rate and latency on the broker, beside a passthrough agent",
        description="Run a passthrough Faust agent and the enriching worker on the same "
        "articles, in one run on the broker, and compare their rates and latencies.",
    )
    bench_stream.add_argument("paths", nargs="*", default=["seeds"], metavar="PATH")
    bench_stream.add_argument("--broker", help="override ARTICLE_WORKER_BROKER")
    bench_stream.add_argument("--messages", type=int, default=3000, help="backlog per mode")
    bench_stream.add_argument("--latency-messages", type=int, default=300)
    bench_stream.add_argument("--latency-rate", type=float, default=50.0, help="per second")
    bench_stream.set_defaults(handler=_with_settings, kafka_handler=_bench_stream)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `article-worker enrich seeds | head`
        sys.stderr.close()
        return 0
