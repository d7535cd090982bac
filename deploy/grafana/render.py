"""Draw the Grafana dashboard's panels from a real Prometheus into a PNG.

No Grafana runs where the project is tested, so this shows what an operator would see:
each panel's PromQL expressions are run through Prometheus' ``/api/v1/query_range`` over
the last N minutes and drawn with matplotlib, laid out in the dashboard's order, with the
panel titles, the legends (``legendFormat``) and the units of the dashboard.

Usage:
    python deploy/grafana/render.py --prometheus http://127.0.0.1:9090 \\
        --dashboard deploy/grafana/dashboards/article-worker.json \\
        --out docs/dashboard.png --minutes 15 [--require-data]

Needs matplotlib (not a dependency of the worker). Exit status 1 when Prometheus cannot
be queried or, with --require-data, when a panel got no series.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display here
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

#: Grafana unit -> (factor, axis label) for the few units the dashboard uses.
UNITS: dict[str, tuple[float, str]] = {
    "ops": (1.0, "per second"),
    "short": (1.0, ""),
    "bytes": (1.0 / 2**20, "MiB"),
    "s": (1000.0, "ms"),
    "percentunit": (100.0, "% of a core"),
}
#: Points per series: enough for a smooth line, few enough for a quick query.
POINTS = 240


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or refused a query."""


@dataclass
class Series:
    name: str
    times: list[datetime]
    values: list[float]


def query_range(base: str, expr: str, start: float, end: float, step: float) -> list[Any]:
    """The ``result`` of one range query (a list of ``{"metric", "values"}``)."""
    params = urllib.parse.urlencode(
        {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    )
    if urllib.parse.urlsplit(base).scheme not in {"http", "https"}:
        raise PrometheusError(f"not an http(s) URL: {base}")
    url = f"{base.rstrip('/')}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - checked above
            body = json.load(response)
    except urllib.error.HTTPError as exc:  # a bad query: Prometheus says why
        body = json.loads(exc.read() or b"{}")
        raise PrometheusError(f"{expr}: {body.get('error', exc)}") from exc
    except (OSError, ValueError) as exc:
        raise PrometheusError(f"cannot query {base}: {exc}") from exc
    if body.get("status") != "success":
        raise PrometheusError(f"{expr}: {body.get('error', body)}")
    return list(body["data"]["result"])


def legend(fmt: str, labels: dict[str, str], expr: str) -> str:
    """Grafana's ``legendFormat``: ``{{label}}`` replaced by the series' label value."""
    if not fmt:
        return expr if not labels else ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def panel_series(base: str, panel: dict[str, Any], start: float, end: float) -> list[Series]:
    step = max(1.0, math.ceil((end - start) / POINTS))
    found = []
    for target in panel.get("targets", []):
        if target.get("hide"):
            continue
        for result in query_range(base, target["expr"], start, end, step):
            times: list[datetime] = []
            values: list[float] = []
            previous = None
            for t, v in result["values"]:
                # A series that was away (a replica down) is a gap, not a line across.
                if previous is not None and float(t) - previous > 1.5 * step:
                    times.append(datetime.fromtimestamp(previous + step, UTC))
                    values.append(math.nan)
                times.append(datetime.fromtimestamp(float(t), UTC))
                values.append(float(v))  # "NaN" (no rate yet) stays a gap too
                previous = float(t)
            found.append(
                Series(
                    legend(target.get("legendFormat", ""), result["metric"], target["expr"]),
                    times,
                    values,
                )
            )
    return found


def draw(ax: Any, panel: dict[str, Any], series: list[Series], start: float, end: float) -> None:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    factor, label = UNITS.get(unit, (1.0, unit))
    ax.set_title(panel["title"], fontsize=10, loc="left")
    ax.set_xlim(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    if not series:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    for s in sorted(series, key=lambda s: s.name):
        ax.plot(s.times, [v * factor for v in s.values], linewidth=1.2, label=s.name)
    ax.set_ylabel(label, fontsize=8)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))  # type: ignore[no-untyped-call]
    if series:
        # Many series (every dead-letter reason) would hide the lines: a compact legend, in
        # headroom above the highest line (a row of legend per three series).
        rows = math.ceil(len(series) / 3) if len(series) > 4 else len(series)
        ax.set_ylim(0, (ax.get_ylim()[1] or 1.0) * (1.1 + 0.09 * rows))
        ax.legend(fontsize=6, ncol=3 if len(series) > 4 else 1, loc="upper left", frameon=False)


def render(
    base: str, dashboard: dict[str, Any], out: Path, *, minutes: float, end: float, columns: int
) -> dict[str, int]:
    """Draw every panel; return the number of series each panel got, by title."""
    start = end - minutes * 60
    panels = [p for p in dashboard["panels"] if p.get("type") != "row" and p.get("targets")]
    panels.sort(key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3.2 * rows), squeeze=False)
    counts = {}
    for ax, panel in zip(axes.flat, panels, strict=False):
        series = panel_series(base, panel, start, end)
        counts[panel["title"]] = len(series)
        draw(ax, panel, series, start, end)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    stamp = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d %H:%M UTC")
    fig.suptitle(f"{dashboard['title']}: last {minutes:g} min to {stamp}", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--dashboard", required=True, type=Path, help="Grafana dashboard JSON")
    parser.add_argument("--out", required=True, type=Path, help="PNG to write")
    parser.add_argument("--minutes", type=float, default=15, help="time range (default 15)")
    parser.add_argument("--end", type=float, default=None, help="Unix time (default now)")
    parser.add_argument("--columns", type=int, default=3)
    parser.add_argument(
        "--require-data", action="store_true", help="exit 1 when a panel got no series"
    )
    args = parser.parse_args(argv)
    dashboard = json.loads(args.dashboard.read_text())
    try:
        counts = render(
            args.prometheus,
            dashboard,
            args.out,
            minutes=args.minutes,
            end=args.end or time.time(),
            columns=args.columns,
        )
    except PrometheusError as exc:
        sys.stderr.write(f"render: {exc}\n")
        return 1
    for title, count in counts.items():
        sys.stdout.write(f"{count:3d} series  {title}\n")
    empty = [title for title, count in counts.items() if not count]
    sys.stdout.write(f"wrote {args.out} ({args.out.stat().st_size} bytes, {len(counts)} panels)\n")
    if empty and args.require_data:
        sys.stderr.write(f"render: no data for {', '.join(empty)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
