"""The feeder's own logic (keys, progress); sending is tested against the broker."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kafka.errors import IllegalStateError, KafkaTimeoutError, MessageSizeTooLargeError
from kafka.future import Future

from worker import cli
from worker import feed as feed_module
from worker.feed import Progress, feed, message_key
from worker.settings import Settings


def test_message_key() -> None:
    assert message_key(b'{"id": "a-1", "body": "x"}') == b"a-1"
    assert message_key(b'{"id": 7, "body": "x"}') == b"7"
    assert message_key(b'{"id": true, "body": "x"}') is None
    assert message_key(b"plain text") is None
    assert message_key(b"{broken") is None


def test_progress_is_quiet_off_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(10, out)
    progress.update(10, final=True)
    assert out.getvalue() == ""


# -- accounting: sent = acknowledged, failed = never acknowledged --------------------------


class FakeProducer:
    """Enough of KafkaProducer for feed(): ``verdict(n)`` decides each send's fate."""

    def __init__(self, verdict: Any, *, answer_after: float = 0.0) -> None:
        self.verdict = verdict
        self.answer_after = answer_after
        self.futures: list[Future] = []
        self.sent: list[bytes] = []
        self.closed: float | bool | None = False
        self.calls = 0
        self._sender = SimpleNamespace(force_close=self._force_close, join=lambda _t: None)
        self.force_closed = False

    def send(self, topic: str, key: bytes | None = None, value: bytes = b"") -> Future:  # noqa: ARG002
        n = self.calls
        self.calls += 1
        self.sent.append(value)
        outcome = self.verdict(n)
        if isinstance(outcome, BaseException) and getattr(outcome, "raise_now", False):
            self.sent.pop()
            raise outcome
        future = Future()
        self.futures.append(future)
        if outcome == "pending":
            return future

        def decide() -> None:
            if isinstance(outcome, BaseException):
                future.failure(outcome)
            else:
                future.success(SimpleNamespace(topic=topic, offset=n))

        if self.answer_after:
            threading.Timer(self.answer_after, decide).start()
        else:
            decide()
        return future

    def flush(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 60)
        while not all(f.is_done for f in self.futures):
            if time.monotonic() > deadline:
                raise KafkaTimeoutError("flush timed out")
            time.sleep(0.01)

    def _force_close(self) -> None:
        self.force_closed = True
        for f in self.futures:
            if not f.is_done:
                f.failure(IllegalStateError("Producer is closed forcefully."))

    def close(self, timeout: float | None = None) -> None:
        self.closed = timeout if timeout is not None else True


def _raising(exc: Exception) -> Exception:
    exc.raise_now = True  # type: ignore[attr-defined]
    return exc


@pytest.fixture
def articles(tmp_path: Path) -> list[str]:
    path = tmp_path / "a.jsonl"
    path.write_text("".join(f'{{"id": "a-{i}", "body": "text {i}"}}\n' for i in range(10)))
    return [str(path)]


def _feed(articles: list[str], producer: FakeProducer, **kwargs: Any) -> tuple[Any, str]:
    out = io.StringIO()
    result = feed(Settings(), articles, producer=producer, progress_stream=out, **kwargs)
    return result, out.getvalue()


def test_every_acknowledged_message_is_sent(articles: list[str]) -> None:
    result, errors = _feed(articles, FakeProducer(lambda _n: "ok"), repeat=3)
    assert (result.sent, result.failed, result.ok) == (30, 0, True)
    assert errors == ""


def test_a_late_acknowledgement_still_counts_as_sent(articles: list[str]) -> None:
    # The old feeder gave up on its own clock (future.get(timeout=60)) and reported
    # "failed" for messages the producer delivered later; now only the producer decides.
    result, _ = _feed(articles, FakeProducer(lambda _n: "ok", answer_after=1.0), timeout_s=2)
    assert (result.sent, result.failed) == (10, 0)


def test_only_what_the_producer_failed_is_failed(articles: list[str]) -> None:
    verdict = lambda n: KafkaTimeoutError("Expiring 1 record(s)") if n % 3 == 0 else "ok"  # noqa: E731
    result, errors = _feed(articles, FakeProducer(verdict))
    assert (result.sent, result.failed, result.ok) == (6, 4, False)
    assert errors.count("not sent:") == 4
    assert "a.jsonl:1: KafkaTimeoutError" in errors  # which input, and why


def test_a_message_the_producer_refuses_at_once_is_failed_and_the_rest_go_on(
    articles: list[str],
) -> None:
    verdict = lambda n: _raising(MessageSizeTooLargeError("too big")) if n == 4 else "ok"  # noqa: E731
    result, errors = _feed(articles, FakeProducer(verdict))
    assert (result.sent, result.failed) == (9, 1)
    assert "MessageSizeTooLargeError" in errors


def test_a_send_that_cannot_get_metadata_gives_up_on_the_rest(articles: list[str]) -> None:
    verdict = lambda n: _raising(KafkaTimeoutError("no metadata")) if n == 3 else "ok"  # noqa: E731
    producer = FakeProducer(verdict)
    result, errors = _feed(articles, producer, repeat=2)
    assert (result.sent, result.failed) == (3, 17)  # 3 acknowledged, 17 never sent
    assert "giving up on 17 unsent message(s)" in errors
    assert len(producer.sent) == 3


def test_messages_without_a_verdict_count_as_failed_and_are_abandoned(
    articles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "FLUSH_MARGIN_SECONDS", 0.0)
    producer = FakeProducer(lambda n: "pending" if n >= 7 else "ok")
    result, errors = _feed(articles, producer, timeout_s=0.5)
    assert (result.sent, result.failed) == (7, 3)
    assert producer.force_closed  # nothing can be delivered after it was counted failed
    assert "giving up on the messages still waiting" in errors


def test_a_notice_while_the_broker_acknowledges_nothing(
    articles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "NOTICE_AFTER_SECONDS", 0.2)
    result, errors = _feed(articles, FakeProducer(lambda _n: "ok", answer_after=1.5))
    assert (result.sent, result.failed) == (10, 0)
    assert "no acknowledgement from Kafka at 127.0.0.1:9092" in errors
    assert "10 message(s) waiting" in errors
    assert "Kafka answers again; " in errors  # once, when the first acknowledgement came
    assert errors.count("Kafka answers again") == 1


def test_no_notice_when_the_broker_answers(articles: list[str]) -> None:
    _, errors = _feed(articles, FakeProducer(lambda _n: "ok"), rate=20)
    assert "no acknowledgement" not in errors


def test_failures_are_reported_one_by_one_then_counted(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("".join(f'{{"id": "m-{i}", "body": "x"}}\n' for i in range(30)))
    result, errors = _feed([str(path)], FakeProducer(lambda _n: KafkaTimeoutError("expired")))
    assert result.failed == 30
    assert errors.count("not sent:") == feed_module.REPORTED_FAILURES
    assert "further failures are counted in the summary only" in errors


def test_the_cli_default_timeout_is_the_feeders() -> None:
    assert cli.DEFAULT_FEED_TIMEOUT_SECONDS == feed_module.DEFAULT_TIMEOUT_SECONDS
    args = cli.build_parser().parse_args(["feed", "x"])
    assert args.timeout == feed_module.DEFAULT_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    "argv",
    [
        ["--timeout", "0"],
        ["--timeout", "nan"],
        ["--timeout", "inf"],
        ["--rate", "nan"],
        ["--rate", "-1"],
        ["--rate", "inf"],
        ["--repeat", "0"],
        ["--repeat", "x"],
    ],
)
def test_bad_feed_options_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args(["feed", *argv, "x"])
    assert info.value.code == 2
