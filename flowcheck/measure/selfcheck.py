"""Self-checks that every knockout result stands on (run at load and in the tests)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import FlowcheckError


class SelfCheckError(FlowcheckError, RuntimeError):
    """A knockout self-check failed: the numbers of this model cannot be trusted."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    note: str = ""  # a fact about the model the check found on the way (recorded in run.json)

    @property
    def recorded(self) -> str:
        """What run.json records: 'passed' (with the note, if any) or 'failed'."""
        return ("passed" + (f": {self.note}" if self.note else "")) if self.passed else "failed"


def _forward(handle, enc):
    import torch
    with torch.no_grad():
        return handle.forward(enc).logits[0, -1]


def run_self_checks(handle, sample, raise_on_failure: bool = True) -> list[CheckResult]:
    """Empty knockout == clean (bitwise); future edges change nothing; the knockout fires
    and changes the output; the final-layer lens equals the logits; the model is unchanged
    after an exception inside a knockout; blocked weights are exactly 0 under eager."""
    import torch

    from .attention import KnockoutNotApplied, knockout, text_attn_implementation
    from .clean import clean_run
    from .lens import logit_lens
    from .mask import blocked_edges

    enc = handle.encode(sample)
    seq, every_layer = enc.seq_len, range(handle.n_layers)
    clean = _forward(handle, enc)
    impl = text_attn_implementation(handle.model)
    everything = torch.tril(torch.ones(seq, seq, dtype=torch.bool), diagonal=-1)[None]
    everything[0, :, 0] = False  # keep the first position so every row has a key

    def empty():
        with knockout(handle.model, {}):
            out = _forward(handle, enc)
        return torch.equal(out, clean), f"max |diff| {float((out - clean).abs().max()):.3g}"

    def future():
        """Blocking every edge to a later position changes nothing: the knockout adds to the
        model's own causal mask, it does not replace it. A model whose image tokens attend to
        each other both ways (Gemma 3's image block) passes when every other future edge
        changes nothing, and the fact is noted: flows into image tokens would then differ
        from a causal model's (the claims' core flows end at question or last)."""
        edges = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)[None]
        with knockout(handle.model, {layer: edges for layer in every_layer}):
            diff = float((_forward(handle, enc) - clean).abs().max())
        if diff <= 1e-6:
            return diff <= 1e-6, f"max |diff| {diff:.3g}"
        image = torch.zeros(seq, dtype=torch.bool)
        image[list(enc.regions.image)] = True
        causal_elsewhere = edges & ~(image[:, None] & image[None, :])[None]
        with knockout(handle.model, {layer: causal_elsewhere for layer in every_layer}):
            rest = float((_forward(handle, enc) - clean).abs().max())
        if rest <= 1e-6:
            return True, f"max |diff| {rest:.3g} outside the image block", (
                "image tokens attend to later image tokens (a bidirectional image block, as the "
                "model's own mask allows); every other future edge changes nothing")
        return False, f"max |diff| {diff:.3g} ({rest:.3g} outside the image block)"

    def fires():
        with knockout(handle.model, {layer: everything for layer in every_layer}):
            moved = float((_forward(handle, enc) - clean).abs().max())
        return moved > 1e-4, f"fired in all {len(every_layer)} layers, max |diff| {moved:.3g}"

    def lens():
        run = clean_run(handle, enc)
        last = logit_lens(handle, run, {"top": run.answer_id}, "normed").probs["top"][-1]
        p_model = float(torch.softmax(clean.float(), -1)[run.answer_id])
        return abs(last - p_model) <= 1e-5, f"{last:.6f} vs {p_model:.6f}"

    def exception_safe():
        try:
            with knockout(handle.model, {0: everything}):
                raise KeyError("raised inside a knockout on purpose")
        except KeyError:
            pass
        now = text_attn_implementation(handle.model)
        return torch.equal(_forward(handle, enc), clean) and now == impl, f"implementation {now!r}"

    def zero_weights():
        edges = blocked_edges(enc.regions, "image->last")[None]
        with torch.no_grad(), knockout(handle.model, {0: edges}, record_weights=True) as plan:
            _forward(handle, enc)
        w = plan.weights[0][0][:, edges[0]]  # (heads, n_blocked)
        return bool((w == 0).all()), f"max blocked weight {float(w.abs().max()):.3g}"

    checks = [("empty knockout equals clean run", empty),
              ("blocking future positions changes nothing", future),
              ("the knockout reaches every layer and changes the output", fires),
              ("final-layer lens equals the model's output", lens),
              ("model unchanged after an exception inside a knockout", exception_safe)]
    if impl == "eager":
        checks.append(("blocked attention weights are exactly 0 (eager)", zero_weights))
    results = []
    for name, fn in checks:
        try:
            ok, detail, *note = fn()
        except KnockoutNotApplied as e:
            ok, detail, note = False, str(e), []
        results.append(CheckResult(name, ok, detail, *note))

    failed = [r for r in results if not r.passed]
    if failed and raise_on_failure:
        raise SelfCheckError("knockout self-checks failed for this model: " + "; ".join(
            f"{r.name} ({r.detail})" for r in failed) + ". Load it with attn_implementation='eager'.")
    return results
