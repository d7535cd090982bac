"""The benchmark's PNG: rate per configuration, and the latency distribution at half load.

Only this module needs matplotlib (the ``render`` extra), imported inside :func:`draw`, so
the rest of the harness runs without it. ``python -m benchmarks.chart RESULT.json OUT.png``
draws the chart again from a result file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

COLOURS = {"core": "#4c72b0", "client": "#8c8c8c", "framework": "#dd8452", "worker": "#55a868"}


def bars(result: Mapping[str, Any]) -> list[tuple[str, float, str]]:
    """(label, rate, colour) per bar: the core's measurements, then every rate run."""
    out = [
        (name, float(item["rate"]), COLOURS["core"] if name == "core" else "#b0b0b0")
        for name, item in result["core"].items()
    ]
    seeds = result.get("core_seeds") or {}
    if "core" in seeds:
        out.append(("core (seeds)", float(seeds["core"]["rate"]), COLOURS["core"]))
    roles = {c["name"]: c["role"] for c in result["configurations"]}
    out.extend(
        (run["config"], float(run["rate"]), COLOURS.get(roles.get(run["config"], ""), "#999"))
        for run in result["runs"]
        if run["phase"] == "rate" and run["outputs"]
    )
    return out


def draw(result: Mapping[str, Any], path: Path) -> Path:
    """Write the two-panel chart of ``result`` (the harness's JSON) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), dpi=110)
    items = bars(result)
    labels = [label for label, _, _ in items]
    rates = [rate for _, rate, _ in items]
    shown = left.bar(labels, rates, color=[colour for _, _, colour in items])
    left.bar_label(shown, labels=[f"{r:,.0f}" for r in rates], fontsize=8, padding=2)
    left.set_yscale("log")
    left.set_ylabel("messages (articles) per second, log scale")
    left.set_title("rate per configuration (one run, same workload)")
    left.tick_params(axis="x", labelrotation=30, labelsize=8)
    left.grid(axis="y", alpha=0.3, which="both")

    latency = result.get("latency") or {}
    sample = latency.get("sorted_sample_ms") or []
    if sample:
        n = len(sample)
        share = [100 * (i + 0.5) / n for i in range(n)]
        right.plot(sample, share, color=COLOURS["worker"])
        ms = latency["latency_ms"]
        for key, style in (("p50", ":"), ("p99", "--"), ("p99.9", "-.")):
            if key in ms:
                right.axvline(ms[key], color="#555", linestyle=style, linewidth=1)
                right.annotate(
                    f"{key} {ms[key]:.0f} ms",
                    (ms[key], 5 + 30 * ("p50", "p99", "p99.9").index(key)),
                    fontsize=8,
                    rotation=90,
                    ha="right",
                )
        right.set_xscale("log")
        right.set_xlabel("end-to-end latency, ms (broker append time in to out), log scale")
        right.set_ylabel("% of messages at or below")
        right.set_ylim(0, 100)
        right.grid(alpha=0.3, which="both")
        right.set_title(
            f"latency: {latency['config']} at {latency['offered_rate']}/s (n={ms.get('n', 0):.0f})"
        )
    else:
        right.text(0.5, 0.5, "no latency run", ha="center", va="center")
        right.set_axis_off()
    m = result["machine"]
    fig.suptitle(
        f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB, Python {m['python']}, "
        f"Kafka {m['broker_version']} on the same machine, {m['date'][:10]}, load average "
        f"{m['load_average_at_start'][0]:.1f} (shared machine)",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str]) -> int:
    """``python -m benchmarks.chart RESULT.json OUT.png``."""
    if len(argv) != 2:
        print("usage: python -m benchmarks.chart RESULT.json OUT.png", file=sys.stderr)
        return 2
    draw(orjson.loads(Path(argv[0]).read_bytes()), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
