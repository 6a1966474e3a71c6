"""The compare grid: claims x tasks, each cell run A's verdict -> run B's with its change class.

A cell's class says what the gate makes of it (``compare.explain_flips`` and
``paired.classify`` decide flips): ``newly failing`` (a counted change to a weaker status:
holds -> uncertain -> fails), ``newly holding`` (a counted change to a stronger one),
``borderline in both`` (the status flipped, its statistic did not move: no change),
``unchanged`` (same status) and ``not in both`` (judged in one run only, or under another
claim version). The deciding condition's statistic A -> B comes with it and, where the
paired evidence was computed, its paired difference B - A and 95% interval. Rendered three
ways: compact text for the terminal, Markdown, and an HTML table whose colours and symbols
survive grey-scale printing (dark, light, hatched, white).
"""
from __future__ import annotations

import html

RANK = {"holds": 2, "uncertain": 1, "fails": 0}
CLASSES = {  # class: (symbol, text symbol, HTML style)
    "newly failing": ("▼", "v", "background:#6b0f1a;color:#fff;font-weight:bold"),
    "newly holding": ("▲", "^", "background:#9fd49f;color:#000"),
    "borderline in both": ("≈", "~", "background:repeating-linear-gradient(45deg,#fff 0 5px,#bbb 5px 7px);"
                                      "color:#000"),
    "unchanged": ("=", "=", "background:#fff;color:#444"),
    "other change": ("≠", "!", "background:#777;color:#fff"),
    "not in both": ("–", ".", "background:#eee;color:#999"),
}
LETTER = {"holds": "H", "uncertain": "U", "fails": "F", "inconclusive": "I", "not applicable": "N"}


def cell_class(a: str | None, b: str | None, flip_class: str | None = None) -> str:
    """The class of one cell from its statuses and, for a flip, the gate's 'changed' or
    'borderline' (module doc)."""
    if a is None or b is None:
        return "not in both"
    if a == b:
        return "unchanged"
    if flip_class == "borderline":
        return "borderline in both"
    if a in RANK and b in RANK:
        return "newly failing" if RANK[b] < RANK[a] else "newly holding"
    return "other change"


def _deciding(verdict: dict) -> str | None:
    from ..claims.judge import deciding
    conditions = verdict.get("conditions") or {}
    return deciding({n: (c["status"], c["margin"] if c["margin"] is not None else 0.0)
                     for n, c in conditions.items()}, verdict["status"])


def build_grid(va: dict, vb: dict, flips: list[dict], borderline: list[dict], differences=None) -> dict:
    """{"claims", "tasks", "cells"}: one cell per (claim, task) either run judged.
    ``differences(claim, task) -> {condition: PairedDifference}`` fills the paired difference
    of cells that are not flips (flips carry theirs)."""
    from ..claims.names import POOLED
    explained = {(f["claim"], f["task"]): (f, "changed") for f in flips}
    explained |= {(f["claim"], f["task"]): (f, "borderline") for f in borderline}
    claims = sorted(set(va) | set(vb))
    tasks = sorted({t for vs in (va, vb) for c in vs.values() for t in c["tasks"]} - {POOLED})
    tasks += [POOLED]
    cells = []
    for claim in claims:
        same = claim in va and claim in vb and va[claim]["version"] == vb[claim]["version"]
        for task in tasks:
            a = va.get(claim, {}).get("tasks", {}).get(task) if same else None
            b = vb.get(claim, {}).get("tasks", {}).get(task) if same else None
            if a is None and b is None and not (claim in va and task in va[claim]["tasks"]) \
                    and not (claim in vb and task in vb[claim]["tasks"]):
                continue
            flip, how = explained.get((claim, task), (None, None))
            cell = {"claim": claim, "task": task, "a": a and a["status"], "b": b and b["status"],
                    "class": cell_class(a and a["status"], b and b["status"], how)}
            if a and b:
                name = (flip or {}).get("condition") or _deciding(b)
                if name and name in a["conditions"] and name in b["conditions"]:
                    ca, cb = a["conditions"][name], b["conditions"][name]
                    cell.update(condition=name, statistic=cb["statistic"], observed_a=ca["observed"],
                                observed_b=cb["observed"], threshold=cb["threshold"], op=cb["op"])
                    paired = (flip or {}).get("paired")
                    if paired is None and differences is not None:
                        d = differences(claim, task).get(name)
                        paired = d.as_dict() if d is not None else None
                    if paired:
                        cell["paired"] = paired
            cells.append(cell)
    return {"claims": claims, "tasks": tasks, "cells": cells}


