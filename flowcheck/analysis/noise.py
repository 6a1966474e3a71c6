"""Float noise: how far two runs that should agree are apart, and what noise can do to a verdict.

Two runs of one model on one dataset differ only by float noise when they differ in thread
count, attention kernel (eager vs sdpa), engine (fast vs exact) or machine. ``differences``
compares them number by number: the stored per-sample numbers (relative change of p(answer)
in percentage points, lens probabilities, p_base), the correctness filter, and the
unrounded verdict numbers. ``perturb`` adds noise of a given size to a run's evidence, so a
test can re-judge it and show that no snapshot can change from noise alone.

The bounds the snapshot tolerance is built on (``NOISE_PP``, ``NOISE_LENS``) are the
largest differences measured with ``make noise`` on the three shipped models (docs/trust.md:
"Snapshots and float noise"), rounded up.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..claims.noise import NOISE_LENS, NOISE_PP

_VERDICT_NUMBERS = ("observed", "margin", "ci_lo", "ci_hi")


def _max_abs(pairs) -> tuple[float, object]:
    """(largest |a - b|, where) over (where, a, b) triples; NaN on both sides is equal."""
    best, at = 0.0, None
    for where, a, b in pairs:
        if a is None or b is None:
            if (a is None) != (b is None):
                return math.inf, where
            continue
        if math.isnan(a) and math.isnan(b):
            continue
        d = abs(a - b)
        if math.isnan(d) or d > best:
            best, at = (math.inf if math.isnan(d) else d), where
    return best, at


def _stored_pairs(rows_a: dict, rows_b: dict):
    """Per-sample numbers of the samples answered correctly in both runs."""
    changes, lens, p_base = [], [], []
    for q in sorted(set(rows_a) & set(rows_b)):
        a, b = rows_a[q], rows_b[q]
        if not (a["correct"] and b["correct"]):
            continue
        p_base.append((q, a["p_base"], b["p_base"]))
        for flow in sorted(set(a["changes"]) & set(b["changes"])):
            ca, cb = a["changes"][flow], b["changes"][flow]
            if ca is None or cb is None:
                changes.append(((q, flow), ca, cb))
                continue
            changes.extend(((q, flow, layer), x, y) for layer, (x, y) in enumerate(zip(ca, cb)))
        for variant in sorted(set(a["lens"]) & set(b["lens"])):
            for token in ("lower", "capitalised"):
                la, lb = a["lens"][variant][token], b["lens"][variant][token]
                lens.extend(((q, variant, token, layer), x, y)
                            for layer, (x, y) in enumerate(zip(la, lb)))
    return changes, lens, p_base


def _verdict_numbers(v) -> dict:
    """{(condition or '', field): value} of one verdict, unrounded."""
    out = {}
    for c in v.conditions:
        for f, x in zip(_VERDICT_NUMBERS, (c.observed, c.margin, *c.ci)):
            out[(c.name, f)] = x
    return out


def verdict_differences(verdicts_a, verdicts_b) -> dict:
    """Largest difference of any verdict number, status flips, binding and n changes."""
    va = {(v.claim, v.task): v for v in verdicts_a}
    vb = {(v.claim, v.task): v for v in verdicts_b}
    from .compare import status_flips
    flips = status_flips(*({k: (v.status, v.margin) for k, v in vs.items()} for vs in (va, vb)))
    pairs, binding, n_changed = [], [], []
    for key in sorted(set(va) & set(vb)):
        a, b = va[key], vb[key]
        if a.n != b.n:
            n_changed.append({"claim": key[0], "task": key[1], "a": a.n, "b": b.n})
        na, nb = _verdict_numbers(a), _verdict_numbers(b)
        if a.conditions and b.conditions:
            ba, bb = a.binding.name, b.binding.name
            if ba != bb:
                binding.append({"claim": key[0], "task": key[1], "a": ba, "b": bb})
        pairs.extend(((*key, *k), na[k], nb.get(k)) for k in na)
    worst, at = _max_abs(pairs)
    return {"max_abs": worst, "at": list(at) if at else None, "flips": flips,
            "binding_changed": binding, "n_changed": n_changed}


def differences(run_a: Path, run_b: Path) -> dict:
    """Number-by-number differences between two run folders of one model and dataset."""
    from ..runs.stored import load_run

    a, b = load_run(run_a), load_run(run_b)
    rows = [a.rows, b.rows]
    common = sorted(set(rows[0]) & set(rows[1]))
    correct_flips = [q for q in common if rows[0][q]["correct"] != rows[1][q]["correct"]]
    answer_changes = [q for q in common if rows[0][q]["model_answer"] != rows[1][q]["model_answer"]]
    changes, lens, p_base = _stored_pairs(*rows)
    out = {"run_a": str(a.run_dir), "run_b": str(b.run_dir), "n_samples": len(common),
           "correct_flips": correct_flips, "answer_changes": answer_changes}
    for name, pairs in (("changes_pp", changes), ("lens", lens), ("p_base", p_base)):
        worst, at = _max_abs(pairs)
        out[name] = {"max_abs": worst, "at": list(at) if isinstance(at, tuple) else at,
                     "n_values": len(pairs)}
    out["verdicts"] = verdict_differences(a.judge(), b.judge())
    return out


def format_differences(d: dict) -> str:
    v = d["verdicts"]
    lines = [f"A: {d['run_a']}", f"B: {d['run_b']}",
             f"  samples in both: {d['n_samples']}; correctness changed: {len(d['correct_flips'])}"
             f"{' ' + ', '.join(d['correct_flips'][:5]) if d['correct_flips'] else ''}; "
             f"answer text changed: {len(d['answer_changes'])}"]
    for name, unit in (("changes_pp", "pp"), ("lens", ""), ("p_base", "")):
        e = d[name]
        lines.append(f"  max |diff| {name:<10} {e['max_abs']:.3g} {unit}  over {e['n_values']} values"
                     f"{'  at ' + str(e['at']) if e['at'] else ''}")
    lines.append(f"  max |diff| of a verdict number (unrounded) {v['max_abs']:.3g}"
                 f"{'  at ' + str(v['at']) if v['at'] else ''}")
    lines.append(f"  verdicts changed: {len(v['flips'])}; binding condition changed: "
                 f"{len(v['binding_changed'])}; n changed: {len(v['n_changed'])}")
    from .compare import flip_line
    lines += ["  " + flip_line(f, lambda x: f"{x:.4g}") for f in v["flips"]]
    return "\n".join(lines)


def _moved(evidence, pp: float, lens: float, unit):
    """A copy of ``evidence`` with every value moved by ``unit(shape)`` (multipliers in
    [-1, 1]) times its bound: ``pp`` on knockout curves, ``lens`` on lens probabilities (kept
    in [0, 1]). NaN (not measured) stays NaN."""
    import numpy as np

    from ..claims.judge import Evidence
    curves = {k: np.clip(v + lens * unit(v.shape), 0.0, 1.0) if k.startswith("lens:")
              else v + pp * unit(v.shape) for k, v in evidence.curves.items()}
    return Evidence(evidence.n_layers, evidence.tasks, curves)


def perturb(evidence, rng, pp: float = NOISE_PP, lens: float = NOISE_LENS, signs: bool = True):
    """A copy of ``evidence`` with every measured value moved by noise: knockout curves by up
    to ``pp`` percentage points, lens probabilities by up to ``lens``. ``signs``: each value
    moves by exactly +-the bound (random sign, the worst case); else uniformly within it."""
    if signs:
        return _moved(evidence, pp, lens, lambda shape: rng.choice([-1.0, 1.0], shape))
    return _moved(evidence, pp, lens, lambda shape: rng.uniform(-1.0, 1.0, shape))


def noise_draws(n_random: int, seed: int = 0):
    """Perturbation draws: every value +bound, every value -bound (the worst case for a
    mean), then ``n_random`` draws alternating random signs and uniform noise."""
    import numpy as np
    rng = np.random.default_rng(seed)
    yield "all +", lambda ev, pp, lens: _moved(ev, pp, lens, lambda shape: np.ones(shape))
    yield "all -", lambda ev, pp, lens: _moved(ev, pp, lens, lambda shape: -np.ones(shape))
    for i in range(n_random):
        signs = i % 2 == 0
        yield (f"random signs #{i}" if signs else f"uniform #{i}"), \
            lambda ev, pp, lens, s=signs: perturb(ev, rng, pp, lens, signs=s)


def what_noise_changes(run, n_random: int = 8, pp: float = NOISE_PP, lens: float = NOISE_LENS,
                       seed: int = 0) -> dict:
    """Re-judge a stored run (``suite.StoredRun``) under noise draws of the given size and
    compare each verdict with the unperturbed one as the snapshot test does.

    Returns {(claim, task): {"status": [draws that flipped it], "snapshot": [draws whose
    snapshot comparison failed, with what moved], "plain": [the same without the noise
    ranges, the tolerance alone]}} for the cases where anything changed."""
    from ..claims.equivalence import verdict_mismatches
    from ..claims.serialise import noise_ranges, verdict_to_dict
    from ..claims.statistics import Noise

    bound = Noise(pp, lens)
    base = {(v.claim, v.task): v for v in run.judge(noise=bound)}
    changed: dict = {}
    for name, draw in noise_draws(n_random, seed):
        for v in run.judge(draw(run.evidence, pp, lens), noise=bound):
            key = (v.claim, v.task)
            entry = changed.setdefault(key, {"status": [], "snapshot": [], "plain": []})
            if v.status != base[key].status:
                entry["status"].append(name)
            new, old = verdict_to_dict(v), verdict_to_dict(base[key])
            for field, ranges in (("snapshot", noise_ranges(v)), ("plain", None)):
                moved = verdict_mismatches(new, old, ranges)
                if moved:
                    entry[field].append(f"{name}: {'; '.join(moved)}")
    return {k: e for k, e in changed.items() if any(e.values())}
