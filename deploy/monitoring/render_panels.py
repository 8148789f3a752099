"""Render dashboard panels from a Prometheus's HTTP API to a PNG, for a report or a review without Grafana.

    uv run python deploy/monitoring/render_panels.py --prometheus http://127.0.0.1:9090 \
        --panel "Consumer lag by group and partition" --panel "Requests by route" --out panels.png
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

DASHBOARD = Path(__file__).parent / "grafana" / "dashboards" / "mosaic-platform.json"


def panel_targets(title: str, dashboard: Path = DASHBOARD) -> list[dict[str, str]]:
    """The queries (expr, legendFormat) of the dashboard panel with this title."""
    panels = json.loads(dashboard.read_text())["panels"]
    matches = [p for p in panels if p["title"] == title]
    if not matches:
        raise SystemExit(f"no panel titled {title!r}; panels: {[p['title'] for p in panels]}")
    return matches[0]["targets"]


def query_range(prometheus: str, expr: str, seconds: float, step: float) -> list[dict]:
    """One range query over the last `seconds`; the API's result list (one entry per series)."""
    end = time.time()
    response = httpx.get(
        f"{prometheus}/api/v1/query_range",
        params={"query": expr, "start": end - seconds, "end": end, "step": step},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["data"]["result"]


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legendFormat: {{label}} replaced by the series' label value."""
    for name, value in labels.items():
        template = template.replace("{{" + name + "}}", value)
    return template


def render(prometheus: str, titles: list[str], out: Path, seconds: float = 600, step: float = 2) -> int:
    """Draw each panel's series on its own axes; returns how many series were drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(titles), 1, figsize=(13, 3.8 * len(titles)), squeeze=False)
    drawn = 0
    for ax, title in zip(axes[:, 0], titles, strict=True):
        flat = 0
        for target in panel_targets(title):
            for series in query_range(prometheus, target["expr"], seconds, step):
                times = [datetime.fromtimestamp(float(t), UTC) for t, _ in series["values"]]
                values = [float(v) for _, v in series["values"]]
                drawn += 1
                if not any(values):  # a flat zero line per idle route hides the ones that move
                    flat += 1
                    continue
                ax.plot(times, values, label=legend(target.get("legendFormat", ""), series["metric"]))
        ax.set_title(title + (f"  ({flat} series at 0 not drawn)" if flat else ""))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--panel", action="append", required=True, help="a panel title (repeat for more)")
    parser.add_argument("--out", type=Path, default=Path("panels.png"))
    parser.add_argument("--seconds", type=float, default=600, help="how far back to draw")
    args = parser.parse_args()
    print(f"{render(args.prometheus, args.panel, args.out, args.seconds)} series drawn to {args.out}")


if __name__ == "__main__":
    main()
