"""Training only: every image patch attends to itself alone in the vision tower.

Route shaping for the second (object-specific) image -> question stage needs the patches
that are not about the question's objects to hold nothing about those objects. In a CLIP
tower every patch reads every other patch, so the background patches that the question reads
in the lower layers would carry the objects too. ``local_patches(model)`` switches the vision
tower to an attention function that removes every patch -> other-position edge (the CLS
position still reads everything; LLaVA drops it) and records, with gradient, the weights the
same scores give without that mask, for ``locality_penalty``: at inference (normal attention)
the patches then keep to themselves as well. The shipped models run stock attention.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar

NAME = "flowcheck_vision_local"
_OPEN: ContextVar["list | None"] = ContextVar("flowcheck_vision_open", default=None)


def local_mask(seq: int, dtype, device):
    """(1, 1, seq, seq) additive mask: position 0 (CLS) reads all, each patch only itself."""
    import torch
    allow = torch.eye(seq, dtype=torch.bool, device=device)
    allow[0] = True
    return torch.zeros(seq, seq, dtype=dtype, device=device).masked_fill(
        ~allow, torch.finfo(dtype).min)[None, None]


def _attention(module, query, key, value, attention_mask, **kwargs):
    base = getattr(sys.modules[type(module).__module__], "eager_attention_forward")
    opened = _OPEN.get()
    if opened is None:  # outside the context: the tower's own eager attention
        return base(module, query, key, value, attention_mask, **kwargs)
    local = local_mask(query.shape[2], query.dtype, query.device)
    mask = local if attention_mask is None else attention_mask + local
    out, weights = base(module, query, key, value, mask, **kwargs)
    opened.append(base(module, query, key, value, attention_mask, **kwargs)[1])  # (images, heads, seq, seq)
    return out, weights


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
    AttentionInterface.register(NAME, _attention)
    AttentionMaskInterface.register(NAME, ALL_MASK_ATTENTION_FUNCTIONS["eager"])


@contextmanager
def local_patches(model):
    """Run the vision tower patch-local; yields the list that collects each vision layer's
    unmasked weights (images, heads, 1 + patches, 1 + patches), CLS first."""
    _register()
    vision_cfg = model.config.vision_config
    before = vision_cfg._attn_implementation
    opened = []
    token = _OPEN.set(opened)
    model.set_attn_implementation({"vision_config": NAME})
    try:
        yield opened
    finally:
        model.set_attn_implementation({"vision_config": before})
        _OPEN.reset(token)


def locality_penalty(opened, weight: float):
    """``weight`` x the mean attention mass a patch would put on any other vision position
    (per image, head, patch and layer): 0 when every patch keeps to itself."""
    import torch
    if not opened:
        return torch.zeros(())
    terms = [(1 - w.diagonal(dim1=-2, dim2=-1)[..., 1:]).mean() for w in opened]  # patches, not CLS
    return weight * torch.stack(terms).mean()
