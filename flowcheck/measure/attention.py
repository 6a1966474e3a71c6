"""Attention knockout through transformers' AttentionInterface (no patched forwards).

``knockout(model, blocked)`` switches the language model to a registered attention
function that wraps the model's own eager (or SDPA) attention: in each layer listed in
``blocked`` it sets the blocked edges (dst row, src column) to -inf in the attention mask
before the softmax; every other layer, and the rest of the causal mask, is unchanged.
"""
from __future__ import annotations

import importlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from ..errors import FlowcheckError, ModelError

SUPPORTED = ("eager", "sdpa")


class KnockoutNotApplied(FlowcheckError, RuntimeError):
    """The model ran, but some layers never saw the knockout mask."""
_ACTIVE: ContextVar["KnockoutState | None"] = ContextVar("flowcheck_knockout", default=None)


@dataclass
class KnockoutState:
    """Blocked edges per layer: bool (batch or 1, query, key), True = edge removed."""

    blocked: dict
    record_weights: bool = False
    record_open: bool = False  # training only: keep each layer's weights as if nothing were blocked
    fired: set = field(default_factory=set)
    weights: dict = field(default_factory=dict)
    open_weights: dict = field(default_factory=dict)  # layer -> (batch, heads, q, k), with gradient


def attn_config_key(model) -> str:
    """The sub-config whose attention implementation a knockout switches (the adapter's)."""
    from ..models.adapters import ADAPTERS
    adapter = ADAPTERS.get(type(model).__name__)
    return adapter.attn_config_key if adapter is not None else "text_config"


def text_attn_implementation(model) -> str:
    cfg = getattr(model.config, attn_config_key(model), model.config)
    return cfg._attn_implementation


def check_supported(model) -> str:
    impl = text_attn_implementation(model)
    if impl not in SUPPORTED and not str(impl).startswith("flowcheck_"):
        raise ModelError(
            f"attention implementation {impl!r} cannot take a knockout mask; load the model "
            "with attn_implementation='eager' (exact, attention weights readable) or 'sdpa', "
            "e.g. LlavaForConditionalGeneration.from_pretrained(path, attn_implementation='eager')")
    return impl


def causal_bool(q_len: int, k_len: int, device):
    """(q, k) True where attention is allowed (queries are the last q of k positions)."""
    import torch
    rows = torch.arange(k_len - q_len, k_len, device=device)[:, None]
    return torch.arange(k_len, device=device)[None, :] <= rows


def apply_block(mask, blocked, query, key):
    """Return the mask with blocked edges removed; ``mask`` may be None, bool or additive."""
    import torch
    batch, q_len, k_len = query.shape[0], query.shape[2], key.shape[2]
    blocked = blocked.to(query.device)[:, None]  # (batch|1, 1, q, k)
    if mask is None:
        mask = causal_bool(q_len, k_len, query.device)[None, None].expand(batch, 1, q_len, k_len)
    if mask.dtype == torch.bool:  # True = attend
        return mask & ~blocked
    return mask.masked_fill(blocked, torch.finfo(mask.dtype).min)


def _base_function(module, impl: str):
    import transformers
    if impl == "sdpa":
        from transformers.integrations.sdpa_attention import sdpa_attention_forward
        return sdpa_attention_forward
    # the model's own eager attention (defined in its modeling module; imported again if
    # something, e.g. pytester's module snapshot, removed it from sys.modules)
    fn = getattr(importlib.import_module(type(module).__module__), "eager_attention_forward", None)
    if fn is None:
        raise ModelError(f"{type(module).__name__} has no eager_attention_forward in "
                         f"{type(module).__module__} (transformers {transformers.__version__}); "
                         "load the model with attn_implementation='sdpa'")
    return fn


def _make_knockout_attention(impl: str):
    def attention(module, query, key, value, attention_mask, **kwargs):
        plan = _ACTIVE.get()
        layer = getattr(module, "layer_idx", None)
        base, unblocked = _base_function(module, impl), attention_mask
        if plan is not None and layer in plan.blocked:
            attention_mask = apply_block(attention_mask, plan.blocked[layer], query, key)
            plan.fired.add(layer)
        out, weights = base(module, query, key, value, attention_mask, **kwargs)
        if plan is not None and plan.record_weights and weights is not None:
            plan.weights[layer] = weights.detach()
        if plan is not None and plan.record_open:  # the same scores, the block lifted (eager only)
            plan.open_weights[layer] = (weights if unblocked is attention_mask else
                                        base(module, query, key, value, unblocked, **kwargs)[1])
        return out, weights
    attention.__name__ = f"flowcheck_{impl}"
    return attention


def _register() -> None:
    """Register flowcheck_eager / flowcheck_sdpa, each with its base's mask function."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
    for impl in SUPPORTED:
        AttentionInterface.register(f"flowcheck_{impl}", _make_knockout_attention(impl))
        AttentionMaskInterface.register(f"flowcheck_{impl}", ALL_MASK_ATTENTION_FUNCTIONS[impl])


@contextmanager
def knockout(model, blocked: dict, *, record_weights: bool = False, record_open: bool = False):
    """Run the model with ``blocked`` edges removed; yields the plan (``fired`` layers).

    ``record_open`` (training, eager attention): the plan's ``open_weights`` keep, per layer and
    with gradient, the attention weights the same scores give without the block.

    On exit the model's attention implementation is restored, also after an exception.
    """
    impl = check_supported(model)
    _register()
    if record_open and impl != "eager":
        raise ModelError(f"record_open needs attention weights; load the model with "
                         f"attn_implementation='eager', not {impl!r}")
    plan = KnockoutState(blocked=dict(blocked), record_weights=record_weights, record_open=record_open)
    token = _ACTIVE.set(plan)
    key = attn_config_key(model)
    model.set_attn_implementation({key: f"flowcheck_{impl}"})
    try:
        yield plan
    finally:
        model.set_attn_implementation({key: impl})
        _ACTIVE.reset(token)
    missing = set(plan.blocked) - plan.fired
    if missing:
        raise KnockoutNotApplied(
            f"the knockout did not reach layers {sorted(missing)}: the model's attention did "
            "not go through the attention interface; load it with attn_implementation='eager'")
