"""A checkpoint timeline: how each claim's statistics move across a series of runs.

From stored run folders only (verdicts.json, run.json, results.jsonl; no model), in the order
given: per claim and condition, the pooled statistic with its 95% interval and threshold in
every run, the condition's status per point, the claim's pooled and per-task verdicts, and
accuracy per task. ``write_trend`` draws one PNG per claim (a panel per condition: points
with interval bars, the threshold as a dashed line, the side that meets it shaded, status by
marker and colour) and one for accuracy, and puts them on one HTML page with trend.json.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from ..claims.judge import POOLED
from ..errors import NotFoundError
from ..runs.folder import RunFolder

TREND_JSON, TREND_HTML = "trend.json", "trend.html"
STYLE = {  # status: (marker, colour, filled): differ in shape as well as colour
    "holds": ("o", "#1a7837", True), "uncertain": ("D", "#e08214", False),
    "fails": ("X", "#b2182b", True), "inconclusive": ("s", "#777777", False),
    "not applicable": ("s", "#bbbbbb", False)}


def build_trend(runs: dict[str, Path]) -> dict:
    """{"runs": [labels], "accuracy": {task: [fraction or None per run]}, "claims": {claim:
    {"verdicts": {task: [status per run]}, "conditions": {name: [point per run]}}}}; a point
    is {observed, ci, threshold, op, status, version, n (samples judged)} or None where the run
    lacks it."""
    labels = list(runs)
    claims: dict[str, dict] = {}
    accuracy: dict[str, list] = {}
    for i, (label, run_dir) in enumerate(runs.items()):
        folder = RunFolder(run_dir)
        try:
            verdicts = folder.verdicts()
            _, counts = folder.evidence()
        except NotFoundError as e:
            raise NotFoundError(f"{label}: {e}") from None
        for task, c in counts.items():
            accuracy.setdefault(task, [None] * len(labels))[i] = (
                round(c["n_correct"] / c["n"], 4) if c.get("n") else None)
        for claim, v in verdicts.items():
            entry = claims.setdefault(claim, {"verdicts": {}, "conditions": {}})
            for task, verdict in v["tasks"].items():
                entry["verdicts"].setdefault(task, [None] * len(labels))[i] = verdict["status"]
            pooled = v["tasks"].get(POOLED) or {}
            for name, c in (pooled.get("conditions") or {}).items():
                entry["conditions"].setdefault(name, [None] * len(labels))[i] = {
                    "statistic": c["statistic"], "observed": c["observed"], "ci": c["ci95"],
                    "threshold": c["threshold"], "op": c["op"], "status": c["status"],
                    "version": v["version"], "n": pooled.get("n")}
    return {"runs": labels, "accuracy": dict(sorted(accuracy.items())),
            "claims": dict(sorted(claims.items()))}


def format_trend(trend: dict) -> str:
    """Pooled verdict per claim across the runs, for the terminal."""
    width = max([len(c) for c in trend["claims"]] + [5])
    cols = [max(len(r), 9) for r in trend["runs"]]
    lines = [" " * (width + 2) + " ".join(r.ljust(w) for r, w in zip(trend["runs"], cols))]
    for claim, entry in trend["claims"].items():
        statuses = entry["verdicts"].get(POOLED) or [None] * len(cols)
        cells = " ".join((s or "-").ljust(w) for s, w in zip(statuses, cols))
        lines.append(f"  {claim.ljust(width)} {cells}")
    return "\n".join(line.rstrip() for line in lines)


def _figure(n_panels: int, n_runs: int):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(1, max(n_panels, 1), figsize=((0.4 * n_runs + 3.0) * max(n_panels, 1), 3.4),
                        squeeze=False)


def _xticks(ax, labels: list[str]) -> None:
    slanted = len(labels) > 4
    ax.set_xticks(range(len(labels)), labels, rotation=45 if slanted else 0,
                  ha="right" if slanted else "center", fontsize=8)


def _png(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _panel(ax, name: str, points: list) -> None:
    """One condition across the runs: the side of the threshold that meets it shaded, the
    threshold dashed, each run's statistic with its 95% interval, marked by its status; where
    the claim's version changes between runs the line breaks at a dotted mark."""
    have = [i for i, p in enumerate(points) if p is not None and p["observed"] is not None]
    if not have:
        ax.set_title(f"{name}: not judged", fontsize=9)
        return
    obs = [points[i]["observed"] for i in have]
    thr = [points[i]["threshold"] for i in have]
    values = obs + thr + [b for i in have for b in points[i]["ci"]]
    pad = 0.1 * ((max(values) - min(values)) or 1.0)
    lo, hi = min(values) - pad, max(values) + pad
    below = points[have[-1]]["op"] in ("<=", "<")  # the claim holds below the threshold
    ax.fill_between(have, [lo] * len(have) if below else thr, thr if below else [hi] * len(have),
                    color="#1a7837", alpha=0.08, lw=0)
    ax.plot(have, thr, "--", color="k", lw=1)
    segments = [[have[0]]]  # runs judged under one claim version are joined; a new version
    for prev, i in zip(have, have[1:]):  # starts a new line, marked where it starts
        if points[i]["version"] != points[prev]["version"]:
            segments.append([])
            ax.axvline(i - 0.5, ls=":", color="0.4", lw=1)
            ax.text(i - 0.45, hi - pad / 2, f"claim v{points[i]['version']}", fontsize=7, va="top")
        segments[-1].append(i)
    for seg in segments:
        ax.plot(seg, [points[i]["observed"] for i in seg], "-", color="#555", lw=0.8)
    for i in have:
        p = points[i]
        marker, colour, filled = STYLE.get(p["status"], STYLE["inconclusive"])
        ax.errorbar(i, p["observed"], yerr=[[p["observed"] - p["ci"][0]], [p["ci"][1] - p["observed"]]],
                    fmt=marker, color=colour, mfc=colour if filled else "white", ms=7, capsize=3)
    ax.set_ylim(lo, hi)
    last = points[have[-1]]
    ax.set_title(f"{name} ({last['statistic']} {last['op']} {last['threshold']:g})", fontsize=9)


