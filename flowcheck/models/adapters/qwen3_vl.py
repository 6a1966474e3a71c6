"""Qwen3-VL (``Qwen3VLForConditionalGeneration``): Qwen2-VL's sequence and layout with 32-px
cells, interleaved M-RoPE, and DeepStack.

- The same processor kind (``smart_resize`` to multiples of 32 px: 16-px patches merged
  2 x 2, raster order) and the same ``get_rope_index`` call (the frequencies are interleaved
  inside the model; flowcheck passes the model's own positions on).
- DeepStack: features from several ViT layers (``deepstack_visual_indexes``) are added to
  the residual stream at the image positions after the first text layers. They are part of
  the image encoder's output, which every forward hands back (``mm_encoder_outputs``), so the
  exact engine keeps them. They enter only at image positions, so blocking image->X still
  cuts X off from every image position, injected features included.
- The fast engine recomputes only the rows from the first knocked-out destination on
  (question or last), which come after the image: every image row, DeepStack features
  included, is the clean run's, so fast == exact without re-adding anything (measured on the
  fixture: 7e-10; ``tests/models/test_qwen2_vl.py``). The engine checks that premise on
  every sample (``adds_at_image_positions``) and refuses a prompt that puts the image after
  a destination.

The paper says nothing about Qwen3-VL: its thresholds are the project's default row.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import register_adapter
from .qwen2_vl import Qwen2VLAdapter


@register_adapter
@dataclass(frozen=True)
class Qwen3VLAdapter(Qwen2VLAdapter):
    family = "qwen3_vl"
    architecture = "Qwen3VLForConditionalGeneration"
    adds_at_image_positions = True  # DeepStack: see the module docstring

    @classmethod
    def default_prompt(cls, tokenizer) -> str:
        return "qwen3_vl"

    def repeat_vision(self, vision, n: int):
        """Features and every DeepStack layer's features, per image, repeated ``n`` times."""
        return type(vision)(**{**vision, "pooler_output": tuple(vision.pooler_output) * n,
                               "deepstack_features": [tuple(f) * n for f in vision.deepstack_features]})
