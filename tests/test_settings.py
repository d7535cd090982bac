"""Settings: defaults, file and environment precedence, clear errors."""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from pathlib import Path

import pytest

from worker.settings import (
    DEAD_LETTER_HEADROOM,
    RANGES,
    Settings,
    SettingsError,
    kafka_name_problem,
    load_settings,
)


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(env={}, config_file=None)
    assert s == Settings()
    assert s.raw_topic == "articles.raw"
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
        ({"ARTICLE_WORKER_TOPIC_PARTITIONS": "0"}, "topic_partitions: must be 1-1000, got 0"),
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


# -- ranges, finiteness and names (Settings.validate) ---------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SHUTDOWN_GRACE_SECONDS", "nan", "shutdown_grace_seconds: must be a finite number"),
        ("SHUTDOWN_GRACE_SECONDS", "inf", "shutdown_grace_seconds: must be a finite number"),
        ("SHUTDOWN_GRACE_SECONDS", "-inf", "shutdown_grace_seconds: must be a finite number"),
        ("BATCH_WAIT_SECONDS", "inf", "batch_wait_seconds: must be a finite number"),
        ("BATCH_WAIT_SECONDS", "1e400", "batch_wait_seconds: must be a finite number"),
        ("BATCH_WAIT_SECONDS", "11", "batch_wait_seconds: must be 0.001-10, got 11"),
        ("BATCH_WAIT_SECONDS", "0", "batch_wait_seconds: must be 0.001-10"),
        ("STALL_SECONDS", "nan", "stall_seconds: must be a finite number"),
        ("LAG_INTERVAL_SECONDS", "nan", "lag_interval_seconds: must be a finite number"),
        ("ARTICLE_TIMEOUT_SECONDS", "NaN", "article_timeout_seconds: must be a finite number"),
        ("ARTICLE_TIMEOUT_SECONDS", "0", "article_timeout_seconds: must be 0.001-300"),
        ("SESSION_TIMEOUT_SECONDS", "inf", "session_timeout_seconds: must be a finite number"),
        ("SESSION_TIMEOUT_SECONDS", "3", "session_timeout_seconds: must be 6-1800"),
        ("HEARTBEAT_INTERVAL_SECONDS", "nan", "heartbeat_interval_seconds: must be a finite"),
        ("HEARTBEAT_INTERVAL_SECONDS", "0", "heartbeat_interval_seconds: must be 0.1-600"),
        ("MAX_BYTES", str(10**14), "max_bytes: must be 1024-67108864"),
        ("MAX_BYTES", "100", "max_bytes: must be 1024-67108864"),
        ("OUTPUT_MAX_BYTES", str(10**9), "output_max_bytes: must be 4096-100663296"),
        ("CONCURRENCY", "100000", "concurrency: must be 1-64, got 100000"),
        ("CONCURRENCY", "0", "concurrency: must be 1-64"),
        ("BATCH_SIZE", "100000", "batch_size: must be 1-10000"),
        ("TOPIC_PARTITIONS", "100000", "topic_partitions: must be 1-1000"),
        ("TOPIC_REPLICATION_FACTOR", "0", "topic_replication_factor: must be 1-16"),
        ("TOPIC_REPLICATION_FACTOR", "99", "topic_replication_factor: must be 1-16"),
        ("ENRICH_PROCESSES", "65", "enrich_processes: must be 0-64"),
        ("ENRICH_PROCESSES", "-1", "enrich_processes: must be 0-64"),
        ("WEB_PORT", "0", "web_port: must be 1-65535"),
        ("STALL_SECONDS", "0", "stall_seconds: must be 1-86400"),
        ("LAG_INTERVAL_SECONDS", "7200", "lag_interval_seconds: must be 0.1-3600"),
        ("SHUTDOWN_GRACE_SECONDS", "0", "shutdown_grace_seconds: must be 0.1-3600"),
        ("SHUTDOWN_GRACE_SECONDS", "1e9", "shutdown_grace_seconds: must be 0.1-3600"),
    ],
)
def test_numbers_must_be_finite_and_in_range(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env={f"ARTICLE_WORKER_{variable}": value}, config_file=None)
    assert message in str(info.value)