def plot_claim(claim: str, entry: dict, labels: list[str], path: Path) -> Path:
    """One panel per condition (``_panel``), the runs along x in the order given."""
    from matplotlib.lines import Line2D
    names = list(entry["conditions"])
    fig, axes = _figure(len(names), len(labels))
    for ax, name in zip(axes[0], names):
        points = entry["conditions"][name]
        _panel(ax, name, points)
        _xticks(ax, [f"{label}\nn={p['n']}" if p and p.get("n") is not None else label
                     for label, p in zip(labels, points)])
    handles = [Line2D([], [], marker=m, color=c, mfc=c if f else "white", ls="", label=s)
               for s, (m, c, f) in STYLE.items() if s in ("holds", "uncertain", "fails")]
    handles.append(Line2D([], [], ls="--", color="k", label="threshold (shaded: meets it)"))
    axes[0][-1].legend(handles=handles, fontsize=7, loc="best")
    fig.suptitle(f"{claim} (pooled over tasks; 95% intervals)", fontsize=10)
    return _png(fig, path)


def plot_accuracy(trend: dict, path: Path) -> Path:
    labels = trend["runs"]
    fig, axes = _figure(1, len(labels))
    ax = axes[0][0]
    for j, (task, values) in enumerate(trend["accuracy"].items()):
        keep = [i for i, v in enumerate(values) if v is not None]
        ax.plot(keep, [100 * values[i] for i in keep], marker="os^vD<>p"[j % 8], label=task)
    ax.set(ylabel="answered correctly (%)", ylim=(0, 102), title="accuracy per task")
    _xticks(ax, labels)
    ax.legend(fontsize=7, ncol=2)
    return _png(fig, path)


def write_trend(runs: dict[str, Path], out: Path) -> dict:
    """trend.json, trend_<claim>.png per claim, accuracy.png and trend.html under ``out``."""
    import base64
    trend = build_trend(runs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / TREND_JSON).write_text(json.dumps(trend, indent=1, sort_keys=True) + "\n")
    e = html.escape

    def img(path: Path) -> str:
        return (f"<img alt='{e(path.stem)}' src='data:image/png;base64,"
                f"{base64.b64encode(path.read_bytes()).decode()}'>")
    head = "".join(f"<th>{e(r)}</th>" for r in trend["runs"])
    overview = "".join(
        f"<tr><th><a href='#{e(claim)}'>{e(claim)}</a></th>" + "".join(
            f"<td class='{e((s or 'none').replace(' ', '-'))}'>{e(s or '-')}</td>"
            for s in entry["verdicts"].get(POOLED) or [None] * len(trend["runs"])) + "</tr>"
        for claim, entry in trend["claims"].items())
    sections = [f"<h2>Pooled verdicts</h2><table><tr><th>claim</th>{head}</tr>{overview}</table>",
                f"<h2>Accuracy</h2>{img(plot_accuracy(trend, out / 'accuracy.png'))}"]
    for claim, entry in trend["claims"].items():
        png = plot_claim(claim, entry, trend["runs"], out / f"trend_{claim}.png")
        rows = "".join(f"<tr><th>{e(task)}</th>" + "".join(
            f"<td class='{e((s or 'none').replace(' ', '-'))}'>{e(s or '-')}</td>" for s in statuses)
            + "</tr>" for task, statuses in sorted(entry["verdicts"].items(), key=lambda kv: kv[0] == POOLED))
        sections.append(f"<h2 id='{e(claim)}'>{e(claim)}</h2>{img(png)}"
                        f"<table><tr><th>task</th>{head}</tr>{rows}</table>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>flowcheck trend</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:.5em 0 2em}"
            "td,th{border:1px solid #ccc;padding:2px 6px;font-size:85%}"
            ".holds{background:#d9f0d3}.fails{background:#6b0f1a;color:#fff}.uncertain{background:"
            "repeating-linear-gradient(45deg,#fff 0 5px,#f6c28b 5px 7px)}.inconclusive{background:#ddd}"
            "</style></head><body>"
            f"<h1>flowcheck trend</h1><p>{len(trend['runs'])} runs, in the order given: "
            f"{e(' → '.join(trend['runs']))}</p>{''.join(sections)}</body></html>\n")
    (out / TREND_HTML).write_text(page)
    return trend
