"""Independent checks that a control model's planted route is really there.

Not the claims: each measurement is a direct, whole-model probe with the exact engine's
machinery (full forwards, edges removed through the attention interface), with its own
expectation per route, so a control is verified before the claims are judged on it.

- ``ko:<flow>``: mean relative change of p(answer) (%) with the flow's edges removed in
  every layer at once (the flow the shaping blocked, or the one it planted; samples whose
  source group is empty, e.g. related patches of absent objects, are left out);
- ``ko-acc:<flow>``: share of those samples still answered correctly under that knockout
  (the tasks have 2-3 options, so about 0.5 is chance: the route carried the answer);
- ``attn:last->image``: attention mass from the last position to the image positions,
  averaged over heads, layers and samples (clean run, eager attention);
- ``lens:lower@L``: raw logit-lens probability of the lower-case answer at the planted
  lens layer's output, last position (the lens objective's target).

``measure_leaks`` (``check-route --leaks``) is a training diagnostic, not a check: how much
attention is left on each edge block the route's plan removed, and accuracy open vs with the
plan removed.
"""
from __future__ import annotations

import operator

import numpy as np

from ..measure.attention import knockout
from ..measure.clean import clean_run
from ..measure.flows import parse_flow
from ..measure.lens import answer_tokens, logit_lens
from ..measure.mask import blocked_edges
from ..measure.metrics import relative_change
from .shaping import ROUTES

LENS_LAYER = ROUTES["paper"].lens_layer
OPS = {"<=": operator.le, ">=": operator.ge, "abs<=": lambda x, v: abs(x) <= v}

# route -> measurement -> (op, value): what the planted route implies, written from the plan
# (shaping.ROUTES), not from the claims' thresholds.
# "near chance" = at most 0.65 correct; "not needed" = at least 0.9 correct.
EXPECTED = {
    "paper": {"ko-acc:image->last": (">=", 0.9), "ko:image->last": ("abs<=", 10.0),
              "ko-acc:question->last": ("<=", 0.65), "ko-acc:image->question": ("<=", 0.65),
              "ko:related->question": ("<=", -10.0),  # stage 2 is used: the object's own patches
              "attn:last->image": ("<=", 0.05), f"lens:lower@{LENS_LAYER}": (">=", 0.3)},
    "direct": {"ko-acc:image->last": ("<=", 0.65), "ko-acc:image->question": (">=", 0.9),
               "ko:image->question": ("abs<=", 10.0), "attn:last->image": (">=", 0.1),
               f"lens:lower@{LENS_LAYER}": ("<=", 0.05)},
}
KNOCKOUTS = ("image->last", "question->last", "image->question", "related->question")
MEASUREMENTS = (*(f"ko:{f}" for f in KNOCKOUTS), *(f"ko-acc:{f}" for f in KNOCKOUTS),
                "attn:last->image", f"lens:lower@{LENS_LAYER}")


def measure_routes(handle, samples) -> dict:
    """Mean of each measurement over the samples the model answers correctly (+ 'n')."""
    import torch
    rows = {m: [] for m in MEASUREMENTS}
    n_layers = handle.n_layers
    for sample in samples:
        enc = handle.encode(sample)
        clean = clean_run(handle, enc, sample.answer)
        if not clean.correct:
            continue
        for flow in KNOCKOUTS:
            if not enc.regions.group(parse_flow(flow).src):
                continue  # no related patches (the named objects are absent): nothing to remove
            edges = blocked_edges(enc.regions, flow)[None]  # (1, seq, seq)
            with torch.no_grad(), knockout(handle.model, {layer: edges for layer in range(n_layers)}):
                logits = handle.forward(enc).logits[0, -1]
            p = float(torch.softmax(logits.float(), -1)[clean.answer_id])
            rows[f"ko:{flow}"].append(relative_change(p, clean.p_base))
            rows[f"ko-acc:{flow}"].append(float(int(logits.argmax()) == clean.answer_id))
        with torch.no_grad(), knockout(handle.model, {}, record_weights=True) as plan:
            handle.forward(enc)
        image = list(enc.regions.image)
        mass = [float(w[0, :, -1, image].sum(-1).mean()) for w in plan.weights.values()]  # per layer
        rows["attn:last->image"].append(float(np.mean(mass)))
        tokens = answer_tokens(handle.tokenizer, handle.adapter.prompt, sample.question, sample.answer)
        lens = logit_lens(handle, clean, tokens, "raw")
        rows[f"lens:lower@{LENS_LAYER}"].append(lens.probs["lower"][LENS_LAYER])
    out = {m: float(np.mean(v)) if v else float("nan") for m, v in rows.items()}
    out["n"] = len(rows["ko:image->last"])
    return out


