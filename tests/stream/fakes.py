"""Stand-ins for Faust's tables, topics and messages, for the shell's unit tests: sends and
changelog writes are recorded and acknowledged at once (or fail as told)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


@dataclass
class Sent:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] | None
    partition: int | None


def resolved(exc: BaseException | None = None) -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
    return future


@dataclass
class FakeTable:
    data: dict[bytes, bytes] = field(default_factory=dict)
    changelog: list[tuple[int, bytes, bytes | None]] = field(default_factory=list)

    def send_changelog(
        self, partition: int, key: bytes, value: bytes | None, **serializers: str
    ) -> asyncio.Future[None]:
        assert serializers == {"key_serializer": "raw", "value_serializer": "raw"}
        self.changelog.append((partition, key, value))
        return resolved()

    def last_values(self) -> dict[bytes, bytes | None]:
        """The changelog as compaction leaves it: each key's last value."""
        return {key: value for _, key, value in self.changelog}


@dataclass
class FakeTopic:
    name: str
    sent: list[Sent] = field(default_factory=list)
    raises: list[BaseException] = field(default_factory=list)  # raised by send itself
    fails: list[BaseException] = field(default_factory=list)  # set on the returned future
    calls: int = 0
    on_call: Callable[[], None] | None = None

    def get_topic_name(self) -> str:
        return self.name

    async def send(
        self,
        *,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]] | None,
        partition: int | None,
        force: bool,
    ) -> asyncio.Future[None]:
        assert force, "a dedup send must not wait for the next commit"
        self.calls += 1
        if self.on_call is not None:
            self.on_call()
        if self.raises:
            raise self.raises.pop(0)
        if self.fails:
            return resolved(self.fails.pop(0))
        self.sent.append(Sent(key, value, headers, partition))
        return resolved()


def message(
    key: bytes,
    value: bytes | None,
    partition: int,
    offset: int,
    *,
    headers: list[tuple[str, bytes]] | None = None,
    timestamp: float | None = None,
) -> Any:
    """A consumed message as the finder reads it (Faust's ``Message`` has these fields)."""
    return SimpleNamespace(
        key=key,
        value=value,
        partition=partition,
        offset=offset,
        headers=headers or [],
        timestamp=timestamp,
    )
