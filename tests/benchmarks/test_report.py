"""The result document: ratios, targets, the table, the JSON shape, the chart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks import harness, report
from benchmarks.core import CoreResult
from benchmarks.rss import RssSummary
from benchmarks.stream import CONFIGS, RunResult
from tests.conftest import ROOT

RATES = {"aiokafka": 20000.0, "passthrough": 8000.0, "worker-0": 3000.0, "worker-1": 4200.0}
RATES |= {"worker-1-dedup": 2000.0, "worker-2": 4000.0}


def rss(peak: float, steady: float, drift: float) -> RssSummary:
    return RssSummary(40, peak - 20, peak, steady - 20, steady, drift, 3)


def fake_result() -> dict[str, Any]:
    """A result document built from the harness's own record types."""
    by_name = {c.name: c for c in CONFIGS}
    runs = []
    for name, rate in RATES.items():
        run = RunResult(by_name[name], "rate", 1000, outputs=1000, rate=rate, span_s=1000 / rate)
        run.rss = rss(150.0, 140.0, 1.0)
        runs.append(run)
    latency = RunResult(by_name["worker-1"], "latency", 2000, outputs=2000, offered_rate=2100.0)
    latency.latencies_ms = [float(v % 60) + 5 for v in range(2000)]
    latency.latency_ms = {"n": 2000, "p50": 30.0, "p90": 55.0, "p99": 63.0, "p99.9": 64.0}
    latency.rss = rss(160.0, 150.0, 2.0)
    latency.rss_window = rss(155.0, 150.0, 2.0)
    core = {
        "decode+nfc": CoreResult("decode+nfc", 20000.0, (20000.0,), 50.0, 90.0),
        "core": CoreResult("core", 5000.0, (5000.0,), 190.0, 400.0),
    }
    result: dict[str, Any] = {
        "schema_version": report.SCHEMA_VERSION,
        "machine": report.machine("4.3", ROOT),
        "settings": {"broker": "kafka://127.0.0.1:9092", "partitions": 4},
        "workload": {
            "articles": 1000,
            "bytes_min": 2048,
            "bytes_max": 10240,
            "bytes_mean": 6000.0,
            "kinds": {"hi": 400},
            "variants": {"plain": 700},
        },
        "core": {k: v.as_dict() for k, v in core.items()},
        # The seeds: smaller articles than the workload, so a higher rate than its 5,000.
        "core_seeds": {
            "articles": 40,
            "bytes_mean": 2700,
            "decode+nfc": CoreResult("decode+nfc", 30000.0, (30000.0,), 30.0, 60.0).as_dict(),
            "core": CoreResult("core", 6000.0, (6000.0,), 160.0, 300.0).as_dict(),
        },
        "configurations": [c.as_dict() for c in CONFIGS],
        "runs": [r.as_dict() for r in runs] + [latency.as_dict()],
        "latency": harness.latency_record(latency),
        "problems": [],
    }
    result["best_worker"] = report.best_worker(result["runs"], {c.name: c.role for c in CONFIGS})
    result["ratios"] = report.ratios(result)
    result["targets"] = [t.as_dict() for t in report.targets(result)]
    return result


def test_best_worker_and_ratios() -> None:
    result = fake_result()
    assert result["best_worker"] == "worker-1"
    assert result["ratios"]["4/1"] == pytest.approx(4200 / 5000)
    assert result["ratios"]["4/3"] == pytest.approx(4200 / 8000)
    assert result["ratios"]["3/2"] == pytest.approx(8000 / 20000)


def test_targets_judged_on_the_figures() -> None:
    met = {t["name"]: t["met"] for t in fake_result()["targets"]}
    assert met["core: seed articles/s on one core"] is True  # 6,000 >= 5,000
    assert met["core: within 5x of decode+NFC"] is True  # 30,000 / 6,000 = 5.0x


def test_core_targets_are_judged_on_the_seeds_and_4_1_on_the_workload() -> None:
    result = fake_result()
    result["core_seeds"]["core"]["rate"] = 4999.0
    met = {t.name: t.met for t in report.targets(result)}
    assert met["core: seed articles/s on one core"] is False
    assert met["core: within 5x of decode+NFC"] is False  # 6.0x
    assert report.ratios(result)["4/1"] == pytest.approx(4200 / 5000)
    # A file without the seeds measurement is judged on the workload's core.
    del result["core_seeds"]
    met = {t.name: t.met for t in report.targets(result)}
    assert met["core: seed articles/s on one core"] is True
    assert met["shell: passthrough / aiokafka (3/2)"] is False  # 40%
    assert met["worker: 1 process / core alone"] is True  # 84%
    assert met["worker: enrich_processes 2 faster than 1"] is False  # 4,000 < 4,200
    assert met["latency: p99 at half load"] is True  # 63 ms
    assert met["memory: peak RSS (worker + helpers)"] is True  # 160 MiB = 168 MB
    assert met["memory: flat at half load (drift / steady)"] is True  # 2 / 150


