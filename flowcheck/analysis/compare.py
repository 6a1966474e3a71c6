"""Compare two run folders: verdict changes per (claim, task) and per-layer curve changes.

Pure: reads verdicts.json and the stored results of both runs (no model). It leads with
accuracy per task (a model edit that breaks answering shows first); a claim whose status
differs between the runs is a flip, counted as a change only when a condition that changed
status moved significantly, paired over the samples both runs answered correctly
(``paired.py``); a flip whose statistic did not move is "borderline in both runs" (a
threshold grazed by float-level changes) and fails no gate. Margins are those of one
condition in both runs. A mean knockout curve moved when, at some layer, it
changed by more than ``tolerance`` percentage points *and* more than its 95% interval
(1.96 x the standard error of the difference of the two means). The result leads with a
claims x tasks grid of A -> B (``grid.py``); ``compare_page`` writes it as HTML (with both
runs' pooled curves overlaid) and Markdown (from ``compare_curves``, so each run is read once).
"""
from __future__ import annotations

from pathlib import Path

from ..claims.judge import POOLED


def _load(run_dir: Path, question_ids=None):
    """(meta, verdicts dict, evidence, counts) of a run: as judged and stored, or re-judged
    on ``question_ids`` only (two runs of different sample sets, compared on what both hold)."""
    from ..claims.serialise import verdicts_to_dict
    from ..runs.folder import RunFolder
    from ..runs.stored import load_run
    folder = RunFolder(run_dir)
    if question_ids is None:
        meta, verdicts = folder.meta(), folder.verdicts()
        ev, counts = folder.evidence()
        return meta, verdicts, ev, counts
    run = load_run(run_dir)
    ev, counts = folder.evidence(question_ids=question_ids, lens_variant=run.meta.get("lens_variant"))
    run.counts = counts
    return run.meta, verdicts_to_dict(run.judge(ev)), ev, counts


def comparable_samples(meta_a: dict, meta_b: dict) -> tuple[set | None, dict]:
    """(the sample ids to compare on - None: the runs' own, identical sets - and what was left
    out). Runs of different datasets are not comparable; runs of different samples of one
    dataset are compared on the samples both measured."""
    from ..errors import UsageError
    da, db = meta_a.get("dataset_content"), meta_b.get("dataset_content")
    if da and db and da != db:
        raise UsageError(f"the runs measured different datasets ({meta_a.get('dataset_name')} "
                         f"{da} vs {meta_b.get('dataset_name')} {db}); a difference between them would "
                         "be the data's, not the model's. Compare runs of one dataset")
    ids_a, ids_b = set(meta_a["question_ids"]), set(meta_b["question_ids"])
    if ids_a == ids_b:
        return None, {}
    common = ids_a & ids_b
    if not common:
        raise UsageError(f"the runs share no sample ({len(ids_a)} and {len(ids_b)} samples); compare "
                         "runs of the same samples (same --dataset, --tasks, --max-samples)")
    return common, {"common": len(common), "only_a": len(ids_a - ids_b), "only_b": len(ids_b - ids_a)}


def _mean_curves(ev) -> dict:
    """{(task, flow): (mean, half-width of its 95% interval) per layer} (``plots.mean_ci``)."""
    from ..report.plots import mean_ci
    out = {}
    for task in sorted(set(ev.tasks.tolist())) + [POOLED]:
        for key, rows in ev.select(task).curves.items():
            if key.startswith("lens") or len(rows) == 0:
                continue
            m, half = mean_ci(rows)
            if m is not None:
                out[(task, key)] = (m, half)
    return out


def _accuracy(counts_a: dict, counts_b: dict) -> list[dict]:
    out = []
    for task in sorted(set(counts_a) | set(counts_b)):
        a, b = counts_a.get(task, {}), counts_b.get(task, {})
        ra = a["n_correct"] / a["n"] if a.get("n") else None
        rb = b["n_correct"] / b["n"] if b.get("n") else None
        out.append({"task": task, "a": f"{a.get('n_correct', 0)}/{a.get('n', 0)}",
                    "b": f"{b.get('n_correct', 0)}/{b.get('n', 0)}",
                    "change": None if ra is None or rb is None else round(100 * (rb - ra), 1)})
    return out


