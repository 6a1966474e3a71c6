"""What each claim asks of a plot panel, drawn on it: the layer ranges its conditions read
on that panel's curves (shaded) and, for statistics that compare a curve with a number -
the strongest drop (``min_mean``), the largest effect either way (``max_abs_mean``, drawn at
+/- the threshold) and the lens peak (``lens_peak``, in %) - the threshold as a dashed line
over that range, in the curve's colour. Which panel decides a claim (``panel_of``) is the one
holding the curves of its first condition; the report links each verdict row there.
"""
from __future__ import annotations

from ..claims.statistics import STATISTICS, layer_indices

LINE_STATISTICS = {"min_mean": ("flow", 1.0, False), "max_abs_mean": ("flow", 1.0, True),
                   "lens_peak": ("token", 100.0, False)}  # statistic: (curve arg, y scale, +/-)


def _keys(condition) -> list[str]:
    return STATISTICS[condition.statistic].keys(condition.kwargs())


def range_curves(stat, args: dict, name: str) -> list[str]:
    """The curves a range argument of ``stat`` applies to: ``<flow>_layers`` to that flow
    argument's curve (``early_layers`` -> ``early``); any other range to the curve arguments
    not paired with a range of their own (``layers`` -> ``flow``, ``others``, ``token``)."""
    flow = name[:-len("_layers")]
    if name.endswith("_layers") and flow in stat.schema:
        return stat.arg_keys(flow, args)
    paired = {r[:-len("_layers")] for r in stat.schema if r.endswith("_layers")}
    return [k for arg in stat.schema if arg not in paired for k in stat.arg_keys(arg, args)]


def panel_of(spec, panels: dict[str, tuple]) -> str | None:
    """The stem of the panel (``{stem: keys}``) holding the curves of the spec's first
    condition, or None."""
    for condition in spec.conditions:
        for stem, keys in panels.items():
            if set(_keys(condition)) & set(keys):
                return stem
    return None


def condition_marks(spec, family: str, n_layers: int, panel_keys) -> list[dict]:
    """Marks of ``spec`` on a panel showing ``panel_keys``: {"kind": "range", "layers": (first,
    last)} per layer range a condition on those curves reads, and {"kind": "threshold", "key",
    "y": [values], "layers"} per threshold drawable on them (module doc)."""
    if not spec.applies(family):
        return []
    thresholds, ranges, out = spec.thresholds_for(family), dict(spec.layers), []
    for c in spec.conditions:
        if not set(_keys(c)) & set(panel_keys):
            continue
        base, args = {"claim": spec.id, "condition": c.name}, c.kwargs()
        stat = STATISTICS[c.statistic]
        for arg, kind in stat.schema.items():
            if kind == "range" and set(range_curves(stat, args, arg)) & set(panel_keys):
                idx = layer_indices(ranges[args[arg]], n_layers)
                out.append({**base, "kind": "range", "layers": (int(idx[0]), int(idx[-1])),
                            "every_layer": len(idx) == n_layers})
        if c.statistic in LINE_STATISTICS and c.name in thresholds:
            arg, scale, both = LINE_STATISTICS[c.statistic]
            (key,) = stat.arg_keys(arg, args)
            if key not in panel_keys:
                continue
            idx = layer_indices(ranges[args["layers"]], n_layers)
            y = float(thresholds[c.name]) * scale
            out.append({**base, "kind": "threshold", "key": key, "y": [y, -y] if both and y else [y],
                        "layers": (int(idx[0]), int(idx[-1]))})
    return out


def draw_marks(ax, marks: list[dict], colors: dict) -> None:
    """Shade each distinct layer range once (grey; not one that spans every layer), then draw
    the thresholds (dashed)."""
    for lo, hi in sorted({m["layers"] for m in marks if m["kind"] == "range" and not m.get("every_layer")}):
        ax.axvspan(lo - 0.5, hi + 0.5, color="0.5", alpha=0.08, lw=0, zorder=0)
    for m in marks:
        if m["kind"] == "threshold":
            lo, hi = m["layers"]
            ax.hlines(m["y"], lo - 0.5, hi + 0.5, colors=colors.get(m["key"], "k"), linestyles=(0, (4, 2)),
                      lw=1.2, zorder=3)


def legend_handles() -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    return [Line2D([], [], color="0.3", ls=(0, (4, 2)), label="claim threshold"),
            Patch(color="0.5", alpha=0.2, label="layers a claim reads")]