def test_missing_measurements_are_not_met_or_missed() -> None:
    result = fake_result()
    result["runs"] = [r for r in result["runs"] if r["config"] != "worker-2"]
    result["latency"] = None
    met = {t.name: t.met for t in report.targets(result)}
    assert met["worker: enrich_processes 2 faster than 1"] is None
    assert met["latency: p99 at half load"] is None


def test_table_shows_rates_ratios_latency_memory_and_targets() -> None:
    text = report.table(fake_result())
    assert "(1) core alone" in text
    assert "(2) aiokafka" in text
    assert "(3) passthrough" in text
    assert "(4) worker-2" in text
    assert "4/1 (best worker worker-1 / core) 0.84" in text
    assert "3/2 (passthrough / aiokafka) 0.40" in text
    assert "p99 63.0" in text
    assert "[MISSED] shell: passthrough / aiokafka (3/2)" in text
    assert "[met   ] core: seed articles/s on one core" in text
    assert "(1) core, seeds" in text
    assert "(6) RSS of worker-1 at half load" in text


def test_json_shape_round_trips() -> None:
    result = fake_result()
    loaded = orjson.loads(orjson.dumps(result))
    assert set(loaded) >= {
        "schema_version", "machine", "settings", "workload", "core", "configurations",
        "runs", "latency", "ratios", "targets", "problems", "best_worker",
    }  # fmt: skip
    machine = loaded["machine"]
    for key in ("cpu", "cores", "ram_gib", "python", "kernel", "date", "broker_version"):
        assert machine[key], key
    assert machine["packages"]["faust-streaming"]
    assert machine["packages"]["aiokafka"]
    assert machine["packages"]["kafka-python"]
    # Each configuration's overrides are in the file.
    overrides = {c["name"]: c["overrides"] for c in loaded["configurations"]}
    assert overrides["worker-2"] == {"ARTICLE_WORKER_ENRICH_PROCESSES": "2"}
    run = loaded["runs"][0]
    assert {"config", "rate", "outputs", "rss", "latency_ms", "error"} <= set(run)
    sample = loaded["latency"]["sorted_sample_ms"]
    assert sample == sorted(sample)
    assert len(sample) <= harness.LATENCY_SAMPLE_POINTS + 1
    assert sample[-1] == 64.0


def test_configurations_are_data() -> None:
    names = [c.name for c in CONFIGS]
    assert names == [
        "aiokafka", "passthrough", "worker-0", "worker-1", "worker-1-dedup", "worker-2"
    ]  # fmt: skip
    assert [c.name for c in harness.selected(["worker-1"])] == ["worker-1"]
    eos = harness.selected(["worker-1-eos"])[0]
    assert eos.overrides["ARTICLE_WORKER_PROCESSING_GUARANTEE"] == "exactly_once"
    with pytest.raises(ValueError, match="unknown"):
        harness.selected(["worker-9"])


def test_the_harness_imports_without_matplotlib() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        "import benchmarks.__main__, benchmarks.harness, benchmarks.chart; "
        "print(benchmarks.chart.bars.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "bars"


def test_chart_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from benchmarks.chart import draw

    path = draw(fake_result(), tmp_path / "chart.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def test_chart_bars_have_the_core_on_workload_and_seeds_then_every_rate_run() -> None:
    from benchmarks.chart import bars

    labels = [label for label, _, _ in bars(fake_result())]
    assert labels[:4] == ["decode+nfc", "core", "core (seeds)", "aiokafka"]
    assert labels[-1] == "worker-2"


def test_json_baseline_takes_json_and_plain_text_seeds() -> None:
    from benchmarks.core import json_roundtrip

    assert orjson.loads(json_roundtrip(b'{"id": "a", "body": "x"}')) == {"id": "a", "body": "x"}
    assert orjson.loads(json_roundtrip("नई दिल्ली".encode())) == {"body": "नई दिल्ली"}
