"""LLaVA-NeXT (``LlavaNextForConditionalGeneration``): the anyres layout.

One image becomes (as transformers packs it, ``pack_image_features``):
- ``base``: the whole image squashed to one tile (S x S px, S/p x S/p tokens), first;
- ``hd``: the image resized into the best canvas of ``image_grid_pinpoints`` (aspect kept,
  centred, black padding), cut into S x S tiles, the tiles' patch grids joined into one
  grid over the canvas, the padded rows (or columns) removed, and one learned ``newline``
  token appended to every row.

Token groups: ``image`` = every inserted position (base, hd and newlines, as the official
code's "Image"); ``related`` = base and hd cells holding a pixel of a question object;
newline tokens are in neither ``related`` nor ``other``. Extra groups, as the official
code's NeXT groups: ``base``, ``hd``, ``related_hd``, ``newline``.

transformers and the original LLaVA-NeXT code break ties between pinpoints in another order
(and round the unpadding differently); a sample whose layout the original code would build
otherwise is recorded in ``ImageLayout.notes`` and in the run's metadata, not hidden.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import ModelError
from ..image_layout import ImageLayout, Segment
from .base import ModelAdapter, register_adapter


def best_canvas(image_h: int, image_w: int, pinpoints, order: str = "hf") -> tuple[int, int]:
    """(height, width) of the pinpoint canvas: most effective pixels, then least waste, then
    the first in list order. transformers reads a pinpoint as (h, w) ('hf'); the original
    LLaVA-NeXT code reads the same list as (w, h) ('original')."""
    best, best_eff, best_waste = None, 0, math.inf
    for a, b in pinpoints:
        h, w = (a, b) if order == "hf" else (b, a)
        s = min(w / image_w, h / image_h)
        eff = min(int(image_w * s) * int(image_h * s), image_w * image_h)
        waste = w * h - eff
        if eff > best_eff or (eff == best_eff and waste < best_waste):
            best, best_eff, best_waste = (h, w), eff, waste
    return best


def _unpad(image_h: int, image_w: int, ch: int, cw: int, rounding: str):
    """(first row, first col, rows, cols) kept of a ch x cw canvas grid."""
    cut = (lambda v: int(round(v, 7))) if rounding == "hf" else int
    if image_w / image_h > cw / ch:
        pad = (ch - cut(image_h * (cw / image_w))) // 2
        return pad, 0, ch - 2 * pad, cw
    pad = (cw - cut(image_w * (ch / image_h))) // 2
    return 0, pad, ch, cw - 2 * pad


def hd_placement(image_w: int, image_h: int, canvas_h: int, canvas_w: int) -> tuple[int, int, int, int]:
    """(height, width, top, left) of the image resized into its canvas, aspect kept, centred:
    the processor's own arithmetic in its own order (``scale = canvas / size`` first, then
    ``ceil(size * scale)``). ``ceil(375 * 672 / 500)`` is 504 but ``ceil(375 * (672 / 500))``
    is 505 in floats; the one-pixel difference moves a whole HD row of related tokens."""
    scale_w, scale_h = canvas_w / image_w, canvas_h / image_h
    if scale_w < scale_h:
        nw, nh = canvas_w, min(math.ceil(image_h * scale_w), canvas_h)
    else:
        nh, nw = canvas_h, min(math.ceil(image_w * scale_h), canvas_w)
    return nh, nw, (canvas_h - nh) // 2, (canvas_w - nw) // 2


def matching_pinpoints(processor, model) -> list:
    """The image processor's ``image_grid_pinpoints``, checked against the model config's (a
    processor saved for another model would put the tokens elsewhere)."""
    pinpoints = processor.image_processor.image_grid_pinpoints
    if [list(p) for p in pinpoints] != [list(p) for p in model.config.image_grid_pinpoints]:
        raise ModelError("the image processor's image_grid_pinpoints differ from the model "
                         "config's; save the processor that belongs to the model")
    return pinpoints


def anyres_layout(image_w: int, image_h: int, pinpoints, tile: int, patch: int,
                  order: str = "hf") -> ImageLayout:
    """The image tokens of a W x H image (module doc); ``order`` 'original' gives the layout of
    the original LLaVA-NeXT code (its tie-break and its unpad rounding)."""
    g = tile // patch
    hc, wc = best_canvas(image_h, image_w, pinpoints, order)
    nh, nw, top, left = hd_placement(image_w, image_h, hc, wc)
    r0, c0, rows, cols = _unpad(image_h, image_w, hc // patch, wc // patch, order)
    base = Segment("base", 0, g, g, g, patch, (tile / image_w, tile / image_h))
    hd = Segment("hd", g * g, rows, cols, cols + 1, patch, (nw / image_w, nh / image_h),
                 (left - c0 * patch, top - r0 * patch))
    return ImageLayout(g * g + rows * (cols + 1), (base, hd), notes={"canvas": [hc, wc]})


@register_adapter
@dataclass(frozen=True)
class LlavaNextAdapter(ModelAdapter):
    family = "llava_next"
    architecture = "LlavaNextForConditionalGeneration"
    extra_groups = ("base", "hd", "related_hd", "newline")
    preprocess_modes = ("paper", "checkpoint")  # the same here: anyres is the paper's way
    note_texts = {"original_code_differs": "get another tile layout from the original LLaVA-NeXT "
                  "code than from transformers (pinpoint tie-break)"}

    def vision_output(self, model, inputs: dict):
        cfg = model.config
        return model.model.get_image_features(
            pixel_values=inputs["pixel_values"], image_sizes=inputs["image_sizes"],
            vision_feature_layer=cfg.vision_feature_layer,
            vision_feature_select_strategy=cfg.vision_feature_select_strategy, return_dict=True)

    def layout(self, processor, model, image_w: int, image_h: int) -> ImageLayout:
        vc = model.config.vision_config
        pinpoints = matching_pinpoints(processor, model)
        layout = anyres_layout(image_w, image_h, pinpoints, vc.image_size, vc.patch_size)
        original = anyres_layout(image_w, image_h, pinpoints, vc.image_size, vc.patch_size,
                                 order="original")
        if original.n_tokens != layout.n_tokens or original.notes != layout.notes:
            layout.notes.update(original_code_differs={
                "hf": {"canvas_hw": layout.notes["canvas"], "tokens": layout.n_tokens},
                "original": {"canvas_hw": original.notes["canvas"], "tokens": original.n_tokens}})
        return layout
