"""Worker settings: one typed dataclass, from ``ARTICLE_WORKER_*`` variables and a TOML file.

Precedence, lowest first: the defaults below, the TOML file (``ARTICLE_WORKER_CONFIG``,
else ``config/worker.toml`` under the working directory when it exists), then environment
variables. Every setting is checked at start; anything wrong (a typo in a variable name
included) stops the worker with one clear message listing every problem.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import ssl
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "ARTICLE_WORKER_"
# Relative to the working directory: an installed worker has no source folder to look in.
DEFAULT_CONFIG_FILE = Path("config") / "worker.toml"
PROCESSING_GUARANTEES = ("at_least_once", "exactly_once")
# gzip is in the standard library; zstd needs a codec package in each client: cramjam for
# aiokafka (the worker's producers), zstandard for kafka-python (`feed`, and readers in
# the same environment); both are dependencies. Measured on seed articles (aiokafka
# 0.14): zstd keeps 31% of the bytes for ~17 us a record, gzip 28% for ~410 us. lz4 (36%
# for ~170 us in aiokafka) and snappy are not offered: no reason was found to prefer
# them to zstd, and each would need one more package.
COMPRESSION_TYPES = ("none", "gzip", "zstd")
LOG_LEVELS = ("debug", "info", "warning", "error")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# What both kafka-python and aiokafka (and so Faust) implement without extra packages;
# GSSAPI and OAUTHBEARER would need Kerberos libraries or a token provider.
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
#: Settings that hold secrets: masked everywhere, and also read from ``<NAME>_FILE``.
SECRET_FIELDS = ("sasl_password", "ssl_key_password")
SECRET_FILE_SUFFIX = "_file"  # noqa: S105 - a name suffix, not a password


class SettingsError(ValueError):
    """One or more settings are invalid; the message lists them all."""


class Secret:
    """A password or key passphrase that does not show itself.

    ``repr``, ``str`` and f-strings give ``***`` (or an empty marker when unset), so a
    Settings repr, a log line or an error message that mentions it cannot leak it; only
    :meth:`reveal`, called where a Kafka client is built, gives the value. Deliberately
    not a dataclass: ``dataclasses.asdict(settings)`` would unpack one into a plain dict.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: for handing to a client library, never for printing."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)