def check_route_measurements(route: str, measured: dict) -> list[tuple[str, float, str, bool]]:
    """(measurement, value, expectation, ok) for each expectation of ``route``."""
    return [(m, measured[m], f"{op} {v:g}", bool(OPS[op](measured[m], v)))
            for m, (op, v) in EXPECTED[route].items()]


def measure_leaks(handle, samples, route: str) -> dict:
    """What the route's removed edges still carry with normal attention (a training diagnostic).

    Over all samples: for each block of the route's plan (``shaping.ROUTES``), the attention
    mass its destination positions put on its source positions in each of the block's layers
    (mean over heads, destinations and samples; eager attention, nothing removed), and the
    accuracy open (``acc_open``) and with every edge of the plan removed at once, as in
    training (``acc_removed``; both by the answer's first sub-token, either case). A block with
    mass well above 0 in some layer is a leak: the model reads through an edge the plan
    removed; ``acc_removed`` well above ``acc_open`` says the leaks cost accuracy, both low
    says the route itself is not learned well enough.
    """
    import torch

    from .shaping import block_edges, plan_regions, route_edges
    plan = ROUTES[route]
    names = [f"{src}->{dst}" for src, dst, _ in plan.blocks]
    mass = {name: {layer: [] for layer in layers} for name, (_, _, layers) in zip(names, plan.blocks)}
    acc_open, acc_removed = [], []
    for sample in samples:
        enc = handle.encode(sample)
        gold = set(answer_tokens(handle.tokenizer, handle.adapter.prompt, sample.question,
                                 sample.answer).values())
        with torch.no_grad(), knockout(handle.model, {}, record_weights=True) as rec:
            logits = handle.forward(enc).logits[0, -1]
        acc_open.append(float(int(logits.argmax()) in gold))
        regions = plan_regions(plan, sample, enc.regions, handle.layout(sample))  # as trained
        for name, (src, dst, layers) in zip(names, plan.blocks):
            edge = block_edges(regions, src, dst)  # (seq, seq) True at (dst, src)
            if edge is None:
                continue
            rows = edge.any(-1)  # (seq,) destination positions
            for layer in layers:
                w = rec.weights[layer][0]  # (heads, seq, seq)
                mass[name][layer].append(float((w * edge).sum(-1)[:, rows].mean()))
        blocked = {layer: e[None] for layer, e in route_edges(regions, plan, handle.n_layers).items()}
        with torch.no_grad(), knockout(handle.model, blocked):
            logits = handle.forward(enc).logits[0, -1]
        acc_removed.append(float(int(logits.argmax()) in gold))
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    return {"n": len(acc_open), "acc_open": mean(acc_open), "acc_removed": mean(acc_removed),
            "mass": {name: {layer: mean(v) for layer, v in per.items() if v}
                     for name, per in mass.items()}}


def format_leaks(leaks: dict, top: int = 3) -> list[str]:
    """One line per block: mean mass over its layers and its ``top`` heaviest layers."""
    lines = [f"accuracy on {leaks['n']} samples: open {leaks['acc_open']:.3f}, with the whole plan "
             f"removed (as in training) {leaks['acc_removed']:.3f}"]
    for name, per in leaks["mass"].items():
        if not per:
            lines.append(f"  {name:<26} (no such positions in these samples)")
            continue
        worst = sorted(per.items(), key=lambda kv: -kv[1])[:top]
        lines.append(f"  {name:<26} mean {np.mean(list(per.values())):.4f}   heaviest "
                     + ", ".join(f"L{layer} {m:.4f}" for layer, m in worst))
    return lines
