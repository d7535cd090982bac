"""Creating the worker's topics when they are missing (used at start and by ``topics``).

Size limits agree end to end: the enriched and dead-letter topics are created with a
``max.message.bytes`` that takes the largest record the worker may write
(``output_max_bytes``), and the raw topic with one that takes every message the worker can
still dead-letter intact (at least ``max_bytes``). Topics that exist are not altered; when
their limit is too small for that, a warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import kafka.errors
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError, TopicAlreadyExistsError

from worker.kafka_clients import KAFKA_ERRORS, new_admin
from worker.settings import DEAD_LETTER_HEADROOM, Settings

log = logging.getLogger(__name__)

#: What a topic's ``max.message.bytes`` needs on top of the largest record in it. The
#: broker compares that limit with a whole record batch as it arrives: a 61-byte batch
#: header; at most 36 bytes of record framing (length, attributes, timestamp and offset
#: deltas, key and value lengths, header count, all varints); at most 10 bytes of framing
#: per header (a dead letter has seven); and with gzip, deflate's stored-block overhead on
#: incompressible data (5 bytes per 64 KiB, plus an 18-byte wrapper: under 8 KiB at the
#: 96 MiB largest ``output_max_bytes``). That is under 8.2 KiB in the worst case; 16 KiB
#: also covers clients that estimate the framing generously.
RECORD_BATCH_OVERHEAD = 16 * 1024

MAX_MESSAGE_BYTES = "max.message.bytes"


@dataclass(frozen=True, slots=True)
class TopicStatus:
    name: str
    created: bool
    partitions: int
    max_message_bytes: int = 0
    """The topic's ``max.message.bytes`` as the broker reports it (0: unknown)."""
    needed_message_bytes: int = 0
    """The least ``max.message.bytes`` that takes what the worker may read or write."""

    @property
    def too_small(self) -> bool:
        return 0 < self.max_message_bytes < self.needed_message_bytes