#: The unset secret, the default of the secret settings (a Secret is never changed).
NO_SECRET = Secret()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the streaming worker can be told. Field docs are the README's table."""

    broker: str = "kafka://127.0.0.1:9092"
    """Kafka bootstrap servers, ``kafka://host:port`` (several separated by ``;``)."""
    app_id: str = "article-worker"
    """Faust application id; also the consumer group id."""
    raw_topic: str = "articles.raw"
    """Topic of raw articles to consume."""
    enriched_topic: str = "articles.enriched"
    """Topic enriched records are published to, keyed by ``id``."""
    dlq_topic: str = "articles.dlq"
    """Dead-letter topic: rejected messages, original bytes, reason in headers."""
    topic_partitions: int = 4
    """Partitions of topics the worker creates when missing."""
    topic_replication_factor: int = 1
    """Replication factor of topics the worker creates when missing."""
    processing_guarantee: str = "at_least_once"
    """``at_least_once`` or ``exactly_once`` (Kafka transactions)."""
    concurrency: int = 2
    """Batches a worker works on at once (one is enriched while another is published)."""
    batch_size: int = 100
    """Most messages taken from the stream at a time."""
    batch_wait_seconds: float = 0.01
    """Longest wait for a batch to fill before it is processed as it is."""
    enrich_processes: int = 1
    """Helper processes that run the enrichment core; 0 runs it in the event loop."""
    max_bytes: int = 1024 * 1024
    """Raw messages larger than this are dead-lettered as ``too_large``."""
    output_max_bytes: int = 4 * 1024 * 1024
    """Largest output message (key, value and headers); a record over it is dead-lettered
    as ``output_too_large``. Also the producers' request limit and the ``max.message.bytes``
    of the enriched and dead-letter topics the worker creates."""
    article_timeout_seconds: float = 2.0
    """Wall-clock budget of the core per article (enforced in the helper processes); an
    article over it is dead-lettered as ``timeout``."""
    group_instance_id: str = ""
    """Static group membership id (e.g. the pod name); empty for dynamic membership."""
    session_timeout_seconds: float = 10.0
    """Consumer session timeout: how soon the group notices a dead worker."""
    heartbeat_interval_seconds: float = 2.0
    """Consumer heartbeat interval (at most a third of the session timeout)."""
    retry_backoff_ms: int = 250
    """Wait between a Kafka client's retries (aiokafka's ``retry_backoff_ms``, for Faust's
    consumer and producer and the worker's producers). aiokafka does not lengthen it while
    a broker stays away, so it sets what an outage costs: at 100 ms (aiokafka's default)
    a worker spent 7-13% of a core reconnecting through a broker outage."""
    gazetteer: str = ""
    """Gazetteer JSON file; empty means the packaged one (``config/gazetteer.json``)."""
    web_host: str = "0.0.0.0"  # noqa: S104 - a container's metrics port must be reachable
    """Address of the HTTP server for /metrics, /livez and /readyz."""
    web_port: int = 6066
    """Port of the HTTP server for /metrics, /livez and /readyz."""
    stall_seconds: float = 30.0
    """/readyz fails when lag > 0 and nothing was processed for this long."""
    lag_interval_seconds: float = 5.0
    """How often consumer lag is computed."""
    shutdown_grace_seconds: float = 25.0
    """After SIGTERM, exit within this long (kept below Kubernetes' default 30 s)."""
    producer_compression: str = "none"
    """Compression of produced messages: none, gzip or zstd (zstd is the cheap one;
    every consumer of the output topics must then read it)."""
    data_dir: str = "/tmp/article-worker"  # noqa: S108 - faust's scratch dir; no secrets
    """Faust's data directory (tables and state are in memory; this holds little)."""
    log_level: str = "info"
    """debug, info, warning or error."""

    # -- duplicates across feeds (worker/stream/dedup.py) --
    dedup_enabled: bool = False
    """Find exact and near duplicates: every enriched record gets ``duplicate_of``,
    ``duplicate_distance`` and ``duplicate_kind``, and first-seen stories also go to
    ``unique_topic``. Adds internal topics and changelog-backed tables (at least once)."""
    unique_topic: str = "articles.unique"
    """Topic of first-seen stories only (with ``dedup_enabled``), keyed by ``id``."""
    dedup_window_seconds: float = 72 * 3600.0
    """Retention window: a copy more than this much older (by Kafka timestamp) is not a
    duplicate of it, and the index forgets it."""
    dedup_max_distance: int = 3
    """Largest simhash Hamming distance of a near duplicate (0-3: four 16-bit bands find
    every pair within 3 bits)."""
    dedup_wait_seconds: float = 300.0
    """Longest a record waits for its four band verdicts; after that it is published
    with the verdicts that came (so a bands partition stuck in recovery holds nothing)."""

    # -- connection security (every Kafka client gets these via worker/kafka_clients.py) --
    security_protocol: str = "PLAINTEXT"
    """PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    ssl_cafile: str = ""
    """PEM file of the CA(s) that signed the broker's certificate (required with SSL and
    SASL_SSL; for a broker with a public certificate, the system bundle)."""
    ssl_certfile: str = ""
    """Client certificate (PEM, may also hold the key) for mutual TLS; empty for none."""
    ssl_keyfile: str = ""
    """Private key (PEM) of ``ssl_certfile`` when it is not in the same file."""
    ssl_key_password: Secret = NO_SECRET
    """Passphrase of an encrypted private key (or ``ssl_key_password_file``)."""
    ssl_check_hostname: bool = True
    """Check that the broker's certificate names the host connected to."""
    sasl_mechanism: str = ""
    """SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (required with SASL_*)."""
    sasl_username: str = ""
    """SASL user name."""
    sasl_password: Secret = NO_SECRET
    """SASL password (or ``sasl_password_file``)."""

    def __post_init__(self) -> None:
        # A plain string given in code (Settings(sasl_password="x")) is wrapped too, so
        # the value is masked whichever way it arrived.
        for name in SECRET_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value))

    @property
    def uses_tls(self) -> bool:
        """Whether connections are encrypted (SSL or SASL_SSL)."""
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        """Whether connections authenticate with SASL (SASL_PLAINTEXT or SASL_SSL)."""
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def compression_codec(self) -> str | None:
        """``producer_compression`` as the clients take it (None for ``none``)."""
        return None if self.producer_compression == "none" else self.producer_compression

    @property
    def dedup_join_topic(self) -> str:
        """Internal topic, keyed by article id, where records wait for their band verdicts."""
        return f"{self.app_id}-dedup-join"

    @property
    def dedup_bands_topic(self) -> str:
        """Internal topic, keyed by band value, where candidates of one band meet."""
        return f"{self.app_id}-dedup-bands"

    @property
    def bootstrap_servers(self) -> list[str]:
        """The broker URL as ``host:port`` strings for kafka-python."""
        return [s.removeprefix("kafka://").strip() for s in self.broker.split(";") if s.strip()]

    def validate(self) -> None:
        """Check every setting against :data:`RANGES` and the naming rules; raise
        :class:`SettingsError` listing every problem."""
        problems: list[str] = []
        broker = _broker_problem(self.broker)
        if broker:
            problems.append(f"broker: {broker}")
        names = (
            ("raw_topic", 249),
            ("enriched_topic", 249),
            ("dlq_topic", 249),
            ("unique_topic", 249),
        )
        # app_id is the consumer group id, the prefix of client ids and of Faust's own
        # topic names, so it keeps room for the suffixes Faust adds.
        for name, longest in (("app_id", 200), *names):
            problem = kafka_name_problem(getattr(self, name), max_length=longest)
            if problem:
                problems.append(f"{name}: {problem}")
            elif name != "app_id" and getattr(self, name).startswith("__"):
                problems.append(f"{name}: names starting with '__' are Kafka's internal topics")
        if self.group_instance_id:
            problem = kafka_name_problem(self.group_instance_id)
            if problem:
                problems.append(f"group_instance_id: {problem} (or empty)")
        topics = [self.raw_topic, self.enriched_topic, self.dlq_topic]
        listed = "raw_topic, enriched_topic and dlq_topic"
        if self.dedup_enabled:
            topics.append(self.unique_topic)
            listed = "raw_topic, enriched_topic, dlq_topic and unique_topic"
        if len(set(topics)) != len(topics):
            problems.append(f"{listed} must differ")
        elif len({t.replace(".", "_") for t in topics}) != len(topics):
            # Kafka refuses a topic whose name equals another's with '.' and '_' swapped.
            problems.append(
                f"{listed} must differ by more than '.' "
                "against '_' (Kafka treats such names as colliding)"
            )
        if self.dedup_enabled and self.processing_guarantee == "exactly_once":
            problems.append(
                "dedup_enabled: works at least once (its tables and internal topics are "
                "Faust's); set processing_guarantee=at_least_once or dedup_enabled=false"
            )
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(
                    f"{name}: must be a finite number {_number(low)}-{_number(high)}, got {value}"
                )
            elif not low <= value <= high:
                problems.append(f"{name}: must be {_number(low)}-{_number(high)}, got {value}")
        # Relations that keep limits consistent end to end.
        if self.max_bytes + DEAD_LETTER_HEADROOM > self.output_max_bytes:
            problems.append(
                f"max_bytes ({self.max_bytes}) must be at most output_max_bytes "
                f"({self.output_max_bytes}) - {DEAD_LETTER_HEADROOM}: a dead letter carries "
                "the raw message plus its headers"
            )
        if self.heartbeat_interval_seconds > self.session_timeout_seconds / 3:
            problems.append(
                f"heartbeat_interval_seconds ({self.heartbeat_interval_seconds:g}) must be at "
                f"most a third of session_timeout_seconds ({self.session_timeout_seconds:g})"
            )
        if self.stall_seconds < self.lag_interval_seconds:
            problems.append(
                f"stall_seconds ({self.stall_seconds:g}) must be at least "
                f"lag_interval_seconds ({self.lag_interval_seconds:g}): the lag it watches is "
                "refreshed only that often"
            )
        for name, allowed in (
            ("processing_guarantee", PROCESSING_GUARANTEES),
            ("producer_compression", COMPRESSION_TYPES),
            ("log_level", LOG_LEVELS),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name}: must be one of {', '.join(allowed)}")
        if not self.web_host or any(c.isspace() for c in self.web_host):
            problems.append("web_host: must be a non-empty host name or address, without spaces")
        if not self.data_dir.strip():
            problems.append("data_dir: must not be empty")
        if self.gazetteer and not Path(self.gazetteer).is_file():
            problems.append(f"gazetteer: no such file {self.gazetteer!r}")
        problems.extend(_security_problems(self))
        if problems:
            raise SettingsError("invalid settings:\n  " + "\n  ".join(problems))


