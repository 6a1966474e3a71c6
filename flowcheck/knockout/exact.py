"""Exact engine (the paper's method): one full forward per (sample, flow, window).

The model's ordinary forward pass (vision tower included) with the flow's edges removed
in every layer of the window through the attention interface; nothing else changes.
"""
from __future__ import annotations

from .attention import knockout
from .mask import blocked_edges


def exact_probabilities(handle, enc, clean, configs) -> list[float]:
    """p(t*) at the last position for each (flow, window) config."""
    import torch
    out = []
    cache = {}
    for cfg in configs:
        if cfg.flow not in cache:
            cache[cfg.flow] = blocked_edges(enc.regions, cfg.flow)[None]  # (1, seq, seq)
        blocked = {layer: cache[cfg.flow] for layer in cfg.layers}
        with torch.no_grad(), knockout(handle.model, blocked):
            logits = handle.forward(enc).logits[0, -1]
        out.append(float(torch.softmax(logits.float(), -1)[clean.answer_id]))
    return out
