"""Self-checks that every knockout result stands on (run at load and in the tests)."""
from __future__ import annotations

from dataclasses import dataclass


class SelfCheckError(RuntimeError):
    """A knockout self-check failed: the numbers of this model cannot be trusted."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


def _forward(handle, enc):
    import torch
    with torch.no_grad():
        return handle.model(input_ids=enc.input_ids, attention_mask=enc.attention_mask,
                            pixel_values=enc.pixel_values).logits[0, -1]


def run_self_checks(handle, sample, raise_on_failure: bool = True) -> list[CheckResult]:
    """Empty knockout == clean (bitwise); future edges change nothing; the knockout fires
    and changes the output; the final-layer lens equals the logits; the model is unchanged
    after an exception inside a knockout; blocked weights are exactly 0 under eager."""
    import torch

    from ..lens import logit_lens
    from .attention import knockout, text_attn_implementation
    from .clean import clean_run
    from .mask import blocked_edges

    enc = handle.encode(sample)
    seq, n_layers = enc.seq_len, handle.n_layers
    every_layer = range(n_layers)
    clean = _forward(handle, enc)
    results = []

    with knockout(handle.model, {}):
        empty = _forward(handle, enc)
    results.append(CheckResult("empty knockout equals clean run", torch.equal(empty, clean),
                               f"max |diff| {float((empty - clean).abs().max()):.3g}"))

    future = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)[None]
    with knockout(handle.model, {l: future for l in every_layer}):
        fut = _forward(handle, enc)
    diff = float((fut - clean).abs().max())
    results.append(CheckResult("blocking future positions changes nothing", diff <= 1e-6,
                               f"max |diff| {diff:.3g}"))

    everything = torch.tril(torch.ones(seq, seq, dtype=torch.bool), diagonal=-1)[None]
    everything[0, :, 0] = False  # keep the first position so every row has a key
    with knockout(handle.model, {l: everything for l in every_layer}) as plan:
        blind = _forward(handle, enc)
    moved = float((blind - clean).abs().max())
    results.append(CheckResult("the knockout reaches every layer and changes the output",
                               plan.fired == set(every_layer) and moved > 1e-4,
                               f"fired in {len(plan.fired)}/{n_layers} layers, max |diff| {moved:.3g}"))

    run = clean_run(handle, enc)
    lens_last = logit_lens(handle, run, {"top": run.answer_id}, "normed").probs["top"][-1]
    p_model = float(torch.softmax(clean.float(), -1)[run.answer_id])
    results.append(CheckResult("final-layer lens equals the model's output",
                               abs(lens_last - p_model) <= 1e-5, f"{lens_last:.6f} vs {p_model:.6f}"))

    impl = text_attn_implementation(handle.model)
    try:
        with knockout(handle.model, {0: everything}):
            raise KeyError("raised inside a knockout on purpose")
    except KeyError:
        pass
    after = _forward(handle, enc)
    results.append(CheckResult("model unchanged after an exception inside a knockout",
                               torch.equal(after, clean) and text_attn_implementation(handle.model) == impl,
                               f"implementation {text_attn_implementation(handle.model)!r}"))

    if impl == "eager":
        edges = blocked_edges(enc.regions, "image->last")[None]
        with torch.no_grad(), knockout(handle.model, {0: edges}, record_weights=True) as plan:
            _forward(handle, enc)
        w = plan.weights[0][0][:, edges[0]]  # (heads, n_blocked)
        results.append(CheckResult("blocked attention weights are exactly 0 (eager)",
                                   bool((w == 0).all()), f"max blocked weight {float(w.abs().max()):.3g}"))

    failed = [r for r in results if not r.passed]
    if failed and raise_on_failure:
        raise SelfCheckError("knockout self-checks failed for this model: " + "; ".join(
            f"{r.name} ({r.detail})" for r in failed) + ". Load it with attn_implementation='eager'.")
    return results
