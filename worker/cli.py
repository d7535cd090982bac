"""The ``article-worker`` command line (also ``python -m worker``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from worker import __version__


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


def _bench(args: argparse.Namespace) -> int:
    from worker.bench import run_core_benchmark

    return run_core_benchmark(args.paths, seconds=args.seconds)


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
    enrich.add_argument("--gazetteer", type=Path, help="gazetteer JSON (default config/gazetteer.json)")
    enrich.add_argument("--indent", action="store_true", help="pretty-print records")
    enrich.set_defaults(handler=_enrich)

    bench = commands.add_parser(
        "bench",
        help="articles per second of the enrichment core on one core",
        description="Measure the core alone on seed-sized articles, beside same-run baselines.",
    )
    bench.add_argument("paths", nargs="*", default=["seeds"], metavar="PATH")
    bench.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    bench.set_defaults(handler=_bench)
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