def test_every_numeric_setting_has_a_range() -> None:
    numeric = {f.name for f in fields(Settings) if f.type in ("int", "float", int, float)}
    assert numeric == set(RANGES)
    for name, (low, high) in RANGES.items():
        assert low <= getattr(Settings(), name) <= high, name  # the defaults are valid


@pytest.mark.parametrize("name", sorted(RANGES))
def test_both_ends_of_each_range_are_accepted(name: str) -> None:
    low, high = RANGES[name]
    for value in (low, high):
        # Related settings moved along, so only the range of ``name`` is tested.
        related: dict[str, object] = {
            "max_bytes": {"output_max_bytes": max(int(value) + DEAD_LETTER_HEADROOM, 4096)},
            "output_max_bytes": {"max_bytes": 1024},
            "session_timeout_seconds": {"heartbeat_interval_seconds": 0.1},
            "heartbeat_interval_seconds": {"session_timeout_seconds": 1800.0},
            "stall_seconds": {"lag_interval_seconds": 0.1},
            "lag_interval_seconds": {"stall_seconds": 86_400.0},
        }.get(name, {})  # type: ignore[assignment]
        if name == "max_bytes" and value == high:
            related = {"output_max_bytes": int(high) + DEAD_LETTER_HEADROOM}
        dataclasses.replace(Settings(), **{name: value, **related}).validate()  # type: ignore[arg-type]


def test_toml_numbers(tmp_path: Path) -> None:
    config = tmp_path / "worker.toml"
    config.write_text("concurrency = 3.0\nbatch_wait_seconds = 1\n")
    s = load_settings(env={}, config_file=config)
    assert (s.concurrency, s.batch_wait_seconds) == (3, 1.0)
    config.write_text("concurrency = 2.5\n")
    with pytest.raises(SettingsError, match=r"concurrency: expected int, got 2\.5"):
        load_settings(env={}, config_file=config)
    config.write_text("stall_seconds = nan\n")
    with pytest.raises(SettingsError, match="stall_seconds: must be a finite number"):
        load_settings(env={}, config_file=config)
    config.write_text("concurrency = inf\n")
    with pytest.raises(SettingsError, match="concurrency: expected int"):
        load_settings(env={}, config_file=config)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        # max_bytes plus a dead letter's headers must fit in output_max_bytes
        (
            {"ARTICLE_WORKER_MAX_BYTES": "4194304"},
            "max_bytes (4194304) must be at most output_max_bytes (4194304) - 2048",
        ),
        (
            {"ARTICLE_WORKER_OUTPUT_MAX_BYTES": "65536"},
            "max_bytes (1048576) must be at most output_max_bytes (65536)",
        ),
        (
            {"ARTICLE_WORKER_HEARTBEAT_INTERVAL_SECONDS": "4"},
            "heartbeat_interval_seconds (4) must be at most a third of session_timeout_seconds",
        ),
        (
            {
                "ARTICLE_WORKER_SESSION_TIMEOUT_SECONDS": "6",
                "ARTICLE_WORKER_HEARTBEAT_INTERVAL_SECONDS": "2.5",
            },
            "heartbeat_interval_seconds (2.5) must be at most a third",
        ),
        (
            {"ARTICLE_WORKER_STALL_SECONDS": "3", "ARTICLE_WORKER_LAG_INTERVAL_SECONDS": "5"},
            "stall_seconds (3) must be at least lag_interval_seconds (5)",
        ),
    ],
)
def test_related_limits_must_agree(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env=env, config_file=None)
    assert message in str(info.value)


