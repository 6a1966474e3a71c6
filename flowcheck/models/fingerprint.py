"""A cheap fingerprint of a loaded model's weights, so a run folder never reuses the results
of a model that was changed in place (fine-tuned, quantised, pruned, cast to another dtype)."""
from __future__ import annotations

import hashlib


def weights_fingerprint(model) -> str:
    """16 hex digits of sha256 over every state-dict tensor's name, dtype, shape, sum and sum
    of squares (float64 on the tensor's device, 8 significant digits so that a CPU and a GPU
    load of the same weights agree). One pass over the weights, no copy of the file."""
    import torch
    h = hashlib.sha256()
    with torch.no_grad():
        for name, t in _plain_tensors(model.state_dict().items()):
            t = t.detach()
            total = float(torch.sum(t, dtype=torch.float64)) if t.numel() else 0.0
            if t.is_floating_point():  # one float64 copy at a time (~1 GB for a 7B embedding)
                flat = t.reshape(-1).double()
                squares = float(torch.dot(flat, flat))
                del flat
            else:
                squares = total
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|{total:.8g}|{squares:.8g};".encode())
    return h.hexdigest()[:16]


def _plain_tensors(items):
    """(name, tensor) with every quantised tensor subclass (torchao's ``Int8Tensor``, ...) taken
    apart into the plain tensors it holds (``qdata``, ``scale``, ...): their sums are defined,
    and the fingerprint follows the quantised values themselves."""
    import torch
    for name, t in items:
        if not isinstance(t, torch.Tensor):
            continue
        if type(t) in (torch.Tensor, torch.nn.Parameter) or not hasattr(t, "__tensor_flatten__"):
            yield name, t
            continue
        inner, _ = t.__tensor_flatten__()
        yield from _plain_tensors((f"{name}.{attr}", getattr(t, attr)) for attr in inner)
