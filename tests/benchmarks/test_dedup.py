"""The duplicate index's benchmark: its timings, its memory and model, its report rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import dedup, dedup_memory, report
from benchmarks.dedup_memory import index_memory, model_bytes, per_key_bytes
from benchmarks.kafka_io import TopicSet
from benchmarks.stream import CONFIGS, Bench, dedup_topics, environment, unique_topic
from tests.benchmarks.test_report import fake_result
from worker.settings import Settings, load_settings


def test_synthetic_candidates_are_deterministic_unique_and_hold_copies() -> None:
    first = dedup.synthetic_candidates(2000, seed=7)
    assert first == dedup.synthetic_candidates(2000, seed=7)
    assert first != dedup.synthetic_candidates(2000, seed=8)
    assert len({c.id for c in first}) == 2000
    assert all(c.id.startswith("sha256-") and len(c.id) == 7 + 32 for c in first)
    timing = dedup.time_index("synthetic", first)
    copies = timing.exact + timing.near
    # 20% are made as copies (a random simhash rarely lands near another one).
    assert 0.15 * 2000 < copies < 0.25 * 2000
    assert timing.exact > 0
    assert timing.near > 0
    assert timing.us_per_article > 0
    assert timing.p99_us >= timing.p50_us
    assert timing.bucket_max >= 2


def test_no_copies_finds_no_duplicates() -> None:
    timing = dedup.time_index("distinct", dedup.synthetic_candidates(1000, copy_share=0.0))
    assert timing.exact == 0


def test_bucket_timings_cover_each_size_four_bands_per_article() -> None:
    rows = dedup.time_buckets([5, 1, 5], seconds=0.01)
    assert [r["entries"] for r in rows] == [1, 5]
    for row in rows:
        assert row["bytes"] > 90 * row["entries"]
        assert row["per_article_us"] == pytest.approx(
            4 * (row["encode_us"] + row["decode_us"]), abs=0.05
        )


def test_window_bucket_entries_is_the_window_over_band_values() -> None:
    assert dedup.window_bucket_entries(10_000) == 1
    assert dedup.window_bucket_entries(1_000_000) == 46  # 3M / 65,536 = 45.8


def test_memory_per_article_is_positive_and_grows_linearly() -> None:
    small = index_memory(2000, trim=True)
    large = index_memory(4000, trim=True)
    assert small["keys"] > 3.5 * 2000  # four band keys per article, few shared
    assert small["encoded_bytes"] > 90 * 4 * 2000  # every entry is held, once per band
    for item in (small, large):
        assert item["bytes"] >= item["encoded_bytes"]
        assert 200 < item["bytes_per_article"] < 3000
    assert large["bytes"] / small["bytes"] == pytest.approx(2.0, rel=0.15)
    # Deterministic: the same table, the same bytes.
    assert index_memory(2000, trim=True)["encoded_bytes"] == small["encoded_bytes"]


def test_values_as_stored_hold_at_least_the_trimmed_ones() -> None:
    stored = index_memory(2000, trim=False)
    trimmed = index_memory(2000, trim=True)
    assert stored["encoded_bytes"] == trimmed["encoded_bytes"]
    assert stored["bytes"] >= trimmed["bytes"]


def test_model_agrees_with_a_measured_table() -> None:
    for trim in (False, True):
        per_key = per_key_bytes(8, trim=trim)
        measured = index_memory(4000, trim=trim)
        assert model_bytes(4000, per_key) == pytest.approx(measured["bytes"], rel=0.15)


def test_rss_in_a_fresh_process_measures_the_same_table() -> None:
    here = index_memory(3000, trim=True)
    there = dedup_memory.isolated_memory(3000, trim=True)
    assert there["method"] == "rss"
    assert (there["keys"], there["encoded_bytes"]) == (here["keys"], here["encoded_bytes"])
    assert 0.5 * here["bytes"] < there["bytes"] < 3 * here["bytes"]


def test_window_estimates_grow_with_the_volume() -> None:
    windows = dedup_memory.window_estimates(per_key_bytes(80, trim=True), (10_000, 1_000_000))
    assert [w["window_articles"] for w in windows] == [30_000, 3_000_000]
    assert 0 < windows[0]["mb"] < windows[1]["mb"]
    # More articles share each band key: fewer bytes per article.
    assert windows[1]["bytes_per_article"] < windows[0]["bytes_per_article"]


def test_run_dedup_returns_every_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup, "isolated_memory", lambda n, trim: index_memory(n, trim=trim))
    from benchmarks.workload import generate

    values = [a.value for a in generate(5)]
    result = dedup.run_dedup(
        values, synthetic=(300,), memory=(500,), volumes=(10_000,), seconds=0.01
    )
    assert [i["name"] for i in result["index"]] == ["workload (5)", "synthetic (300)"]
    assert result["memory"][0]["model_bytes_per_article"] > 0
    assert result["memory_trimmed"][0]["trimmed"] is True
    assert [w["per_day"] for w in result["window_mb"]] == [10_000]
    lines = report.dedup_core_lines(result)
    assert any(line.startswith("    dedup Index.add, synthetic") for line in lines)
    assert any("72 h window: 10,000/day" in line for line in lines)


def test_worker_1_dedup_follows_worker_1_with_dedup_on() -> None:
    names = [c.name for c in CONFIGS]
    assert names.index("worker-1-dedup") == names.index("worker-1") + 1
    config = next(c for c in CONFIGS if c.name == "worker-1-dedup")
    assert config.overrides == {
        "ARTICLE_WORKER_ENRICH_PROCESSES": "1",
        "ARTICLE_WORKER_DEDUP_ENABLED": "true",
    }
    assert config.dedup
    assert not next(c for c in CONFIGS if c.name == "worker-1").dedup


def test_dedup_run_has_its_own_unique_topic_and_names_what_the_worker_makes(
    tmp_path: Path,
) -> None:
    config = next(c for c in CONFIGS if c.name == "worker-1-dedup")
    topics = TopicSet.named("bench-run-worker-1-dedup")
    env = environment(Settings(), config, topics, 8123, str(tmp_path))
    assert env["ARTICLE_WORKER_UNIQUE_TOPIC"] == "bench-run-worker-1-dedup.unique"
    settings = load_settings(env=env)  # valid, and named as the worker names them
    assert settings.dedup_enabled
    assert settings.unique_topic == unique_topic(topics)
    names = dedup_topics(topics)
    assert names[:3] == [
        settings.unique_topic,
        settings.dedup_join_topic,
        settings.dedup_bands_topic,
    ]
    assert names[3:] == [
        "bench-run-worker-1-dedup-dedup-pending-changelog",
        "bench-run-worker-1-dedup-dedup-buckets-changelog",
    ]
    plain = next(c for c in CONFIGS if c.name == "worker-1")
    assert "ARTICLE_WORKER_UNIQUE_TOPIC" not in environment(
        Settings(), plain, topics, 8123, str(tmp_path)
    )


def test_every_dedup_topic_is_deleted_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import kafka_io

    monkeypatch.setattr(kafka_io, "create_topics", lambda _settings, _topics: None)
    bench = Bench(Settings(), "run", lambda _line: None)
    plain = bench.fresh_topics("worker-1")
    with_dedup = bench.fresh_topics("worker-1-dedup", dedup=True)
    assert bench.topics == [
        plain.raw, plain.enriched, plain.dlq,
        with_dedup.raw, with_dedup.enriched, with_dedup.dlq, *dedup_topics(with_dedup),
    ]  # fmt: skip
    assert bench.groups == [plain.group, with_dedup.group]


def test_report_has_the_dedup_ratio_and_cost_per_article() -> None:
    result = fake_result()  # worker-1 at 4,200/s, worker-1-dedup at 2,000/s
    assert result["ratios"]["dedup"] == pytest.approx(2000 / 4200)
    assert result["ratios"]["dedup_cost_us"] == pytest.approx(1e6 / 2000 - 1e6 / 4200, abs=0.1)
    text = report.table(result)
    assert "(4) worker-1-dedup" in text
    assert "dedup / no dedup (worker-1-dedup / worker-1) 0.48: dedup costs 262 us" in text


def test_dedup_cost_needs_both_rates() -> None:
    assert report.dedup_cost_us(250.0, 500.0) == pytest.approx(2000.0)
    assert report.dedup_cost_us(None, 500.0) is None
    result = fake_result()
    result["runs"] = [r for r in result["runs"] if r["config"] != "worker-1-dedup"]
    ratios = report.ratios(result)
    assert ratios["dedup"] is None
    assert ratios["dedup_cost_us"] is None
    assert "dedup / no dedup" not in report.table({**result, "ratios": ratios})