def test_related_limits_at_their_edges_are_accepted() -> None:
    s = load_settings(
        env={
            "ARTICLE_WORKER_MAX_BYTES": str(4 * 1024 * 1024 - DEAD_LETTER_HEADROOM),
            "ARTICLE_WORKER_HEARTBEAT_INTERVAL_SECONDS": "3",
            "ARTICLE_WORKER_SESSION_TIMEOUT_SECONDS": "9",
            "ARTICLE_WORKER_STALL_SECONDS": "5",
            "ARTICLE_WORKER_LAG_INTERVAL_SECONDS": "5",
        },
        config_file=None,
    )
    assert s.max_bytes == 4 * 1024 * 1024 - DEAD_LETTER_HEADROOM


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("articles.raw", None),
        ("a", None),
        ("A-b_c.9", None),
        ("x" * 249, None),
        ("x" * 250, "at most 249 characters, got 250"),
        ("", "must not be empty"),
        (".", "cannot be '.'"),
        ("..", "cannot be '..'"),
        ("...", None),  # only '.' and '..' themselves are reserved
        ("bad/name", "only ASCII letters"),
        ("with space", "only ASCII letters"),
        ("tab\t", "only ASCII letters"),
        ("new\nline", "only ASCII letters"),
        ("trailing\n", "only ASCII letters"),  # fullmatch, not match + $
        ("ünïcode", "only ASCII letters"),
        ("colon:x", "only ASCII letters"),
        ("star*", "only ASCII letters"),
    ],
)
def test_kafka_names(name: str, problem: str | None) -> None:
    found = kafka_name_problem(name)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


@pytest.mark.parametrize("variable", ["RAW_TOPIC", "ENRICHED_TOPIC", "DLQ_TOPIC", "UNIQUE_TOPIC"])
@pytest.mark.parametrize("value", ["bad/name", ".", "..", "x" * 250, "a b", "__consumer_offsets"])
def test_topic_names_follow_kafkas_rules(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env={f"ARTICLE_WORKER_{variable}": value}, config_file=None)
    assert f"{variable.lower()}: " in str(info.value)


def test_topic_names_that_kafka_would_see_as_colliding() -> None:
    with pytest.raises(SettingsError, match=r"differ by more than '\.' against '_'"):
        load_settings(env={"ARTICLE_WORKER_DLQ_TOPIC": "articles_raw"}, config_file=None)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ARTICLE_WORKER_APP_ID": "my app"}, "app_id: only ASCII letters"),
        ({"ARTICLE_WORKER_APP_ID": "a/b"}, "app_id: only ASCII letters"),
        ({"ARTICLE_WORKER_APP_ID": "x" * 201}, "app_id: at most 200 characters"),
        ({"ARTICLE_WORKER_APP_ID": ".."}, "app_id: cannot be '..'"),
        ({"ARTICLE_WORKER_GROUP_INSTANCE_ID": "pod 1"}, "group_instance_id: only ASCII"),
        ({"ARTICLE_WORKER_GROUP_INSTANCE_ID": "x" * 250}, "group_instance_id: at most 249"),
        ({"ARTICLE_WORKER_WEB_HOST": "a b"}, "web_host: must be a non-empty host name"),
        ({"ARTICLE_WORKER_DATA_DIR": ""}, "data_dir: must not be empty"),
    ],
)
def test_ids_and_names(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env=env, config_file=None)
    assert message in str(info.value)


def test_sane_ids_are_accepted() -> None:
    s = load_settings(
        env={
            "ARTICLE_WORKER_APP_ID": "news-worker.v2",
            "ARTICLE_WORKER_GROUP_INSTANCE_ID": "article-worker-0",
        },
        config_file=None,
    )
    assert (s.app_id, s.group_instance_id) == ("news-worker.v2", "article-worker-0")
    assert load_settings(env={}, config_file=None).group_instance_id == ""


