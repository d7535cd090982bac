"""Worker settings: one typed dataclass, from ``ARTICLE_WORKER_*`` variables and a TOML file.

Precedence, lowest first: the defaults below, the TOML file (``ARTICLE_WORKER_CONFIG``,
else ``config/worker.toml`` when it exists), then environment variables. Every setting
is checked at start; anything wrong (a typo in a variable name included) stops the
worker with one clear message listing every problem.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "ARTICLE_WORKER_"
DEFAULT_CONFIG_FILE = Path(__file__).resolve().parents[1] / "config" / "worker.toml"
PROCESSING_GUARANTEES = ("at_least_once", "exactly_once")
# gzip is in the standard library; snappy, lz4 and zstd would need codec packages that
# neither kafka-python nor aiokafka installs, so they are not offered.
COMPRESSION_TYPES = ("none", "gzip")
LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    """One or more settings are invalid; the message lists them all."""


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
    gazetteer: str = ""
    """Gazetteer JSON file; empty means ``config/gazetteer.json``."""
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
    """Compression of produced messages: none or gzip."""
    data_dir: str = "/tmp/article-worker"  # noqa: S108 - faust's scratch dir; no secrets
    """Faust's data directory (tables and state are in memory; this holds little)."""
    log_level: str = "info"
    """debug, info, warning or error."""

    @property
    def bootstrap_servers(self) -> list[str]:
        """The broker URL as ``host:port`` strings for kafka-python."""
        return [s.removeprefix("kafka://").strip() for s in self.broker.split(";") if s.strip()]

    def validate(self) -> None:
        problems: list[str] = []
        if not self.bootstrap_servers or any(":" not in s for s in self.bootstrap_servers):
            problems.append(f"broker: expected kafka://host:port, got {self.broker!r}")
        for name in ("app_id", "raw_topic", "enriched_topic", "dlq_topic"):
            value = getattr(self, name)
            if not value or any(c.isspace() for c in value):
                problems.append(f"{name}: must be a non-empty name without spaces")
        if len({self.raw_topic, self.enriched_topic, self.dlq_topic}) != 3:
            problems.append("raw_topic, enriched_topic and dlq_topic must differ")
        for name, low in (
            ("topic_partitions", 1),
            ("topic_replication_factor", 1),
            ("concurrency", 1),
            ("max_bytes", 1),
        ):
            if getattr(self, name) < low:
                problems.append(f"{name}: must be at least {low}")
        if not 0 <= self.enrich_processes <= 64:
            problems.append("enrich_processes: must be 0-64")
        if not 0 < self.web_port < 65536:
            problems.append("web_port: must be 1-65535")
        if self.batch_size < 1:
            problems.append("batch_size: must be at least 1")
        for name in (
            "stall_seconds",
            "lag_interval_seconds",
            "shutdown_grace_seconds",
            "batch_wait_seconds",
        ):
            if getattr(self, name) <= 0:
                problems.append(f"{name}: must be positive")
        for name, allowed in (
            ("processing_guarantee", PROCESSING_GUARANTEES),
            ("producer_compression", COMPRESSION_TYPES),
            ("log_level", LOG_LEVELS),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name}: must be one of {', '.join(allowed)}")
        if self.gazetteer and not Path(self.gazetteer).is_file():
            problems.append(f"gazetteer: no such file {self.gazetteer!r}")
        if problems:
            raise SettingsError("invalid settings:\n  " + "\n  ".join(problems))


def _convert(name: str, kind: Any, raw: object) -> Any:
    if kind in (int, "int"):
        if isinstance(raw, bool):
            raise ValueError
        return int(raw)  # type: ignore[call-overload]
    if kind in (float, "float"):
        if isinstance(raw, bool):
            raise ValueError
        return float(raw)  # type: ignore[arg-type]
    if not isinstance(raw, str):
        raise ValueError
    return (
        raw.strip().lower()
        if name in {"processing_guarantee", "producer_compression", "log_level"}
        else raw.strip()
    )


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}


def _collect(
    entries: Iterable[tuple[str, str, object]], values: dict[str, Any], problems: list[str]
) -> None:
    """Convert (where, setting, raw value) entries into ``values``; note what is wrong."""
    for where, key, raw in entries:
        if key not in _FIELD_TYPES:
            problems.append(f"{where}: unknown setting (see README's settings table)")
            continue
        try:
            values[key] = _convert(key, _FIELD_TYPES[key], raw)
        except (TypeError, ValueError):
            problems.append(f"{where}: expected {_FIELD_TYPES[key]}, got {raw!r}")


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