def topic_limits(settings: Settings) -> dict[str, tuple[int, int]]:
    """Per topic, (``max.message.bytes`` to create it with, least acceptable value).

    Enriched and dead-letter topics: ``output_max_bytes`` plus the batch framing, both.
    Raw topic: created to take any message whose dead letter (the same bytes plus the
    dead-letter headers) still fits in ``output_max_bytes``, so an oversized article is
    dead-lettered as ``too_large`` rather than refused at the producer; it needs at least
    ``max_bytes`` plus the framing, or articles the worker would take cannot be sent.
    """
    output = settings.output_max_bytes + RECORD_BATCH_OVERHEAD
    raw_created = settings.output_max_bytes - DEAD_LETTER_HEADROOM + RECORD_BATCH_OVERHEAD
    raw_needed = min(settings.max_bytes + RECORD_BATCH_OVERHEAD, raw_created)
    limits = {
        settings.raw_topic: (raw_created, raw_needed),
        settings.enriched_topic: (output, output),
        settings.dlq_topic: (output, output),
    }
    if settings.dedup_enabled:
        # The join topic carries whole records on their way to the enriched topic; the
        # bands topic only small candidates, but the same limit costs nothing.
        for name in (settings.unique_topic, settings.dedup_join_topic, settings.dedup_bands_topic):
            limits[name] = (output, output)
    return limits


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[TopicStatus]:
    """Create the raw, enriched and dead-letter topics that do not exist yet (with
    ``dedup_enabled`` also the unique topic and the two internal dedup topics; Faust
    creates the tables' changelog topics itself).

    Existing topics are left as they are (their partition count and ``max.message.bytes``
    are reported; a limit too small for the settings is logged as a warning). Raises
    ``kafka.errors.KafkaError`` when the broker cannot be reached in ``timeout_s``, and the
    broker's own error (``InvalidReplicationFactorError``, ``PolicyViolationError``, ...)
    with a one-line message when it refuses to create a topic.
    """
    limits = topic_limits(settings)
    names = list(limits)
    admin = new_admin(
        settings,
        client_id=f"{settings.app_id}-admin",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        created = _create(admin, settings, missing, limits, timeout_s) if missing else []
        if created:
            admin.wait_for_topics(created, timeout_ms=int(timeout_s * 1000))
        described = {d["name"]: len(d["partitions"]) for d in admin.describe_topics(names)}
        configured = max_message_bytes(admin, names)
        statuses = [
            TopicStatus(n, n in created, described.get(n, 0), configured.get(n, 0), limits[n][1])
            for n in names
        ]
        for status in statuses:
            if not status.created:
                _check_existing(settings, status, limits[status.name][0])
        return statuses
    finally:
        admin.close()


def _create(
    admin: Any,
    settings: Settings,
    names: list[str],
    limits: dict[str, tuple[int, int]],
    timeout_s: float,
) -> list[str]:
    """Create ``names``; return those this call created (not those that appeared meanwhile)."""
    request = {
        name: {
            "num_partitions": settings.topic_partitions,
            "replication_factor": settings.topic_replication_factor,
            "configs": {MAX_MESSAGE_BYTES: str(limits[name][0])},
        }
        for name in names
    }
    response = admin.create_topics(request, timeout_ms=int(timeout_s * 1000), raise_errors=False)
    created = []
    for topic in response["topics"]:
        error = kafka.errors.for_code(topic["error_code"])
        if error is kafka.errors.NoError:
            created.append(topic["name"])
            log.info(
                "created topic %s (%d partitions, max.message.bytes %d)",
                topic["name"],
                settings.topic_partitions,
                limits[topic["name"]][0],
            )
        elif error is not TopicAlreadyExistsError:  # else another worker was quicker
            detail = " ".join((topic.get("error_message") or error.description).split())
            raise error(f"cannot create topic {topic['name']}: {detail}")
    return created


def max_message_bytes(admin: Any, names: Sequence[str]) -> dict[str, int]:
    """Each topic's effective ``max.message.bytes`` (its own or the broker's default)."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, n, [MAX_MESSAGE_BYTES]) for n in names]
    try:
        described = admin.describe_configs(resources, config_filter="all")
    except KAFKA_ERRORS as exc:  # e.g. no DescribeConfigs permission: not a reason to stop
        log.warning("cannot read the topics' max.message.bytes (%s); not checked", exc)
        return {}
    out: dict[str, int] = {}
    for name, configs in described.get("topic", {}).items():
        value = configs.get(MAX_MESSAGE_BYTES, {}).get("value")
        if value is not None and str(value).isdigit():
            out[name] = int(value)
    return out


def _check_existing(settings: Settings, status: TopicStatus, created_with: int) -> None:
    """Warn when an existing topic's limit disagrees with what the worker will do."""
    name, limit = status.name, status.max_message_bytes
    if not limit:
        return
    fix = (
        f"kafka-configs.sh --alter --entity-type topics --entity-name {name} "
        f"--add-config {MAX_MESSAGE_BYTES}={created_with}"
    )
    if name == settings.raw_topic:
        if status.too_small:
            log.warning(
                "topic %s accepts messages up to %d bytes (max.message.bytes), less than "
                "max_bytes %d plus %d of batch framing: producers cannot send every article "
                "the worker would accept; raise it (%s) or lower max_bytes",
                name,
                limit,
                settings.max_bytes,
                RECORD_BATCH_OVERHEAD,
                fix,
            )
        elif limit > created_with:
            log.warning(
                "topic %s accepts messages up to %d bytes (max.message.bytes); a dead letter "
                "of one over %d bytes would exceed output_max_bytes %d, so such a message "
                "cannot be dead-lettered intact; lower it (%s) or raise output_max_bytes",
                name,
                limit,
                created_with - RECORD_BATCH_OVERHEAD,
                settings.output_max_bytes,
                fix,
            )
    elif status.too_small:
        log.warning(
            "topic %s accepts record batches up to %d bytes (max.message.bytes), less than "
            "the %d the worker may write (output_max_bytes %d plus %d of batch framing): "
            "the broker would refuse the largest records; raise it (%s) or lower "
            "output_max_bytes",
            name,
            limit,
            status.needed_message_bytes,
            settings.output_max_bytes,
            RECORD_BATCH_OVERHEAD,
            fix,
        )


__all__ = [
    "RECORD_BATCH_OVERHEAD",
    "KafkaError",
    "TopicStatus",
    "ensure_topics",
    "max_message_bytes",
    "topic_limits",
]
