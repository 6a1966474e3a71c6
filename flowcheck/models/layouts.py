"""Randomly initialised models with a real checkpoint's sequence layout (for scaling).

``llava15``: CLIP 336 px / 14-px patches -> 576 image tokens, a 32-layer Llama language
model of small width, and the official code's vicuna_v1 prompt (about 650 positions), so
the engines see the sequence length and depth of llava-1.5-7b at a CPU-friendly width.
Its outputs mean nothing; it is for timing and for engine agreement only.
"""
from __future__ import annotations

from ..errors import UsageError
from ..registry import Registry
from .tiny import ReferenceSpec

LLAVA15_LAYOUT = ReferenceSpec(image_size=336, patch_size=14, vision_layers=1, vision_hidden=64,
                               vision_heads=2, text_layers=32, text_hidden=128, text_heads=4,
                               text_intermediate=256, max_positions=1024)
LAYOUTS = Registry("layout", {"llava15": LLAVA15_LAYOUT, "llava-next": "llava-v1.6-vicuna-7b"})


def build_layout_handle(layout: str = "llava15", seed: int = 0, attn_implementation: str = "eager",
                        device: str = "cpu", dtype: str = "float32", real_width: bool = False):
    """``llava15``: the reference architecture at llava-1.5's sequence layout; ``llava-next``:
    the llava-v1.6-vicuna-7b checkpoint fixture (anyres, 32 layers, random weights); a
    checkpoint fixture's name (``flowcheck fixtures``), at the real widths with ``real_width``."""
    from .checkpoints import CHECKPOINTS
    if layout in CHECKPOINTS:
        from .checkpoints import build_handle
        return build_handle(layout, seed, attn_implementation, device, dtype, real_width)
    if device != "cpu" or dtype != "float32" or real_width:
        raise UsageError(f"layout {layout!r} is CPU float32 only; for a GPU or --real-width pass a "
                         f"checkpoint fixture's name: {', '.join(CHECKPOINTS)}")
    from .adapters.llava import LlavaAdapter
    from .handle import ModelHandle
    from .prompts import PROMPTS
    from .tiny import build_model, build_processor
    spec = LAYOUTS.get_or_raise(layout)
    if isinstance(spec, str):
        from .checkpoints import build_handle
        return build_handle(spec, seed, attn_implementation)
    processor = build_processor(spec)
    model = build_model(spec, processor.tokenizer, seed).eval()
    model.set_attn_implementation(attn_implementation)
    return ModelHandle(model, processor, name=f"random-{layout}",
                       adapter=LlavaAdapter(prompt=PROMPTS["vicuna_v1"]))
