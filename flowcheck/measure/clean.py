"""The clean (no knockout) run of one sample: answer token, p_base, per-layer states.

It records what both engines and the logit lens reuse: the input of every decoder layer
(all positions), every layer's output at the last position, and each layer's keys/values.
"""
from __future__ import annotations

from dataclasses import dataclass

from .metrics import is_correct


@dataclass
class CleanRun:
    answer_id: int  # the model's own greedy first answer token t*
    answer_text: str  # its greedy answer (decoded), compared with the gold answer
    correct: bool
    p_base: float  # softmax probability of t* at the last position
    logits_last: object  # (vocab,) model logits at the last position
    layer_inputs: list  # L x (1, seq, hidden): input of decoder layer l
    last_outputs: object  # (L, hidden): output of layer l at the last position (raw)
    keys: list  # L x (1, kv_heads, seq, head_dim)
    values: list


def clean_run(handle, enc, answer: str | None = None, max_new_tokens: int = 10) -> CleanRun:
    import torch
    layers = handle.layers
    inputs, last_out = [None] * len(layers), [None] * len(layers)
    hooks = []
    for i, layer in enumerate(layers):
        hooks.append(layer.register_forward_pre_hook(
            lambda mod, args, kwargs, i=i: inputs.__setitem__(
                i, (args[0] if args else kwargs["hidden_states"]).detach()),
            with_kwargs=True))
        hooks.append(layer.register_forward_hook(
            lambda mod, args, out, i=i: last_out.__setitem__(
                i, (out[0] if isinstance(out, tuple) else out)[0, -1].detach())))
    try:
        with torch.no_grad():
            out = handle.forward(enc, use_cache=True)  # the model's own inputs, vision output reused
    finally:
        for h in hooks:
            h.remove()
    logits = out.logits[0, -1]
    probs = torch.softmax(logits.float(), dim=-1)
    answer_id = int(probs.argmax())
    text = handle.tokenizer.decode([answer_id]).strip()
    if answer is not None and not is_correct(text, answer) and text and \
            answer.strip().lower().startswith(text.lower()):
        text = greedy_answer(handle, enc, max_new_tokens)  # multi-token answers
    cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
    return CleanRun(
        answer_id=answer_id, answer_text=text,
        correct=answer is not None and is_correct(text, answer),
        p_base=float(probs[answer_id]), logits_last=logits,
        layer_inputs=inputs,  # each on its layer's device (a device map spreads them)
        last_outputs=torch.stack([t.to(handle.head_device) for t in last_out]),
        keys=[cache.layers[i].keys for i in range(len(layers))],
        values=[cache.layers[i].values for i in range(len(layers))])


def greedy_answer(handle, enc, max_new_tokens: int) -> str:
    import torch
    with torch.no_grad():
        seq = handle.generate(enc, max_new_tokens=max_new_tokens, do_sample=False)
    return handle.tokenizer.decode(seq[0, enc.input_ids.shape[1]:], skip_special_tokens=True).strip()
