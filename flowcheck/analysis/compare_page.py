"""``flowcheck compare`` as a page: the claims x tasks grid first (``grid.py``), then accuracy,
the changed and borderline verdicts, the moved curves and each flow's pooled mean curve of both
runs overlaid (HTML: A solid, B dashed, 95% bands), or the same without plots as Markdown."""
from __future__ import annotations

import html
from pathlib import Path

from ..claims.judge import POOLED
from .compare import curve_line, flip_line
from .grid import GRID_CSS, grid_html, grid_markdown


def _points(change) -> str:
    return "" if change is None else f"{change:+.1f}"


def _overlays(result: dict, curves: tuple) -> list[str]:
    """One embedded PNG per flow: both runs' pooled mean curves with 95% bands."""
    import base64
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    ca, cb = curves
    flows = sorted({k for t, k in ca if t == POOLED} & {k for t, k in cb if t == POOLED})
    figs = []
    for flow in flows:
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        for (m, half), style, name in ((ca[(POOLED, flow)], "-", result["run_a"]),
                                       (cb[(POOLED, flow)], "--", result["run_b"])):
            x = np.arange(len(m))
            ax.plot(x, m, style, label=f"{name}")
            ax.fill_between(x, m - half, m + half, alpha=0.2)
        ax.axhline(0, color="k", lw=0.5)
        ax.set(title=f"{flow} (pooled)", xlabel="window centre (layer)", ylabel="change in p(answer) %")
        ax.legend(fontsize=8)
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        figs.append(f'<img alt="{html.escape(flow)}" src="data:image/png;base64,'
                    f'{base64.b64encode(buf.getvalue()).decode()}">')
    return figs


def write_compare_html(result: dict, curves: tuple, out: Path) -> Path:
    """One self-contained page (module doc)."""
    e = html.escape
    rows = "".join(f"<tr><td>{e(a['task'])}</td><td>{a['a']}</td><td>{a['b']}</td>"
                   f"<td>{_points(a['change'])}</td></tr>" for a in result["accuracy"])
    flips = "".join(f"<li>{e(flip_line(f).strip())}</li>" for f in result["flips"])
    borderline = "".join(f"<li>{e(flip_line(f).strip())}</li>" for f in result.get("borderline", []))
    moved = "".join(f"<li>{e(curve_line(c))}</li>" for c in result["curve_changes"])
    grid = grid_html(result.get("grid") or {"cells": []})
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>flowcheck compare</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto}"
            "td,th{border:1px solid #ccc;padding:3px 8px}table{border-collapse:collapse}"
            f"img{{margin:.5em;border:1px solid #eee}}{GRID_CSS}</style></head><body>"
            f"<h1>flowcheck compare</h1><p>A: {e(result['run_a'])} &nbsp; B: {e(result['run_b'])}</p>"
            f"<h2>Verdicts, A &rarr; B</h2>{grid}"
            f"<h2>Answered correctly</h2><table><tr><th>task</th><th>A</th><th>B</th><th>change (points)"
            f"</th></tr>{rows}</table>"
            f"<h2>Verdicts that changed ({len(result['flips'])})</h2><ul>{flips or '<li>none</li>'}</ul>"
            f"<h2>Borderline in both runs ({len(result.get('borderline', []))}): flipped, statistic not "
            f"moved (not a change)</h2><ul>{borderline or '<li>none</li>'}</ul>"
            f"<h2>Curves that moved beyond their interval ({len(result['curve_changes'])})</h2>"
            f"<ul>{moved or '<li>none</li>'}</ul><h2>Curves, pooled over tasks</h2>"
            f"{''.join(_overlays(result, curves))}</body></html>\n")
    out = Path(out)
    out.write_text(page)
    return out


def write_compare_markdown(result: dict, out: Path) -> Path:
    """The grid, accuracy and the lists as Markdown (no plots)."""
    lines = [f"# flowcheck compare: {result['run_a']} (A) vs {result['run_b']} (B)", "",
             "## Verdicts, A → B", "", grid_markdown(result.get("grid") or {"cells": []}), "",
             "## Answered correctly", "", "| task | A | B | change (points) |", "|---|---|---|---|"]
    lines += [f"| {a['task']} | {a['a']} | {a['b']} | {_points(a['change'])} |" for a in result["accuracy"]]
    for title, items in ((f"Verdicts that changed ({len(result['flips'])})", result["flips"]),
                         (f"Borderline in both runs ({len(result.get('borderline', []))})",
                          result.get("borderline", []))):
        lines += ["", f"## {title}", ""] + ([f"- {flip_line(f).strip()}" for f in items] or ["- none"])
    lines += ["", f"## Curves that moved beyond their interval ({len(result['curve_changes'])})", ""]
    lines += [f"- {curve_line(c)}" for c in result["curve_changes"]] or ["- none"]
    out = Path(out)
    out.write_text("\n".join(lines) + "\n")
    return out