@pytest.mark.parametrize(
    ("broker", "message"),
    [
        ("kafka://host:abc", "the port of 'kafka://host:abc' must be a number 1-65535"),
        ("kafka://host:0", "must be a number 1-65535"),
        ("kafka://host:70000", "must be a number 1-65535"),
        ("kafka://host:-1", "must be a number 1-65535"),
        ("kafka://host:", "must be a number 1-65535"),
        ("kafka://host", "expected kafka://host:port"),
        ("kafka://:9092", "expected kafka://host:port"),
        ("kafka://a b:9092", "expected kafka://host:port"),
        ("http://host:9092", "only kafka:// addresses"),
        ("kafka://a:1;kafka://b:x", "the port of 'kafka://b:x'"),
        (";", "expected kafka://host:port"),
        ("kafka://host:٩٠٩٢", "must be a number"),  # Arabic-Indic digits are not a port
    ],
)
def test_broker_addresses(broker: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env={"ARTICLE_WORKER_BROKER": broker}, config_file=None)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "broker", ["kafka://127.0.0.1:9092", "localhost:9092", "kafka://[::1]:9092", "kafka://a:1; b:2"]
)
def test_good_broker_addresses(broker: str) -> None:
    assert load_settings(env={"ARTICLE_WORKER_BROKER": broker}, config_file=None).broker == broker


def test_a_broker_override_is_checked_too() -> None:
    with pytest.raises(SettingsError, match="broker: the port"):
        load_settings(env={}, config_file=None, broker="kafka://h:port")


# -- duplicates across feeds ------------------------------------------------------------------

DEDUP_ON = {"ARTICLE_WORKER_DEDUP_ENABLED": "true"}


def test_dedup_defaults() -> None:
    s = load_settings(env={}, config_file=None)
    assert s.dedup_enabled is False
    assert s.unique_topic == "articles.unique"
    assert (s.dedup_window_seconds, s.dedup_max_distance, s.dedup_wait_seconds) == (
        72 * 3600.0,
        3,
        300.0,
    )
    # The internal topics are named after the app id (the consumer group), like Faust's.
    assert (s.dedup_join_topic, s.dedup_bands_topic) == (
        "article-worker-dedup-join",
        "article-worker-dedup-bands",
    )
    renamed = load_settings(env={"ARTICLE_WORKER_APP_ID": "w2"}, config_file=None)
    assert (renamed.dedup_join_topic, renamed.dedup_bands_topic) == (
        "w2-dedup-join",
        "w2-dedup-bands",
    )


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("Yes", True), (" 1 ", True), ("off", False)]
)
def test_dedup_from_the_environment(raw: str, expected: bool) -> None:
    s = load_settings(
        env={
            "ARTICLE_WORKER_DEDUP_ENABLED": raw,
            "ARTICLE_WORKER_UNIQUE_TOPIC": "stories.first",
            "ARTICLE_WORKER_DEDUP_WINDOW_SECONDS": "3600",
            "ARTICLE_WORKER_DEDUP_MAX_DISTANCE": "0",
            "ARTICLE_WORKER_DEDUP_WAIT_SECONDS": "2.5",
        },
        config_file=None,
    )
    assert s.dedup_enabled is expected
    assert (s.unique_topic, s.dedup_window_seconds, s.dedup_max_distance) == (
        "stories.first",
        3600.0,
        0,
    )
    assert s.dedup_wait_seconds == 2.5