def status_flips(a: dict, b: dict) -> list[dict]:
    """The (claim, task) cases whose status differs between two runs' verdicts, each given as
    {(claim, task): (status, margin)}; only cases both runs judged."""
    return [{"claim": claim, "task": task, "a": a[claim, task][0], "b": b[claim, task][0],
             "margin_a": a[claim, task][1], "margin_b": b[claim, task][1]}
            for claim, task in sorted(set(a) & set(b)) if a[claim, task][0] != b[claim, task][0]]


def flip_line(f: dict, number=str) -> str:
    """One changed verdict: '  claim [task]: a -> b (condition margin x -> y; paired ...)'."""
    cond = f"{f['condition']} " if f.get("condition") else ""
    paired = f.get("paired")
    moved = "" if not paired else (f"; paired over {paired['n']} samples: {number(paired['diff'])} "
                                    f"[{number(paired['ci'][0])}, {number(paired['ci'][1])}]")
    return (f"  {f['claim']} [{f['task']}]: {f['a']} -> {f['b']} "
            f"({cond}margin {number(f['margin_a'])} -> {number(f['margin_b'])}{moved})")


def explain_flips(flips: list[dict], va: dict, vb: dict, specs: dict, pair,
                  tolerance: float | None = None) -> list[dict]:
    """Each flip with the condition that decides it (one that changed status, B's deciding one
    first), that condition's margins in both runs, its paired difference and its class
    ('changed' or 'borderline', ``paired.classify``)."""
    from .paired import classify, condition_differences
    out = []
    for f in flips:
        ca = va[f["claim"]]["tasks"][f["task"]].get("conditions") or {}
        cb = vb[f["claim"]]["tasks"][f["task"]].get("conditions") or {}
        moved = [c for c in cb if c in ca and ca[c]["status"] != cb[c]["status"]]
        order = sorted(moved, key=lambda c: cb[c]["margin"] if cb[c]["margin"] is not None else 0)
        diffs = (condition_differences(specs[f["claim"]], *pair, f["task"])
                 if pair is not None and f["claim"] in specs else {})
        name = order[0] if order else None
        entry = {**f, "conditions": moved, "condition": name,
                 "class": classify({**f, "conditions": moved}, diffs, tolerance)}
        if name:
            entry.update(margin_a=ca[name]["margin"], margin_b=cb[name]["margin"])
            if name in diffs:
                entry["paired"] = diffs[name].as_dict(tolerance)
        out.append(entry)
    return out


def compare_runs(run_a: Path, run_b: Path, tolerance: float = 5.0, samples=None,
                 paired_all: bool = False) -> dict:
    """{'accuracy': [...], 'grid': {...}, 'flips': [...], 'curve_changes': [...], ...} between
    run A and B (``samples``: compare on these question ids only, e.g. one draw of a larger
    run; ``paired_all``: the paired difference for every grid cell, not only for flips)."""
    return compare_curves(run_a, run_b, tolerance, samples, paired_all)[0]


