"""Qwen2.5-VL (``Qwen2_5_VLForConditionalGeneration``): Qwen2-VL's sequence, layout and
positions, so the Qwen2-VL adapter as it is, under its own family name.

- The same image processor (``smart_resize`` to multiples of 28 px, 14-px patches merged
  2 x 2, raster order) and the same ``get_rope_index`` (M-RoPE from ``mm_token_type_ids``,
  which the processor returns and every forward passes on).
- What differs is inside the vision tower: window attention in most ViT blocks (full
  attention in ``fullatt_block_indexes``); the merger's output is put back in raster order,
  so one image token is still one 28 x 28 block of the resized image
  (``tests/models/test_qwen2_vl.py`` checks it against the mask method on this fixture too).

The paper says nothing about Qwen2.5-VL: the claims' thresholds for it are the project's
default row, reported as not read off the paper.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import register_adapter
from .qwen2_vl import Qwen2VLAdapter


@register_adapter
@dataclass(frozen=True)
class Qwen2_5VLAdapter(Qwen2VLAdapter):
    family = "qwen2_5_vl"
    architecture = "Qwen2_5_VLForConditionalGeneration"
