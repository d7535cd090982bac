"""Creating the worker's topics when they are missing (used at start and by ``topics``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from worker.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicStatus:
    name: str
    created: bool
    partitions: int


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[TopicStatus]:
    """Create the raw, enriched and dead-letter topics that do not exist yet.

    Existing topics are left as they are (their partition count is reported). Raises
    ``kafka.errors.KafkaError`` when the broker cannot be reached in ``timeout_s``.
    """
    names = [settings.raw_topic, settings.enriched_topic, settings.dlq_topic]
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.app_id}-admin",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        created: set[str] = set()
        for name in missing:
            topic = NewTopic(name, settings.topic_partitions, settings.topic_replication_factor)
            try:
                admin.create_topics(
                    [topic], timeout_ms=int(timeout_s * 1000), wait_for_metadata=True
                )
                created.add(name)
                log.info("created topic %s (%d partitions)", name, settings.topic_partitions)
            except TopicAlreadyExistsError:  # another worker created it meanwhile
                pass
        described = {d["name"]: len(d["partitions"]) for d in admin.describe_topics(names)}
        return [TopicStatus(n, n in created, described.get(n, 0)) for n in names]
    finally:
        admin.close()


__all__ = ["KafkaError", "TopicStatus", "ensure_topics"]