def _security_problems(s: Settings) -> list[str]:
    """What is inconsistent in the connection security settings (one line each)."""
    if s.security_protocol not in SECURITY_PROTOCOLS:
        return [f"security_protocol: must be one of {', '.join(SECURITY_PROTOCOLS)}"]
    problems: list[str] = []
    protocol = s.security_protocol
    if s.uses_sasl:
        if not s.sasl_mechanism:
            problems.append(
                f"sasl_mechanism: required with security_protocol {protocol} "
                f"({', '.join(SASL_MECHANISMS)})"
            )
        elif s.sasl_mechanism not in SASL_MECHANISMS:
            problems.append(f"sasl_mechanism: must be one of {', '.join(SASL_MECHANISMS)}")
        if not s.sasl_username:
            problems.append(f"sasl_username: required with security_protocol {protocol}")
        if not s.sasl_password:
            problems.append(
                f"sasl_password: required with security_protocol {protocol} "
                "(ARTICLE_WORKER_SASL_PASSWORD or ARTICLE_WORKER_SASL_PASSWORD_FILE)"
            )
    else:
        # Set but unused would mean a client silently connecting without the
        # authentication its operator asked for.
        for name in ("sasl_mechanism", "sasl_username", "sasl_password"):
            if getattr(s, name):
                problems.append(
                    f"{name}: set, but security_protocol {protocol} does not use SASL "
                    "(SASL_SSL or SASL_PLAINTEXT does)"
                )
    if not s.uses_tls:
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_key_password"):
            if getattr(s, name):
                problems.append(
                    f"{name}: set, but security_protocol {protocol} does not use TLS "
                    "(SSL or SASL_SSL does)"
                )
        return problems
    if not s.ssl_cafile:
        problems.append(
            f"ssl_cafile: required with security_protocol {protocol}: the CA certificate(s) "
            "that signed the broker's certificate, PEM (for a public CA, the system bundle)"
        )
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path = getattr(s, name)
        if path and not os.access(path, os.R_OK):
            problems.append(f"{name}: cannot read {path!r}")
    if s.ssl_keyfile and not s.ssl_certfile:
        problems.append("ssl_keyfile: set without ssl_certfile")
    if s.ssl_key_password and not s.ssl_certfile:
        problems.append("ssl_key_password: set without ssl_certfile")
    if problems:
        return problems
    # Load them now, as the clients will, so that a file that is not PEM or a wrong key
    # passphrase is a settings error at start instead of a failure deep in a client.
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        context.load_verify_locations(cafile=s.ssl_cafile)
    except (OSError, ssl.SSLError) as exc:
        problems.append(f"ssl_cafile: no CA certificate in {s.ssl_cafile!r} ({exc})")
    if s.ssl_certfile:
        try:
            # A callable, never None: with None OpenSSL would prompt on the terminal for
            # the passphrase of an encrypted key.
            context.load_cert_chain(
                s.ssl_certfile, s.ssl_keyfile or None, password=s.ssl_key_password.reveal
            )
        except (OSError, ssl.SSLError) as exc:
            problems.append(
                f"ssl_certfile: cannot load the client certificate and key from "
                f"{s.ssl_certfile!r}{f' and {s.ssl_keyfile!r}' if s.ssl_keyfile else ''} "
                f"(not PEM, a key that does not match, or a wrong ssl_key_password): {exc}"
            )
    return problems


