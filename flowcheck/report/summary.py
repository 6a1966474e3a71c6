"""Markdown summary of a run: pooled verdicts, per-task verdict matrix, sample counts."""
from __future__ import annotations

from ..claims.judge import POOLED

MARK = {"holds": "holds", "fails": "FAILS", "inconclusive": "INCONCLUSIVE"}


def mark(v) -> str:
    """The verdict word, flagged when float noise alone could flip it."""
    return MARK[v.status] + (" (within float noise)" if v.within_noise else "")


def _num(x, fmt="{:+.3g}") -> str:
    return "-" if x is None else fmt.format(x)


def binding_condition(v) -> str:
    if not v.conditions:
        return v.reason or "-"
    c = min(v.conditions, key=lambda c: c.margin)
    return f"{c.name} ({c.statistic} {c.op} {c.threshold:g})"


def render_summary(meta: dict, verdicts, counts: dict) -> str:
    tasks = sorted({v.task for v in verdicts if v.task != POOLED})
    pooled = [v for v in verdicts if v.task == POOLED]
    lines = [f"# flowcheck report: {meta.get('model_name', meta.get('model'))}", "",
             f"- model family: `{meta.get('family')}`; layers: {meta.get('n_layers')}; "
             f"window k: {meta.get('k')}; engine: {meta.get('engine')}; lens: {meta.get('lens_variant')}",
             f"- dataset: `{meta.get('dataset_name', meta.get('dataset'))}`; samples: "
             f"{sum(c['n'] for c in counts.values())}, answered correctly (used): "
             f"{sum(c['n_correct'] for c in counts.values())}",
             f"- result: {sum(v.passed for v in pooled)}/{len(pooled)} claims hold (pooled over tasks)",
             "", "## Verdicts, pooled over task types", "",
             "| claim | verdict | binding condition | observed | margin | 95% CI | n |",
             "|---|---|---|---|---|---|---|"]
    for v in pooled:
        ci = "-" if v.ci is None else f"[{v.ci[0]:.3g}, {v.ci[1]:.3g}]"
        lines.append(f"| {v.claim} | {mark(v)} | {binding_condition(v)} | {_num(v.observed)} "
                     f"| {_num(v.margin)} | {ci} | {v.n} |")
    lines += ["", "## Verdict per task type (margin of the binding condition)", "",
              "| claim | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    by = {(v.claim, v.task): v for v in verdicts}
    for claim in dict.fromkeys(v.claim for v in verdicts):
        cells = []
        for t in tasks:
            v = by.get((claim, t))
            cells.append("-" if v is None else f"{mark(v)} ({_num(v.margin)})"
                         if v.margin is not None else mark(v))
        lines.append(f"| {claim} | " + " | ".join(cells) + " |")
    lines += ["", "## Samples", "", "| task | samples | answered correctly |", "|---|---|---|"]
    for t, c in sorted(counts.items()):
        lines.append(f"| {t} | {c['n']} | {c['n_correct']} |")
    lines += ["", "Margins are signed: positive = the condition holds by that much, negative = it "
              "fails by that much (percent for knockout drops, probability for the lens, depth "
              "fraction for layer positions). A claim holds when all its conditions hold; "
              "inconclusive (no usable sample or region) counts as a failure. \"Within float "
              "noise\": float noise of the size measured between runs that should agree "
              "(threads, attention kernel, engine, machine) could flip that verdict.", ""]
    return "\n".join(lines)