def compare_curves(run_a: Path, run_b: Path, tolerance: float = 5.0, samples=None,
                   paired_all: bool = False) -> tuple[dict, tuple]:
    """``compare_runs``'s result and both runs' mean curves (for ``write_compare_html``)."""
    from ..runs.folder import RunFolder
    if not (tolerance >= 0 and tolerance != float("inf")):
        from ..errors import UsageError
        raise UsageError(f"--tolerance must be a finite number >= 0, got {tolerance!r}")
    meta_a, meta_b = RunFolder(run_a).meta(), RunFolder(run_b).meta()
    common, left_out = comparable_samples(meta_a, meta_b)
    if samples is not None:
        common = (set(meta_a["question_ids"]) if common is None else common) & set(samples)
        if not common:
            from ..errors import UsageError
            raise UsageError(f"neither run measured any of the {len(set(samples))} samples asked for")
    meta_a, va, ev_a, counts_a = _load(run_a, common)
    meta_b, vb, ev_b, counts_b = _load(run_b, common)
    changed_claims = sorted(c for c in set(va) & set(vb) if va[c]["version"] != vb[c]["version"])
    same = [c for c in sorted(set(va) & set(vb)) if c not in changed_claims]
    flips = status_flips(*({(c, t): (v["status"], v["margin"]) for c in same
                            for t, v in vs[c]["tasks"].items()} for vs in (va, vb)))
    differences = None
    if flips or paired_all:
        from ..runs.stored import load_run
        from .paired import condition_differences, paired_evidence
        specs = {s.id: s for s in load_run(run_b).specs}
        pair = paired_evidence(run_a, run_b, common)
        flips = explain_flips(flips, va, vb, specs, pair, tolerance)
        if paired_all:
            def differences(claim, task):
                return condition_differences(specs[claim], *pair, task) if claim in specs else {}
    borderline = [f for f in flips if f.get("class") == "borderline"]
    flips = [f for f in flips if f.get("class") != "borderline"]
    from .grid import build_grid
    grid = build_grid(va, vb, flips, borderline, differences)
    changes = []
    ca, cb = _mean_curves(ev_a), _mean_curves(ev_b)
    if meta_a["n_layers"] == meta_b["n_layers"]:
        import numpy as np
        for key in sorted(set(ca) & set(cb)):
            (ma, ha), (mb, hb) = ca[key], cb[key]
            diff, interval = mb - ma, np.sqrt(ha ** 2 + hb ** 2)  # 1.96 x SE of the difference
            beyond = np.abs(diff) - np.maximum(interval, tolerance)  # > 0: moved
            layer = int(beyond.argmax())
            if beyond[layer] > 0:
                changes.append({"task": key[0], "flow": key[1], "layer": layer,
                                "a": round(float(ma[layer]), 2), "b": round(float(mb[layer]), 2),
                                "change": round(float(diff[layer]), 2),
                                "interval": round(float(interval[layer]), 2)})
    return {"run_a": meta_a["model_name"], "run_b": meta_b["model_name"], "tolerance": tolerance,
            "accuracy": _accuracy(counts_a, counts_b), "grid": grid, "flips": flips, "borderline": borderline,
            "curve_changes": changes,
            "only_in_a": sorted(set(va) - set(vb)), "only_in_b": sorted(set(vb) - set(va)),
            "claim_changed": [{"claim": c, "a": va[c]["version"], "b": vb[c]["version"]}
                              for c in changed_claims], "samples": left_out}, (ca, cb)


def changed(result: dict) -> bool:
    """A flip or a curve moved beyond its interval: what fails a CI gate."""
    return bool(result["flips"] or result["curve_changes"])


def curve_line(c: dict) -> str:
    """One moved curve: 'flow [task] layer L: a% -> b% (change; interval)'."""
    return (f"{c['flow']} [{c['task']}] layer {c['layer']}: {c['a']:+.1f}% -> {c['b']:+.1f}% "
            f"({c['change']:+.1f}; interval {c['interval']:.1f})")


def format_comparison(result: dict) -> str:
    lines = [f"A: {result['run_a']}", f"B: {result['run_b']}"]
    s = result.get("samples") or {}
    if s:
        lines.append(f"compared on the {s['common']} samples both runs measured (left out: "
                     f"{s['only_a']} only in A, {s['only_b']} only in B)")
    for side in ("a", "b"):
        if result.get(f"only_in_{side}"):
            lines.append(f"judged in run {side.upper()} only (not compared, the gate says nothing of them): "
                         + ", ".join(result[f"only_in_{side}"]))
    for c in result.get("claim_changed", []):
        lines.append(f"claim changed: {c['claim']} v{c['a']} -> v{c['b']} (its verdicts are not "
                     "compared: a changed claim is no change of the model)")
    lines.append("answered correctly (used):")
    for acc in result.get("accuracy", []):
        change = "" if acc["change"] is None else f" ({acc['change']:+.1f} points)"
        lines.append(f"  {acc['task']:<12} {acc['a']:>8} -> {acc['b']:<8}{change}")
    if result.get("grid"):
        from .grid import format_grid
        lines.append(format_grid(result["grid"]))
    if result["flips"]:
        lines.append(f"{len(result['flips'])} verdict(s) changed (the deciding statistic moved, paired "
                     "over the samples both runs answered):")
        lines += [flip_line(f) for f in result["flips"]]
    else:
        lines.append("no verdict changed")
    if result.get("borderline"):
        lines.append(f"{len(result['borderline'])} borderline in both runs (the verdict flipped but its "
                     "statistic did not move significantly, or by less than the smallest change worth a "
                     "gate; not a change):")
        lines += [flip_line(f) for f in result["borderline"]]
    if result["curve_changes"]:
        lines.append(f"curves that moved more than {result['tolerance']} points and their 95% interval:")
        lines += [f"  {curve_line(c)}" for c in result["curve_changes"]]
    return "\n".join(lines)