def _num(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def cell_detail(cell: dict) -> str:
    """'condition (statistic <op> threshold): A -> B; paired B - A d [lo, hi] over n'."""
    if "condition" not in cell:
        return ""
    p = cell.get("paired")
    paired = (f"; paired B - A {p['diff']:+.4g} [{p['ci'][0]:+.4g}, {p['ci'][1]:+.4g}] over {p['n']}"
              if p else "")
    return (f"{cell['condition']} ({cell['statistic']} {cell['op']} {_num(cell['threshold'])}): "
            f"{_num(cell['observed_a'])} -> {_num(cell['observed_b'])}{paired}")


def _counts(grid: dict) -> str:
    n = {c: sum(cell["class"] == c for cell in grid["cells"]) for c in CLASSES}
    return ", ".join(f"{v} {k}" for k, v in n.items() if v)


def _rows(grid: dict):
    """(claim, [its cell or None per task]) in the grid's order: what every rendering walks."""
    at = {(c["claim"], c["task"]): c for c in grid["cells"]}
    for claim in grid["claims"]:
        yield claim, [at.get((claim, task)) for task in grid["tasks"]]


def format_grid(grid: dict) -> str:
    """The grid for a terminal: one row per claim, a column per task, 'H>F v' per cell."""
    if not grid["cells"]:
        return "no verdict in both runs"
    width = max(len(c) for c in grid["claims"])
    cols = [max(len(t), 5) for t in grid["tasks"]]
    lines = [f"verdicts A -> B ({_counts(grid)}; v newly failing, ^ newly holding, ~ borderline in both, "
             "= unchanged, ! other change, . not in both; H holds, U uncertain, F fails, "
             "I inconclusive, N not applicable):",
             (" " * (width + 2) + " ".join(t.ljust(w) for t, w in zip(grid["tasks"], cols))).rstrip()]
    for claim, cells in _rows(grid):
        row = []
        for c, w in zip(cells, cols):
            if c is None:
                text = ""
            elif c["a"] == c["b"] and c["a"] is not None:
                text = f"{LETTER.get(c['a'], '?')} {CLASSES[c['class']][1]}"
            else:
                text = (f"{LETTER.get(c['a'], '-')}>{LETTER.get(c['b'], '-')} "
                        f"{CLASSES[c['class']][1]}")
            row.append(text.ljust(w))
        lines.append(f"  {claim.ljust(width)} " + " ".join(row).rstrip())
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "/")  # a pipe would end the table cell


def grid_markdown(grid: dict) -> str:
    """The grid as a Markdown table (symbol, A -> B, and the deciding statistic per cell)."""
    if not grid["cells"]:
        return "No verdict in both runs.\n"
    out = [f"Verdicts A → B ({_counts(grid)}). " + ", ".join(f"{v[0]} {k}" for k, v in CLASSES.items()),
           "", "| claim | " + " | ".join(_md(t) for t in grid["tasks"]) + " |",
           "|---|" + "---|" * len(grid["tasks"])]
    for claim, row in _rows(grid):
        cells = []
        for c in row:
            if c is None:
                cells.append("")
                continue
            text = f"{CLASSES[c['class']][0]} {c['a'] or '–'} → {c['b'] or '–'}"
            if c["class"] in ("newly failing", "newly holding"):
                text = f"**{text}**"
            detail = cell_detail(c)
            cells.append(text + (f"<br><sub>{_md(detail)}</sub>" if detail else ""))
        out.append(f"| {_md(claim)} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def grid_html(grid: dict) -> str:
    """The grid as an HTML table: class colours and symbols, the detail below each cell and
    on hover."""
    e = html.escape
    if not grid["cells"]:
        return "<p>No verdict in both runs.</p>"
    legend = " ".join(f"<span class='cell' style='{style};padding:2px 6px'>{sym} {e(k)}</span>"
                      for k, (sym, _, style) in CLASSES.items())
    head = "".join(f"<th>{e(t)}</th>" for t in grid["tasks"])
    rows = []
    for claim, cells in _rows(grid):
        tds = []
        for c in cells:
            if c is None:
                tds.append("<td></td>")
                continue
            sym, _, style = CLASSES[c["class"]]
            detail = cell_detail(c)
            tds.append(f"<td class='cell' style='{style}' title='{e(c['class'])}: {e(detail)}'>"
                       f"{sym} {e(c['a'] or '–')} &rarr; {e(c['b'] or '–')}"
                       f"<div class='detail'>{e(detail)}</div></td>")
        rows.append(f"<tr><th class='claim'>{e(claim)}</th>{''.join(tds)}</tr>")
    return (f"<p class='legend'>{legend}</p><p>{e(_counts(grid))}</p>"
            f"<table class='grid'><tr><th>claim</th>{head}</tr>{''.join(rows)}</table>")


GRID_CSS = (".grid td{min-width:7em;vertical-align:top;font-size:90%}.grid .detail{font-size:75%;"
            "margin-top:2px;opacity:.9}.grid th.claim{text-align:left}.legend .cell{border:1px solid #999}")