#: The documented range of every numeric setting, both ends included (README's settings
#: table). A float must also be finite: nan compares false with everything, so it would
#: slip through a plain range check, and inf means "never" (a batch that never fills).
RANGES: dict[str, tuple[int | float, int | float]] = {
    "topic_partitions": (1, 1000),
    "topic_replication_factor": (1, 16),
    "concurrency": (1, 64),
    "batch_size": (1, 10_000),
    "batch_wait_seconds": (0.001, 10.0),
    "enrich_processes": (0, 64),
    "max_bytes": (1024, 64 * 1024 * 1024),
    # Below the broker's socket.request.max.bytes (100 MiB), with room for the request
    # and record-batch framing around the one record.
    "output_max_bytes": (4096, 96 * 1024 * 1024),
    "article_timeout_seconds": (0.001, 300.0),
    # The broker's own bounds by default (group.min/max.session.timeout.ms).
    "session_timeout_seconds": (6.0, 1800.0),
    "heartbeat_interval_seconds": (0.1, 600.0),
    "web_port": (1, 65535),
    "stall_seconds": (1.0, 86_400.0),
    "lag_interval_seconds": (0.1, 3600.0),
    "retry_backoff_ms": (10, 10_000),
    "shutdown_grace_seconds": (0.1, 3600.0),
    "dedup_window_seconds": (1.0, 90 * 86_400.0),
    "dedup_max_distance": (0, 3),
    "dedup_wait_seconds": (1.0, 86_400.0),
}

