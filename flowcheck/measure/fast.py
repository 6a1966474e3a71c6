"""Fast engine: the exact engine's numbers with far less work.

For a group of (flow, window) configs whose flows change rows from position d0 on:
- positions < d0 are never a knocked-out destination and attend only backwards, so their
  keys/values are the clean ones at every layer: reuse them (a prefix cache);
- below a window's first layer nothing has changed: start each config at its own first
  layer from the clean hidden states of positions >= d0;
- only rows d0..seq-1 are recomputed (one row for ->last flows), all configs batched,
  with each config's blocked edges added to its mask in the layers of its window;
- ->last flows (one row each) are packed: every config's last row becomes one query row
  of a single sequence that shares one copy of the prefix keys/values, at the last
  position's rotary position, attending to the prefix and to its own row only.
The model's own decoder layers do the computation; no model code is copied.
"""
from __future__ import annotations

from .attention import causal_bool, check_supported
from .mask import blocked_edges, first_dst


class PrefixCache:
    """Duck-typed cache: prepends the clean keys/values of positions < d0 (expanded)."""

    def __init__(self, keys, values, batch: int):
        self.keys, self.values, self.batch = keys, values, batch

    def update(self, key_states, value_states, layer_idx, *args, **kwargs):
        import torch
        k = self.keys.expand(self.batch, -1, -1, -1)
        v = self.values.expand(self.batch, -1, -1, -1)
        return torch.cat([k, key_states], dim=2), torch.cat([v, value_states], dim=2)


