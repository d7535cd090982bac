"""The harness's results: the machine, ratios, the issue's targets, the JSON and the table."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.stats import Target, at_least, at_most, ratio

SCHEMA_VERSION = 1
PACKAGES = ("faust-streaming", "aiokafka", "kafka-python", "orjson", "ftfy", "mode-streaming")
MB = 1_000_000 / 1024 / 1024  # MiB per MB


def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def machine(broker_version: str | None = None, root: Path | None = None) -> dict[str, Any]:
    """What the figures were measured on (and when, and the load at the start)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    mem = _first("/proc/meminfo", "MemTotal")
    commit = None
    if root is not None:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - read-only, PATH's git
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        commit = done.stdout.strip() or None
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or None,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": round(int(mem.split()[0]) / 1024 / 1024, 1) if mem else None,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kernel": platform.release(),
        "packages": versions,
        "broker_version": broker_version,
        # kafka-python names the newest version whose API set the broker offers: a lower
        # bound (a 4.4 broker shows as 4.3 with kafka-python 3.0.12).
        "broker_version_source": "kafka-python's inference from the broker's API versions",
        "commit": commit,
    }


def _rate(runs: Sequence[Mapping[str, Any]], name: str) -> float | None:
    for run in runs:
        if run["config"] == name and run["phase"] == "rate" and run["outputs"]:
            return float(run["rate"])
    return None


def best_worker(runs: Sequence[Mapping[str, Any]], roles: Mapping[str, str]) -> str | None:
    """The name of the fastest worker configuration (role ``worker``) of the rate runs."""
    rated = [
        (float(r["rate"]), r["config"])
        for r in runs
        if r["phase"] == "rate" and roles.get(r["config"]) == "worker" and r["outputs"]
    ]
    return max(rated)[1] if rated else None


#: The dedup on/off pair of configurations, measured in the same run.
DEDUP_PAIR = ("worker-1-dedup", "worker-1")


def dedup_cost_us(with_dedup: float | None, without: float | None) -> float | None:
    """What dedup adds to each article in the stream, in µs: 1/r_dedup - 1/r_plain."""
    if not with_dedup or not without:
        return None
    return (1.0 / with_dedup - 1.0 / without) * 1e6


def ratios(result: Mapping[str, Any]) -> dict[str, float | None]:
    """4/1 (best worker vs core), 4/3 (vs passthrough), 3/2 (passthrough vs aiokafka);
    ``dedup`` (worker-1-dedup vs worker-1) and ``dedup_cost_us`` (µs per article)."""
    runs = result["runs"]
    core = result["core"].get("core", {}).get("rate")
    best = result.get("best_worker")
    four = _rate(runs, best) if best else None
    three, two = _rate(runs, "passthrough"), _rate(runs, "aiokafka")
    on, off = (_rate(runs, name) for name in DEDUP_PAIR)
    cost = dedup_cost_us(on, off)
    return {
        "4/1": ratio(four, core),
        "4/3": ratio(four, three),
        "3/2": ratio(three, two),
        "dedup": ratio(on, off),
        "dedup_cost_us": None if cost is None else round(cost, 1),
    }