#: Room for a dead letter's headers on top of the raw message it carries unchanged:
#: x-reject-detail (at most 1 KiB), x-source-topic (at most 249 bytes), five short ones,
#: their names and framing come to well under 2 KiB.
DEAD_LETTER_HEADROOM = 2048

_KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]+")


def kafka_name_problem(value: str, *, max_length: int = 249) -> str | None:
    """What is wrong with ``value`` as a Kafka topic (or group instance) name, or None.

    Kafka's rules: ASCII letters, digits, ``.``, ``_`` and ``-`` only, at most 249
    characters, and neither ``.`` nor ``..``.
    """
    if not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"at most {max_length} characters, got {len(value)}"
    if value in (".", ".."):
        return f"cannot be {value!r}"
    if not _KAFKA_NAME.fullmatch(value):
        return f"only ASCII letters, digits, '.', '_' and '-' are allowed, got {value!r}"
    return None


def _broker_problem(broker: str) -> str | None:
    """What is wrong with a ``kafka://host:port[;kafka://host:port...]`` value, or None."""
    servers = [s.strip() for s in broker.split(";") if s.strip()]
    if not servers:
        return f"expected kafka://host:port, got {broker!r}"
    for server in servers:
        address = server.removeprefix("kafka://").strip()
        host, colon, port = address.rpartition(":")
        if "://" in address:
            return f"only kafka:// addresses are understood, got {server!r}"
        if not colon or not host or any(c.isspace() or c in "/?#@;," for c in host):
            return f"expected kafka://host:port, got {server!r}"
        if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
            return f"the port of {server!r} must be a number 1-65535"
    return None