def fast_probabilities(handle, enc, clean, configs, batch_size: int | None = None) -> list[float]:
    """p(t*) at the last position for each config, grouped by first changed position;
    ``batch_size``: at most that many configs per pass (default: a whole group at once)."""
    groups: dict[int, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(first_dst(enc.regions, cfg.flow), []).append(i)
    out = [0.0] * len(configs)
    _check_window(handle, enc)
    for d0, idx in groups.items():
        _check_image_before(handle, enc, d0)
        step = batch_size or len(idx)
        for start in range(0, len(idx), step):
            part = idx[start:start + step]
            for i, p in zip(part, _suffix_pass(handle, enc, clean, d0, [configs[i] for i in part])):
                out[i] = p
    return out


def _check_image_before(handle, enc, d0: int) -> None:
    """A family that adds features to the residual stream at image positions inside the
    decoder (Qwen3-VL's DeepStack) is measured right by this engine only while every image
    position lies before the first recomputed row: those rows come from the clean run, the
    added features included; a recomputed image row would lose them."""
    from ..errors import ModelError
    if getattr(handle.adapter, "adds_at_image_positions", False) and enc.regions.image \
            and max(enc.regions.image) >= d0:
        raise ModelError(f"the fast engine would recompute image positions (from {d0}) of a "
                         f"{handle.adapter.family} model, whose decoder adds features there; use --engine "
                         "exact (or a prompt with the image before the question)")


def _check_window(handle, enc) -> None:
    """The engine builds plain causal masks: right for sliding-window layers (Gemma 3) only
    while the whole prompt fits the window."""
    from ..errors import ModelError
    window = handle.adapter.attention_window(handle.model)
    if window is not None and enc.seq_len > window:
        raise ModelError(f"the prompt has {enc.seq_len} tokens, more than the {window}-token sliding "
                         f"window of some layers of this {handle.adapter.family} model; the fast engine "
                         "handles sliding-window layers only while the prompt fits: use --engine exact")


def _layer_mask(allowed, impl: str, dtype):
    """Boolean 'may attend' -> the mask form the attention path takes (additive for eager)."""
    import torch
    if impl != "eager":
        return allowed
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


def _rows_by_start(handle, enc, configs, d0: int):
    """Configs sorted by their window's first layer (rows join in that order):
    (order, starts, row_edges (n, S, seq) blocked edges of rows d0.., in_window (n, L))."""
    import torch
    n_layers = handle.n_layers
    order = sorted(range(len(configs)), key=lambda i: configs[i].layers.start)
    starts = [configs[i].layers.start for i in order]
    edges = {}
    for cfg in configs:
        if cfg.flow not in edges:
            edges[cfg.flow] = blocked_edges(enc.regions, cfg.flow)[d0:].to(handle.device)  # (S, seq)
    row_edges = torch.stack([edges[configs[i].flow] for i in order])  # (n, S, seq)
    in_window = torch.tensor([[layer in configs[i].layers for layer in range(n_layers)] for i in order],
                             device=handle.device)  # (n, L)
    return order, starts, row_edges, in_window


def _unsort(p, order) -> list[float]:
    """p[row] of the sorted rows -> one probability per config, in the configs' order."""
    result = [0.0] * len(order)
    for row, i in enumerate(order):
        result[i] = float(p[row])
    return result


def _packed_last_pass(handle, enc, clean, configs) -> list[float]:
    """All configs' last rows as the query rows of one sequence (batch 1), see module doc."""
    import torch
    impl = check_supported(handle.model)
    layers, seq = handle.layers, enc.seq_len
    d0, n_layers, n = seq - 1, len(layers), len(configs)
    order, starts, row_edges, in_window = _rows_by_start(handle, enc, configs, d0)
    row_edges = row_edges[:, 0]  # (n, seq): the last row's edges
    own = torch.eye(n, dtype=torch.bool, device=handle.device)  # row i sees its own row only
    last = enc.position_ids[..., d0:]  # (1, 1) or (3, 1, 1) for M-RoPE
    pos = last.expand(*last.shape[:-1], n)  # every row sits at the last position
    hidden = clean.layer_inputs[0].shape[-1]
    x = clean.layer_inputs[0].new_zeros((1, 0, hidden))
    with torch.no_grad():
        tables = handle.rotary_tables(clean.layer_inputs[0][:, :1].expand(1, n, hidden), pos)
        for layer_idx in range(starts[0], n_layers):
            dev = handle.layer_device(layer_idx)  # a device map puts layers on several devices
            x = x.to(dev)
            joining = sum(1 for s in starts if s == layer_idx)
            if joining:  # configs whose window starts here: the clean last row of this layer
                x = torch.cat([x, clean.layer_inputs[layer_idx][:, d0:].expand(1, joining, -1)], dim=1)
            m = x.shape[1]
            blocked = row_edges[:m] & in_window[:m, layer_idx, None]  # (m, seq)
            allowed = torch.cat([~blocked[:, :d0], own[:m, :m] & ~blocked[:, d0:]], dim=1)
            allowed = allowed[None, None].to(dev)  # (1, 1, m, d0 + m)
            mask = _layer_mask(allowed, impl, x.dtype)
            cache = PrefixCache(clean.keys[layer_idx][:, :, :d0], clean.values[layer_idx][:, :, :d0], 1)
            cos, sin = tables[layer_idx]
            out = layers[layer_idx](x, attention_mask=mask, position_ids=pos[..., :m].to(dev), cache=cache,
                                       position_embeddings=(cos[:, :m].to(dev), sin[:, :m].to(dev)))
            x = out[0] if isinstance(out, tuple) else out
        logits = handle.unembed(handle.final_norm(x[0].to(handle.head_device)))  # (n, vocab)
        p = torch.softmax(logits.float(), -1)[:, clean.answer_id]
    return _unsort(p, order)


def _suffix_pass(handle, enc, clean, d0: int, configs) -> list[float]:
    import torch
    if d0 == enc.seq_len - 1:
        return _packed_last_pass(handle, enc, clean, configs)
    impl = check_supported(handle.model)
    layers, seq = handle.layers, enc.seq_len
    n_layers = len(layers)
    order, starts, row_edges, in_window = _rows_by_start(handle, enc, configs, d0)
    causal = causal_bool(seq - d0, seq, handle.device)  # (S, seq)
    pos = enc.position_ids[..., d0:]  # (1, S), or (3, 1, S) for M-RoPE
    x = clean.layer_inputs[0].new_zeros((0, seq - d0, clean.layer_inputs[0].shape[-1]))
    n_active = 0
    with torch.no_grad():
        tables = handle.rotary_tables(clean.layer_inputs[0][:, d0:], pos)
        for layer_idx in range(starts[0], n_layers):
            dev = handle.layer_device(layer_idx)  # a device map puts layers on several devices
            x = x.to(dev)
            joining = sum(1 for s in starts if s == layer_idx)
            if joining:  # configs whose window starts here: clean input of this layer
                start_x = clean.layer_inputs[layer_idx][:, d0:].expand(joining, -1, -1)
                x = torch.cat([x, start_x])
                n_active += joining
            blocked = row_edges[:n_active] & in_window[:n_active, layer_idx, None, None]
            allowed = (causal[None] & ~blocked)[:, None].to(dev)  # (n, 1, S, seq)
            mask = _layer_mask(allowed, impl, x.dtype)
            cache = PrefixCache(clean.keys[layer_idx][:, :, :d0], clean.values[layer_idx][:, :, :d0],
                                n_active)
            out = layers[layer_idx](x, attention_mask=mask, position_ids=pos.to(dev), cache=cache,
                                       position_embeddings=tuple(t.to(dev) for t in tables[layer_idx]))
            x = out[0] if isinstance(out, tuple) else out
        logits = handle.unembed(handle.final_norm(x[:, -1].to(handle.head_device)))  # (n, vocab)
        p = torch.softmax(logits.float(), -1)[:, clean.answer_id]
    return _unsort(p, order)
