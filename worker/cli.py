"""The ``article-worker`` command line (also ``python -m worker``)."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from worker import __version__
from worker.settings import COMPRESSION_TYPES, Settings, SettingsError, load_settings


def _enrich(args: argparse.Namespace) -> int:
    from worker.enrich import Enriched, Enricher, errors
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
        try:
            result = enricher.enrich(item.data)
            # Serialized here too: a record orjson refuses is the core's fault as well.
            record = (
                orjson.dumps(result.record, option=option) if isinstance(result, Enriched) else b""
            )
        except Exception as exc:  # noqa: BLE001 - a bug on one input must not end the run
            rejected += 1
            detail = f"{type(exc).__name__}: {exc}"[:1024]
            line = {"input": item.label, "reason": errors.INTERNAL_ERROR, "detail": detail}
            err.write(orjson.dumps(line) + b"\n")
            continue
        if isinstance(result, Enriched):
            done += 1
            out.write(record + b"\n")
        else:
            rejected += 1
            line = {"input": item.label, **result.as_dict()}
            err.write(orjson.dumps(line) + b"\n")
    out.flush()
    if sys.stderr.isatty():
        print(f"enriched {done}, rejected {rejected}", file=sys.stderr)
    return 1 if rejected else 0


def _run(_args: argparse.Namespace, settings: Settings) -> int:
    from worker.enrich.entities import Gazetteer, GazetteerError
    from worker.stream.app import StreamWorker
    from worker.stream.topics import ensure_topics

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    problem = _local_problem(settings)
    if problem:
        print(f"article-worker: {problem}", file=sys.stderr)
        return 2
    try:
        # A few milliseconds, and a bad file is a settings error before Kafka is asked
        # anything; StreamWorker loads it again for real (and could still fail).
        if settings.gazetteer:
            Gazetteer.from_path(Path(settings.gazetteer))
        ensure_topics(settings)
        worker = StreamWorker(settings)
    except GazetteerError as exc:
        print(f"article-worker: gazetteer: {exc}", file=sys.stderr)
        return 2
    return worker.run()


def _local_problem(settings: Settings) -> str | None:
    """What stops ``run`` on this machine (data dir, HTTP port), checked before Faust
    starts: inside Faust these end the worker with a traceback and exit status 1."""
    import socket

    try:
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"data_dir: cannot create {settings.data_dir!r}: {exc.strerror or exc}"
    if not os.access(settings.data_dir, os.W_OK | os.X_OK):
        return f"data_dir: {settings.data_dir!r} is not a writable directory"
    try:
        infos = socket.getaddrinfo(
            settings.web_host, settings.web_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            # As aiohttp binds: a port in TIME_WAIT is free, one with a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        where = f"{settings.web_host}:{settings.web_port}"
        return f"web_host/web_port: cannot listen on {where}: {exc.strerror or exc}"
    return None


def _topics(_args: argparse.Namespace, settings: Settings) -> int:
    from worker.stream.topics import ensure_topics

    for status in ensure_topics(settings):
        state = "created" if status.created else "exists"
        limit = f"max.message.bytes {status.max_message_bytes or 'unknown'}"
        if status.too_small:
            limit += f" (too small: needs {status.needed_message_bytes})"
        print(f"{status.name}\t{state}\t{status.partitions} partitions\t{limit}")
    return 0


def _feed(args: argparse.Namespace, settings: Settings) -> int:
    from worker.feed import feed
    from worker.settings import kafka_name_problem

    problem = kafka_name_problem(args.topic) if args.topic is not None else None
    if problem:
        print(f"article-worker: --topic: {problem}", file=sys.stderr)
        return 2
    result = feed(
        settings,
        args.paths,
        topic=args.topic,
        rate=args.rate,
        repeat=args.repeat,
        compression=args.compression,
        timeout_s=args.timeout,
    )
    rate = result.sent / result.seconds if result.seconds else 0.0
    print(
        f"sent {result.sent}, failed {result.failed}, unreadable files {len(result.unreadable)}, "
        f"{result.bytes / 1024:.1f} KiB in {result.seconds:.2f} s ({rate:,.0f} msg/s) "
        f"to {args.topic or settings.raw_topic}",
        file=sys.stderr,
    )
    return 0 if result.ok else 1


#: Kafka's answers that mean "the configuration is wrong" rather than "not reachable"
#: (exit 2, like a bad setting), with what to check. Looked up by name in both libraries.
REFUSED_CONFIGURATION = {
    "InvalidReplicationFactorError": (
        "ARTICLE_WORKER_TOPIC_REPLICATION_FACTOR (at most the number of brokers)"
    ),
    "InvalidPartitionsError": "ARTICLE_WORKER_TOPIC_PARTITIONS",
    "InvalidTopicError": "the topic names (ARTICLE_WORKER_*_TOPIC, --topic)",
    "PolicyViolationError": "the broker's topic policy (or create the topics yourself)",
    "InvalidConfigurationError": (
        "the topic configuration (max.message.bytes, from ARTICLE_WORKER_OUTPUT_MAX_BYTES)"
    ),
    "TopicAuthorizationFailedError": "the ACLs of the worker's user on the topics",
    "ClusterAuthorizationFailedError": "the ACLs of the worker's user on the cluster",
    "GroupAuthorizationFailedError": "the ACLs of the worker's user on its group (app_id)",
    "TransactionalIdAuthorizationFailedError": "the ACLs on transactional ids (app_id)",
    "SaslAuthenticationFailedError": "the SASL user name and password",
    "AuthenticationFailedError": "the SASL user name and password",
    "UnsupportedSaslMechanismError": "ARTICLE_WORKER_SASL_MECHANISM",
    "IllegalSaslStateError": "ARTICLE_WORKER_SECURITY_PROTOCOL and the SASL settings",
    "InvalidGroupIdError": "ARTICLE_WORKER_APP_ID",
    "InvalidSessionTimeoutError": (
        "ARTICLE_WORKER_SESSION_TIMEOUT_SECONDS against the broker's "
        "group.min/max.session.timeout.ms"
    ),
    "FencedInstanceIdError": "ARTICLE_WORKER_GROUP_INSTANCE_ID (another worker uses it)",
    "KafkaConfigurationError": "the client settings",
}


def kafka_failure(exc: Exception, broker: str) -> tuple[int, str]:
    """Exit status and one-line message for a Kafka error that ended a command."""
    name = type(exc).__name__
    detail = " ".join(str(exc).split()) or name
    if name not in detail:
        detail = f"{name}: {detail}"
    if len(detail) > 500:
        detail = detail[:500] + " ..."
    if name in REFUSED_CONFIGURATION:
        return 2, (
            f"Kafka at {broker} refused the configuration: {detail} "
            f"(check {REFUSED_CONFIGURATION[name]})"
        )
    if getattr(exc, "retriable", False) or any(
        word in name for word in ("Timeout", "Connection", "NoBrokers", "NotAvailable")
    ):
        return 1, f"cannot reach Kafka at {broker}: {detail}"
    return 1, f"Kafka at {broker} failed: {detail}"


def _with_settings(args: argparse.Namespace) -> int:
    """Load and check the settings, then run a Kafka command; clear errors, no tracebacks.

    Exit 2 for settings (ours, or ones Kafka refuses), 1 when Kafka cannot be reached.
    """
    from worker.kafka_clients import KAFKA_ERRORS

    try:
        settings = load_settings(broker=args.broker)
    except SettingsError as exc:
        print(f"article-worker: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.kafka_handler(args, settings))
    except KAFKA_ERRORS as exc:
        status, message = kafka_failure(exc, settings.broker)
        print(f"article-worker: {message}", file=sys.stderr)
        return status


#: feed's --timeout default (worker.feed.DEFAULT_TIMEOUT_SECONDS; not imported here, so
#: that `enrich` does not load kafka-python). tests/test_feed.py checks they agree.
DEFAULT_FEED_TIMEOUT_SECONDS = 300.0


def _number_in(low: float, high: float, kind: type = float) -> Any:
    """An argparse type: a finite number ``kind`` from ``low`` to ``high``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be {low:g}-{high:g}, got {text!r}")
        return value

    return parse


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
        "--gazetteer", type=Path, help="gazetteer JSON (default: the one packaged with the worker)"
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
    feed.add_argument("--rate", type=_number_in(1e-3, 1e6), help="at most N messages per second")
    feed.add_argument(
        "--repeat", type=_number_in(1, 1_000_000, int), default=1, help="send everything N times"
    )
    feed.add_argument(
        "--timeout",
        type=_number_in(1, 86_400),
        default=DEFAULT_FEED_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="a message not acknowledged this long after it was sent (retries included) "
        f"counts as failed (default {DEFAULT_FEED_TIMEOUT_SECONDS:g})",
    )
    feed.add_argument("--compression", choices=COMPRESSION_TYPES, help="producer compression")
    feed.set_defaults(handler=_with_settings, kafka_handler=_feed)

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
