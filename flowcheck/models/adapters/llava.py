"""LLaVA-1.5 (``LlavaForConditionalGeneration``): one grid of image tokens.

Image preprocessing, ``preprocess``:
- 'paper' (default): as the official code and LLaVA-1.5's training (``image_aspect_ratio:
  pad``): the image is padded to a centred square with the processor's mean colour, then
  processed (the square is resized to the grid; nothing is cut off);
- 'checkpoint': the saved processor's own settings (llava-hf: resize the shortest edge and
  centre-crop, which can cut a question's object off the grid).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..image_layout import ImageLayout, Segment, single_grid
from .base import ModelAdapter, register_adapter


def expand_to_square(image, fill):
    """The official code's ``expand2square``: paste centred on a ``fill`` square."""
    from PIL import Image
    w, h = image.size
    if w == h:
        return image
    side = max(w, h)
    out = Image.new(image.mode, (side, side), fill)
    out.paste(image, ((side - w) // 2, (side - h) // 2))
    return out


def processor_grid(processor, model, image_w: int, image_h: int) -> ImageLayout:
    """The one-grid layout the processor's own settings give a W x H image."""
    ip = processor.image_processor
    patch = model.config.vision_config.patch_size
    crop = getattr(ip, "crop_size", None) or {}
    size = getattr(ip, "size", None) or {}
    if getattr(ip, "do_pad", False):
        side = size.get("shortest_edge") or size.get("height")
        return single_grid("pad", side, (side, side), patch, image_w, image_h)
    if getattr(ip, "do_center_crop", False):
        return single_grid("crop", size["shortest_edge"], (crop["width"], crop["height"]), patch,
                           image_w, image_h)
    if "height" in size:
        return single_grid("squash", size["height"], (size["width"], size["height"]), patch,
                           image_w, image_h)
    side = size["shortest_edge"]
    return single_grid("squash", side, (side, side), patch, image_w, image_h)


@register_adapter
@dataclass(frozen=True)
class LlavaAdapter(ModelAdapter):
    family = "llava"
    architecture = "LlavaForConditionalGeneration"
    preprocess_modes = ("paper", "checkpoint")

    def prepare_image(self, processor, image):
        if self.preprocess != "paper":
            return image
        fill = tuple(int(m * 255) for m in processor.image_processor.image_mean)
        return expand_to_square(image.convert("RGB"), fill)

    def vision_output(self, model, inputs: dict):
        cfg = model.config
        return model.model.get_image_features(
            pixel_values=inputs["pixel_values"], vision_feature_layer=cfg.vision_feature_layer,
            vision_feature_select_strategy=cfg.vision_feature_select_strategy, return_dict=True)

    def layout(self, processor, model, image_w: int, image_h: int) -> ImageLayout:
        if self.preprocess != "paper" or image_w == image_h:
            return processor_grid(processor, model, image_w, image_h)
        side = max(image_w, image_h)
        square = processor_grid(processor, model, side, side)  # the padded image's grid
        pad_x, pad_y = (side - image_w) // 2, (side - image_h) // 2
        (grid,) = square.segments
        (sx, sy), (ox, oy) = grid.scale, grid.shift
        moved = Segment(grid.name, grid.offset, grid.rows, grid.cols, grid.stride, grid.cell,
                        grid.scale, (ox + pad_x * sx, oy + pad_y * sy))
        return ImageLayout(square.n_tokens, (moved,))
