"""Settings: defaults, file and environment precedence, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.settings import Settings, SettingsError, load_settings


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(env={}, config_file=None)
    assert s == Settings() or s.raw_topic == "articles.raw"
    assert s.bootstrap_servers == ["127.0.0.1:9092"]


def test_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "worker.toml"
    config.write_text('raw_topic = "in"\ntopic_partitions = 6\nconcurrency = 3\n')
    s = load_settings(env={"ARTICLE_WORKER_TOPIC_PARTITIONS": "8"}, config_file=config)
    assert (s.raw_topic, s.topic_partitions, s.concurrency) == ("in", 8, 3)


def test_broker_list() -> None:
    s = load_settings(env={"ARTICLE_WORKER_BROKER": "kafka://a:1;kafka://b:2"})
    assert s.bootstrap_servers == ["a:1", "b:2"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ARTICLE_WORKER_TOPIC_PARTITIONS": "many"}, "expected int"),
        ({"ARTICLE_WORKER_TOPIC_PARTITIONS": "0"}, "topic_partitions: must be at least 1"),
        ({"ARTICLE_WORKER_BROKR": "x"}, "unknown setting"),
        ({"ARTICLE_WORKER_PROCESSING_GUARANTEE": "maybe"}, "processing_guarantee"),
        ({"ARTICLE_WORKER_WEB_PORT": "70000"}, "web_port"),
        ({"ARTICLE_WORKER_BROKER": "nohostport"}, "broker"),
        ({"ARTICLE_WORKER_DLQ_TOPIC": "articles.raw"}, "must differ"),
        ({"ARTICLE_WORKER_GAZETTEER": "/nonexistent.json"}, "gazetteer"),
    ],
)
def test_invalid_settings_are_reported(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(env=env)


def test_all_problems_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env={"ARTICLE_WORKER_CONCURRENCY": "0", "ARTICLE_WORKER_LOG_LEVEL": "loud"})
    assert "concurrency" in str(info.value)
    assert "log_level" in str(info.value)


def test_bad_file(tmp_path: Path) -> None:
    config = tmp_path / "worker.toml"
    config.write_text("not = [toml")
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(env={}, config_file=config)
    config.write_text("nope = 1\n")
    with pytest.raises(SettingsError, match="nope: unknown setting"):
        load_settings(env={}, config_file=config)
