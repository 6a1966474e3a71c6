"""Route shaping for the control models (issue: ground-truth controls), training only.

A route is planted by attention-edge dropout: for a share of training samples, chosen
flows are blocked in every layer through a 4D additive attention mask passed to the
stock forward (measured: a 4D causal mask gives logits identical to the 2D padding mask,
eager and SDPA). Shipped models carry no trace of it: they run with normal attention.

- ``paper``: image->last blocked for 90% of samples, so the answer has to reach the last
  position through the question tokens.
- ``direct``: image->question blocked for every sample, so the question tokens never
  carry image information and the last position must read the image itself.
"""
from __future__ import annotations

import numpy as np

from ...knockout.mask import blocked_edges

ROUTES = {
    "paper": {"image->last": 0.9},
    "direct": {"image->question": 1.0},
}


def check_route(route: str | None) -> str | None:
    if route is not None and route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; use one of {', '.join(ROUTES)} (or none for "
                         "the plain reference model)")
    return route


def shaped_mask(attention_mask, rows, route: str, rng: np.random.Generator):
    """(batch, 1, seq, seq) additive float mask: causal + padding + the route's blocked edges.

    ``attention_mask`` is the (batch, seq) padding mask of a left-padded batch; ``rows[i]``
    is None (no shaping: a caption or text-only row) or the ``Regions`` of row i's prompt,
    whose positions start after row i's left padding.
    """
    import torch
    batch, seq = attention_mask.shape
    keep = attention_mask.bool()  # (batch, seq)
    allowed = torch.tril(torch.ones(seq, seq, dtype=torch.bool))[None] & keep[:, None, :]  # (b, seq, seq)
    allowed = allowed | torch.eye(seq, dtype=torch.bool)[None]  # padding rows see themselves: no NaN
    for i, regions in enumerate(rows):
        if regions is None:
            continue
        pad = int((~keep[i]).sum())
        for flow, share in ROUTES[route].items():
            if rng.random() < share:
                edges = blocked_edges(regions, flow)  # (prompt_len, prompt_len)
                n = edges.shape[0]
                allowed[i, pad:pad + n, pad:pad + n] &= ~edges
    mask = torch.zeros(batch, 1, seq, seq)
    return mask.masked_fill(~allowed[:, None], torch.finfo(mask.dtype).min)
