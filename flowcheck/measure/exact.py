"""Exact engine (the paper's method): one full forward per (sample, flow, window).

The model's ordinary forward pass (vision tower included) with the flow's edges removed
in every layer of the window through the attention interface; nothing else changes.

Every forward is the model's own (``ModelHandle.forward``: input_ids, every processor
output, the image encoder's output computed once per sample). ``batch_size`` B > 1 runs B
configs of the sample as one batch of B identical rows, each with its own config's edges
removed in its own window's layers. Equal to B = 1 within float rounding
(``tests/measure/test_batching.py``).
"""
from __future__ import annotations

from .attention import knockout
from .mask import blocked_edges


def exact_probabilities(handle, enc, clean, configs, batch_size: int | None = None) -> list[float]:
    """p(t*) at the last position for each (flow, window) config."""
    import torch
    edges = {}
    for cfg in configs:
        if cfg.flow not in edges:
            edges[cfg.flow] = blocked_edges(enc.regions, cfg.flow)[None]  # (1, seq, seq)
    if not batch_size or batch_size == 1:
        out = []
        for cfg in configs:
            blocked = {layer: edges[cfg.flow] for layer in cfg.layers}
            with torch.no_grad(), knockout(handle.model, blocked):
                logits = handle.forward(enc).logits[0, -1]
            out.append(float(torch.softmax(logits.float(), -1)[clean.answer_id]))
        return out
    out = []
    for start in range(0, len(configs), batch_size):
        chunk = configs[start:start + batch_size]
        n = len(chunk)
        none = torch.zeros_like(edges[chunk[0].flow][0])  # (seq, seq): nothing blocked
        layers = sorted({layer for cfg in chunk for layer in cfg.layers})
        blocked = {layer: torch.stack([edges[c.flow][0] if layer in c.layers else none for c in chunk])
                   for layer in layers}  # layer -> (n, seq, seq)
        with torch.no_grad(), knockout(handle.model, blocked):
            logits = handle.forward(enc, batch=n).logits[:, -1]  # (n, vocab)
        p = torch.softmax(logits.float(), -1)[:, clean.answer_id]
        out.extend(float(x) for x in p)
    return out