def test_dedup_from_a_file(tmp_path: Path) -> None:
    config = tmp_path / "worker.toml"
    config.write_text("dedup_enabled = true\ndedup_max_distance = 2\n")
    s = load_settings(env={}, config_file=config)
    assert (s.dedup_enabled, s.dedup_max_distance) == (True, 2)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEDUP_ENABLED", "maybe", "ARTICLE_WORKER_DEDUP_ENABLED: expected bool, got 'maybe'"),
        ("DEDUP_MAX_DISTANCE", "4", "dedup_max_distance: must be 0-3, got 4"),
        ("DEDUP_MAX_DISTANCE", "-1", "dedup_max_distance: must be 0-3, got -1"),
        ("DEDUP_MAX_DISTANCE", "1.5", "DEDUP_MAX_DISTANCE: expected int, got '1.5'"),
        ("DEDUP_WINDOW_SECONDS", "0.5", "dedup_window_seconds: must be 1-"),
        ("DEDUP_WINDOW_SECONDS", str(91 * 86_400), "dedup_window_seconds: must be 1-"),
        ("DEDUP_WINDOW_SECONDS", "inf", "dedup_window_seconds: must be a finite number"),
        ("DEDUP_WAIT_SECONDS", "0", "dedup_wait_seconds: must be 1-86400, got 0"),
        ("DEDUP_WAIT_SECONDS", "86401", "dedup_wait_seconds: must be 1-86400"),
        ("DEDUP_WAIT_SECONDS", "nan", "dedup_wait_seconds: must be a finite number"),
    ],
)
def test_dedup_numbers_must_be_in_range(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env={f"ARTICLE_WORKER_{variable}": value}, config_file=None)
    assert message in str(info.value)


def test_the_window_bound_reads_as_a_number_of_seconds() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env={"ARTICLE_WORKER_DEDUP_WINDOW_SECONDS": "0.5"}, config_file=None)
    assert "dedup_window_seconds: must be 1-7776000, got 0.5" in str(info.value)


def test_dedup_range_ends_are_accepted() -> None:
    for distance, window, wait in ((0, 1.0, 1.0), (3, 90 * 86_400.0, 86_400.0)):
        s = load_settings(
            env={
                **DEDUP_ON,
                "ARTICLE_WORKER_DEDUP_MAX_DISTANCE": str(distance),
                "ARTICLE_WORKER_DEDUP_WINDOW_SECONDS": str(window),
                "ARTICLE_WORKER_DEDUP_WAIT_SECONDS": str(wait),
            },
            config_file=None,
        )
        assert (s.dedup_max_distance, s.dedup_window_seconds, s.dedup_wait_seconds) == (
            distance,
            window,
            wait,
        )


def test_dedup_is_refused_with_exactly_once() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(
            env={**DEDUP_ON, "ARTICLE_WORKER_PROCESSING_GUARANTEE": "exactly_once"},
            config_file=None,
        )
    message = str(info.value)
    assert "dedup_enabled: works at least once" in message
    assert "set processing_guarantee=at_least_once or dedup_enabled=false" in message
    # Either alone is fine.
    guarantee = {"ARTICLE_WORKER_PROCESSING_GUARANTEE": "exactly_once"}
    assert load_settings(env=guarantee, config_file=None).processing_guarantee == "exactly_once"
    assert load_settings(env=DEDUP_ON, config_file=None).dedup_enabled is True


@pytest.mark.parametrize(
    ("unique_topic", "message"),
    [
        ("articles.raw", "raw_topic, enriched_topic, dlq_topic and unique_topic must differ"),
        ("articles.enriched", "raw_topic, enriched_topic, dlq_topic and unique_topic must differ"),
        ("articles.dlq", "raw_topic, enriched_topic, dlq_topic and unique_topic must differ"),
        ("articles_enriched", "unique_topic must differ by more than '.' against '_'"),
    ],
)
def test_the_unique_topic_must_differ_only_when_dedup_is_on(
    unique_topic: str, message: str
) -> None:
    env = {"ARTICLE_WORKER_UNIQUE_TOPIC": unique_topic}
    with pytest.raises(SettingsError) as info:
        load_settings(env={**env, **DEDUP_ON}, config_file=None)
    assert message in str(info.value)
    # Unused without dedup, so a leftover value is no conflict.
    assert load_settings(env=env, config_file=None).unique_topic == unique_topic


def test_compression_codec_is_what_the_clients_take() -> None:
    assert Settings().compression_codec is None
    assert Settings(producer_compression="zstd").compression_codec == "zstd"
    assert Settings(producer_compression="gzip").compression_codec == "gzip"
