"""LLaVA-OneVision (``LlavaOnevisionForConditionalGeneration``): LLaVA-NeXT's anyres packing
with a SigLIP tower and the anyres_max_9 rule.

One image becomes (as transformers packs it, ``pack_image_features``):
- ``base``: the whole image squashed to one 384-px tile; SigLIP's 14-px patches give 27 x 27
  cells covering 378 px (a "valid" convolution: the last 6 px of each side are never seen,
  so a box there relates to no token and the sample records ``object_cut_off``); no CLS;
- ``hd``: the image resized into the best of 36 pinpoint canvases (up to 2304 px, aspect
  kept, centred, padded), cut into 384-px tiles whose 27 x 27 grids are joined (each tile
  again missing its last 6 px), the padded rows or columns removed, and - the anyres_max_9
  rule - when that grid holds more than 1.21 x 9 x 729 cells it is bilinearly resized to
  (rows // r, cols // r), r = sqrt(cells / (9 x 729)); then one newline token per row.

``related`` is the paper's mask rule through this packing: a token is related when a cell it
is built from holds a pixel of a question object. After the bilinear resize a token blends
the (up to) 2 x 2 cells its sampling point falls between, so its footprint is those cells
with non-zero weight (``bilinear_footprint``): related if any of them holds a box pixel, the
rule one gets by sending a red-box mask through the model's own packing (tested). The
resize only happens for images larger than the paper's GQA images (about 1,000 px and up).

Newline tokens carry ``config.image_token_id`` as the image tokens do (the processor counts
them): they are image tokens, in neither ``related`` nor ``other`` (group ``newline``), as
in LLaVA-NeXT. Positions are 1-D and the language model (Qwen2) causal: the fast engine
applies. The paper says nothing about OneVision: its thresholds are the project's default row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import ModelError
from ..image_layout import CellSegment, ImageLayout, Segment
from .base import ModelAdapter, register_adapter, saved_processor
from .llava_next import _unpad, best_canvas, hd_placement, matching_pinpoints

MAX_TILES = 9  # anyres_max_9


def bilinear_footprint(n_in: int, n_out: int) -> list[tuple[int, ...]]:
    """Per output index, the input indices a bilinear resize (align_corners False, as
    ``torch.nn.functional.interpolate``) gives a non-zero weight, computed in float32 as the
    CPU kernel does."""
    import numpy as np
    if n_out == n_in:
        return [(i,) for i in range(n_in)]
    scale = np.float32(n_in) / np.float32(n_out)
    out = []
    for o in range(n_out):
        src = max(scale * (np.float32(o) + np.float32(0.5)) - np.float32(0.5), np.float32(0))
        i0 = int(np.floor(src))
        weight = src - np.float32(i0)
        i1 = i0 + 1 if i0 < n_in - 1 else i0
        out.append((i0, i1) if weight > 0 and i1 != i0 else (i0,))
    return out


def onevision_layout(image_w: int, image_h: int, pinpoints, tile: int, patch: int) -> ImageLayout:
    """The image tokens of a W x H image (module doc)."""
    g = tile // patch  # cells per tile side (27 for 384 / 14)
    hc, wc = best_canvas(image_h, image_w, pinpoints)
    nh, nw, top, left = hd_placement(image_w, image_h, hc, wc)
    r0, c0, rows, cols = _unpad(image_h, image_w, hc // tile * g, wc // tile * g, "hf")
    ratio = math.sqrt(rows * cols / (MAX_TILES * g * g))
    out_rows, out_cols = (int(rows // ratio), int(cols // ratio)) if ratio > 1.1 else (rows, cols)

    def spans(first: int, n_in: int, n_out: int):  # output index -> canvas pixel intervals
        def px(cell: int) -> tuple[int, int]:
            start = cell // g * tile + cell % g * patch  # tile origin + cell within the tile
            return start, start + patch
        return tuple(tuple(px(first + i) for i in src) for src in bilinear_footprint(n_in, n_out))

    base = Segment("base", 0, g, g, g, patch, (tile / image_w, tile / image_h))
    hd = CellSegment("hd", g * g, out_cols + 1, spans(r0, rows, out_rows), spans(c0, cols, out_cols),
                     ((nw / image_w, nh / image_h),), (left, top))
    resize = {"grid": [rows, cols], "resized_to": [out_rows, out_cols]}
    notes = {"anyres_max_9": resize} if ratio > 1.1 else {}
    return ImageLayout(g * g + out_rows * (out_cols + 1), (base, hd), notes=notes)


@register_adapter
@dataclass(frozen=True)
class LlavaOnevisionAdapter(ModelAdapter):
    family = "llava_onevision"
    architecture = "LlavaOnevisionForConditionalGeneration"
    extra_groups = ("base", "hd", "related_hd", "newline")
    # the paper's code has no OneVision path: 'paper' is the processor's own anyres too
    preprocess_modes = ("paper", "checkpoint")
    note_texts = {"anyres_max_9": "are large enough that the high-resolution grid is bilinearly "
                  "resized (anyres_max_9): a token there blends up to 2 x 2 cells, related if any holds "
                  "a box pixel"}

    @classmethod
    def default_prompt(cls, tokenizer) -> str:
        return "llava_onevision"

    @classmethod
    def image_only_processor(cls, path):
        return load_image_only_processor(path)

    def vision_output(self, model, inputs: dict):
        cfg = model.config
        return model.model.get_image_features(
            pixel_values=inputs["pixel_values"], image_sizes=inputs["image_sizes"],
            vision_feature_layer=cfg.vision_feature_layer,
            vision_feature_select_strategy=cfg.vision_feature_select_strategy,
            vision_aspect_ratio=cfg.vision_aspect_ratio, return_dict=True)

    def layout(self, processor, model, image_w: int, image_h: int) -> ImageLayout:
        vc = model.config.vision_config
        pinpoints = matching_pinpoints(processor, model)
        if model.config.vision_aspect_ratio != f"anyres_max_{MAX_TILES}":
            raise ModelError(f"vision_aspect_ratio {model.config.vision_aspect_ratio!r}: flowcheck knows "
                             f"the layout of anyres_max_{MAX_TILES} only")
        return onevision_layout(image_w, image_h, pinpoints, vc.image_size, vc.patch_size)


def image_only_processor(image_processor, tokenizer, chat_template=None, **settings):
    """LLaVA-OneVision's processor without its video processor (which needs torchvision): the
    same class and ``__call__`` for images and text; videos are not supported."""
    from transformers import LlavaOnevisionProcessor
    from transformers.processing_utils import ProcessorMixin

    class LlavaOnevisionImageProcessorOnly(LlavaOnevisionProcessor):
        def __init__(self, image_processor=None, tokenizer=None, num_image_tokens=None,
                     vision_feature_select_strategy=None, chat_template=None, image_token="<image>",
                     video_token="<video>", vision_aspect_ratio="anyres_max_9", **kwargs):
            self.num_image_tokens = num_image_tokens
            self.vision_feature_select_strategy = vision_feature_select_strategy
            self.image_token = getattr(tokenizer, "image_token", None) or image_token
            self.video_token = getattr(tokenizer, "video_token", None) or video_token
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            self.vision_aspect_ratio = vision_aspect_ratio
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    return LlavaOnevisionImageProcessorOnly(image_processor=image_processor, tokenizer=tokenizer,
                                            chat_template=chat_template, **settings)


def load_image_only_processor(path):
    """``image_only_processor`` from a OneVision folder: its image processor settings,
    tokenizer, processor settings and chat template, as the stock processor would read them."""
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )
    config, chat_template, tokenizer = saved_processor(path)
    ip = LlavaOnevisionImageProcessorPil.from_pretrained(path, local_files_only=True)
    settings = {k: config[k] for k in ("num_image_tokens", "vision_feature_select_strategy", "image_token",
                                       "video_token", "vision_aspect_ratio") if k in config}
    return image_only_processor(ip, tokenizer, chat_template, **settings)
