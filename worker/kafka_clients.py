"""Every Kafka client of the project is built here, and only here.

The worker consumes through Faust (aiokafka underneath) and publishes with aiokafka
producers of its own; ``feed``, ``topics`` and the lag estimate use kafka-python, as the
user's design card asks. Building all of them from one place means a connection or
security setting cannot reach one client and miss another, and callers catch one error
type, :data:`KAFKA_ERRORS`, whichever library raised it.
"""

from __future__ import annotations

from typing import Any

import aiokafka.errors
import kafka.errors

from worker.settings import Settings

#: Both libraries' base error classes; ``except KAFKA_ERRORS`` catches either.
KAFKA_ERRORS: tuple[type[Exception], ...] = (
    kafka.errors.KafkaError,
    aiokafka.errors.KafkaError,
)


def kafka_python_options(settings: Settings, **extra: Any) -> dict[str, Any]:
    """Connection options for a kafka-python client (producer, consumer or admin)."""
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers}
    options.update(extra)
    return options


def aiokafka_options(settings: Settings, **extra: Any) -> dict[str, Any]:
    """Connection options for an aiokafka client (the worker's own producers)."""
    options: dict[str, Any] = {"bootstrap_servers": ",".join(settings.bootstrap_servers)}
    options.update(extra)
    return options


def faust_options(settings: Settings) -> dict[str, Any]:
    """Connection options for :class:`faust.App` (its consumer and its own producer)."""
    return {"broker": settings.broker}


def new_kafka_python_producer(settings: Settings, **extra: Any) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(**kafka_python_options(settings, **extra))


def new_kafka_python_consumer(settings: Settings, **extra: Any) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(**kafka_python_options(settings, **extra))


def new_admin(settings: Settings, **extra: Any) -> Any:
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(**kafka_python_options(settings, **extra))


def new_aiokafka_producer(settings: Settings, **extra: Any) -> Any:
    from aiokafka import AIOKafkaProducer

    return AIOKafkaProducer(**aiokafka_options(settings, **extra))