def _fmt(value: float | None, spec: str = ",.0f", suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def targets(result: Mapping[str, Any]) -> list[Target]:
    """The issue's targets judged on this run's figures (None: not measured)."""
    # The core targets are for seed-sized articles; 4/1 compares with the workload's core.
    seeds = result.get("core_seeds") or result["core"]
    core_seeds = seeds.get("core", {}).get("rate")
    nfc = seeds.get("decode+nfc", {}).get("rate")
    core = result["core"].get("core", {}).get("rate")
    runs = result["runs"]
    w1, w2 = _rate(runs, "worker-1"), _rate(runs, "worker-2")
    slower = ratio(nfc, core_seeds)
    shell = result["ratios"].get("3/2")
    worker_core = ratio(w1, core)
    more = ratio(w2, w1)
    latency = result.get("latency") or {}
    p99 = (latency.get("latency_ms") or {}).get("p99")
    rss = [r["rss"] for r in runs if r.get("rss") and r["config"].startswith("worker")]
    peak = max((r["peak_total_mib"] for r in rss), default=None)
    steady = (latency.get("rss_steady_load") or {}).get("steady_total_mib")
    drift = (latency.get("rss_steady_load") or {}).get("drift_total_mib")
    flat = ratio(abs(drift), steady) if drift is not None else None
    more_target = Target(
        "worker: enrich_processes 2 faster than 1",
        "> 1.00x",
        more,
        _fmt(more, ".2f", "x"),
        None if more is None else more > 1.0,
    )
    return [
        at_least(
            "core: seed articles/s on one core",
            ">= 5,000/s",
            core_seeds,
            5000,
            _fmt(core_seeds, ",.0f", "/s"),
        ),
        at_most(
            "core: within 5x of decode+NFC",
            "<= 5.0x slower",
            slower,
            5.0,
            _fmt(slower, ".1f", "x slower"),
        ),
        at_least("shell: passthrough / aiokafka (3/2)", ">= 50%", shell, 0.5, _fmt(shell, ".0%")),
        at_least(
            "worker: 1 process / core alone",
            ">= 80%",
            worker_core,
            0.8,
            _fmt(worker_core, ".0%"),
        ),
        more_target,
        at_most("latency: p99 at half load", "<= 100 ms", p99, 100.0, _fmt(p99, ".1f", " ms")),
        at_most(
            "memory: peak RSS (worker + helpers)",
            "<= 250 MB",
            None if peak is None else peak / MB,
            250.0,
            _fmt(None if peak is None else peak / MB, ".0f", " MB"),
        ),
        at_most(
            "memory: flat at half load (drift / steady)",
            "<= 5%",
            flat,
            0.05,
            _fmt(flat, ".1%"),
        ),
    ]


def table(result: Mapping[str, Any]) -> str:
    """The printed summary: rates with ratios, latency, memory and the targets."""
    core = result["core"].get("core", {}).get("rate")
    three = _rate(result["runs"], "passthrough")
    lines = [
        f"benchmark {result['machine']['date']}: {result['machine']['cpu']}, "
        f"{result['machine']['cores']} cores, {result['machine']['ram_gib']} GiB, "
        f"Python {result['machine']['python']}, broker {result['settings']['broker']} "
        f"(Kafka {result['machine']['broker_version']}), load average "
        f"{result['machine']['load_average_at_start'][0]:.1f} at the start",
        f"workload: {result['workload']['articles']} articles "
        f"{result['workload']['bytes_min']}-{result['workload']['bytes_max']} B "
        f"(mean {result['workload']['bytes_mean']:.0f}), {result['workload']['kinds']}, "
        f"{result['workload']['variants']}",
        "",
        f"{'configuration':<28}{'rate/s':>10}{'vs core':>10}{'vs pass':>10}"
        f"{'peak RSS MiB':>14}  notes",
    ]
    for name, item in result["core"].items():
        label = {"core": "(1) core alone", "decode+nfc": "    decode+NFC"}.get(name, f"    {name}")
        lines.append(
            f"{label:<28}{item['rate']:>10,.0f}{_fmt(ratio(item['rate'], core), '.2f'):>10}"
            f"{'':>10}{'':>14}  {item['us_per_article']} us/article, one core"
        )
    seeds = result.get("core_seeds")
    if seeds:
        for name, label in (("decode+nfc", "    decode+NFC, seeds"), ("core", "(1) core, seeds")):
            item = seeds[name]
            lines.append(
                f"{label:<28}{item['rate']:>10,.0f}{'':>10}{'':>10}{'':>14}  "
                f"{item['us_per_article']} us/article, {seeds['articles']} seeds of "
                f"{seeds['bytes_mean']} B mean"
            )
    lines += dedup_core_lines(result.get("dedup"))
    numbers = {"client": "(2)", "framework": "(3)", "worker": "(4)"}
    roles = {c["name"]: c["role"] for c in result["configurations"]}
    for run in result["runs"]:
        if run["phase"] != "rate":
            continue
        rate = float(run["rate"]) if run["outputs"] else None
        peak = run["rss"]["peak_total_mib"] if run.get("rss") else None
        note = f"{run['outputs']}/{run['messages']} out"
        if run["dead_letters"]:
            note += f", {run['dead_letters']} dead letters {run.get('dead_letter_reasons')}"
        if run["error"]:
            note += f", ERROR: {run['error'].splitlines()[0]}"
        label = f"{numbers.get(roles.get(run['config'], ''), '   ')} {run['config']}"
        lines.append(
            f"{label:<28}{_fmt(rate):>10}{_fmt(ratio(rate, core), '.2f'):>10}"
            f"{_fmt(ratio(rate, three), '.2f'):>10}{_fmt(peak, '.0f'):>14}  {note}"
        )
    r = result["ratios"]
    lines += [
        "",
        f"ratios: 4/1 (best worker {result.get('best_worker')} / core) {_fmt(r['4/1'], '.2f')}, "
        f"4/3 (best worker / passthrough) {_fmt(r['4/3'], '.2f')}, "
        f"3/2 (passthrough / aiokafka) {_fmt(r['3/2'], '.2f')}",
    ]
    if r.get("dedup") is not None:
        lines.append(
            f"dedup / no dedup ({DEDUP_PAIR[0]} / {DEDUP_PAIR[1]}) {_fmt(r['dedup'], '.2f')}: "
            f"dedup costs {_fmt(r.get('dedup_cost_us'), ',.0f')} us per article in the "
            "stream (1/r_dedup - 1/r_plain)"
        )
    latency = result.get("latency")
    if latency:
        ms = latency["latency_ms"]
        shown = ", ".join(
            f"{k} {ms[k]:.1f}" for k in ("p50", "p90", "p99", "p99.9", "max") if k in ms
        )
        lines.append(
            f"(5) latency, {latency['config']} at {latency['offered_rate']}/s offered, "
            f"{latency['rate']:,.0f}/s out (n={ms.get('n', 0):.0f}): {shown} ms"
        )
        rss = latency.get("rss_steady_load")
        if rss:
            lines.append(
                f"(6) RSS of {latency['config']} at half load: steady "
                f"{rss['steady_main_mib']:.0f} MiB main, {rss['steady_total_mib']:.0f} MiB with "
                f"helpers; drift {rss['drift_total_mib']:+.1f} MiB over the paced feed"
            )
    for run in result["runs"]:
        if run.get("rss") and roles.get(run["config"]) == "worker":
            rss = run["rss"]
            lines.append(
                f"(6) RSS of {run['config']} ({run['phase']} run): peak "
                f"{rss['peak_main_mib']:.0f} MiB main, {rss['peak_total_mib']:.0f} MiB with "
                f"helpers ({rss['max_processes']} processes); steady "
                f"{rss['steady_main_mib']:.0f} / {rss['steady_total_mib']:.0f} MiB"
            )
    lines += ["", "targets:"]
    for t in result["targets"]:
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[t["met"]]
        lines.append(f"  [{mark}] {t['name']:<46} {t['goal']:<16} {t['shown']}")
    for problem in result.get("problems", []):
        lines.append(f"problem: {problem.splitlines()[0]}")
    return "\n".join(lines)


def dedup_core_lines(dedup: Mapping[str, Any] | None) -> list[str]:
    """The table's lines for the duplicate index alone (``result["dedup"]``)."""
    if not dedup:
        return []
    lines = []
    for item in dedup["index"]:
        label = f"    dedup Index.add, {item['name'].split(' ')[0]}"
        rate = 1e6 / item["us_per_article"] if item["us_per_article"] else None
        lines.append(
            f"{label:<28}{_fmt(rate):>10}{'':>10}{'':>10}{'':>14}  "
            f"{item['us_per_article']} us/article (p99 {item['p99_us']}), "
            f"{item['articles']:,} articles, {item['exact']} exact + {item['near']} near "
            f"copies, buckets mean {item['bucket_entries_mean']} max "
            f"{item['bucket_entries_max']} entries"
        )
    buckets = ", ".join(
        f"{b['entries']}: {b['encode_us']}+{b['decode_us']} us ({b['per_article_us']} x4)"
        for b in dedup["buckets"]
    )
    lines.append(f"    dedup bucket encode+decode by entries (per article, 4 bands): {buckets}")
    for key, windows, label in (
        ("memory", "window_mb", "as stored"),
        ("memory_trimmed", "window_mb_trimmed", "values trimmed"),
    ):
        measured = ", ".join(
            f"{m['articles']:,}: {m['bytes_per_article']:,.0f} B/article "
            f"(model {m.get('model_bytes_per_article', 0):,.0f})"
            for m in dedup.get(key, [])
        )
        window = ", ".join(
            f"{w['per_day']:,}/day {w['mb']:,.0f} MB" for w in dedup.get(windows, [])
        )
        lines.append(f"    dedup memory, {label}: {measured}; 72 h window: {window}")
    return lines