def _number(value: float) -> str:
    # Whole floats in full: a range of 7776000 reads better than 7.776e+06.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _convert(name: str, kind: Any, raw: object) -> Any:
    if kind in (Secret, "Secret"):
        if not isinstance(raw, str):
            raise ValueError
        return Secret(raw)  # as given: spaces may belong to a password
    if kind in (bool, "bool"):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _BOOLEANS:
            return _BOOLEANS[raw.strip().lower()]
        raise ValueError
    if kind in (int, "int"):
        # A TOML float (2.5, or nan) must not be cut down to an int without a word.
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
        return int(raw)  # type: ignore[call-overload]
    if kind in (float, "float"):
        if isinstance(raw, bool):
            raise ValueError
        return float(raw)  # type: ignore[arg-type]
    if not isinstance(raw, str):
        raise ValueError
    if name in {"security_protocol", "sasl_mechanism"}:
        return raw.strip().upper()
    return (
        raw.strip().lower()
        if name in {"processing_guarantee", "producer_compression", "log_level"}
        else raw.strip()
    )


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}
_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True}
_BOOLEANS |= {"false": False, "0": False, "no": False, "off": False}


def _read_secret_file(where: str, raw: object, problems: list[str]) -> str | None:
    """The secret in the file named by a ``*_FILE`` setting, or None (problem noted)."""
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f"{where}: expected a file path")
        return None
    path = raw.strip()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{where}: cannot read {path!r}: {exc.strerror or exc}")
        return None
    except UnicodeDecodeError:
        # Not the exception's text: it quotes the offending byte, a piece of the secret.
        problems.append(f"{where}: {path!r} is not UTF-8 text")
        return None
    # Secret files (Kubernetes, Docker) often end with a newline that is not the secret's.
    return text.rstrip("\r\n")


def _collect(
    entries: Iterable[tuple[str, str, object]], values: dict[str, Any], problems: list[str]
) -> None:
    """Convert (where, setting, raw value) entries into ``values``; note what is wrong.

    A secret may also come as ``<name>_file``, the path of a file holding it; one source
    giving both is an error, since which one wins would be a guess.
    """
    secrets_seen: dict[str, str] = {}
    for where, key, raw in entries:
        secret_name = key.removesuffix(SECRET_FILE_SUFFIX)
        if key.endswith(SECRET_FILE_SUFFIX) and secret_name in SECRET_FIELDS:
            if secret_name in secrets_seen:
                problems.append(f"{secrets_seen[secret_name]} and {where}: set only one of them")
                continue
            secrets_seen[secret_name] = where
            secret = _read_secret_file(where, raw, problems)
            if secret is not None:
                values[secret_name] = Secret(secret)
            continue
        if key in SECRET_FIELDS:
            if key in secrets_seen:
                problems.append(f"{secrets_seen[key]} and {where}: set only one of them")
                continue
            secrets_seen[key] = where
        if key not in _FIELD_TYPES:
            problems.append(f"{where}: unknown setting (see README's settings table)")
            continue
        try:
            values[key] = _convert(key, _FIELD_TYPES[key], raw)
        except (TypeError, ValueError):
            shown = "a non-string value" if key in SECRET_FIELDS else repr(raw)
            problems.append(f"{where}: expected {_FIELD_TYPES[key]}, got {shown}")


def load_settings(
    env: Mapping[str, str] | None = None, config_file: Path | None = None, **overrides: Any
) -> Settings:
    """Build and validate :class:`Settings`; raise :class:`SettingsError` on any problem."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    problems: list[str] = []

    path = config_file or (
        Path(env[f"{ENV_PREFIX}CONFIG"]) if f"{ENV_PREFIX}CONFIG" in env else None
    )
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        path = DEFAULT_CONFIG_FILE
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
        _collect(((f"{path}: {key}", key, raw) for key, raw in document.items()), values, problems)

    _collect(
        (
            (variable, variable.removeprefix(ENV_PREFIX).lower(), raw)
            for variable, raw in env.items()
            if variable.startswith(ENV_PREFIX) and variable != f"{ENV_PREFIX}CONFIG"
        ),
        values,
        problems,
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    if problems:
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems))
    settings = dataclasses.replace(Settings(), **values)
    settings.validate()
    return settings
