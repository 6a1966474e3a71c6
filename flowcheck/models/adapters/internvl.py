"""InternVL, transformers-native ("-hf") checkpoints (``InternVLForConditionalGeneration``):
tiles and a thumbnail.

- The image processor (GotOcr2's) picks a grid of cols x rows tiles of T x T px (T = 448):
  among the grids of ``min_patches``..``max_patches`` tiles, the one whose aspect ratio is
  closest to the image's; on a tie, the later grid (more tiles) while the image's area
  exceeds half the tiles' area (``tile_grid``). It squashes the image to cols*T x rows*T,
  cuts the tiles in raster order and, when there is more than one, appends a thumbnail (the
  whole image squashed to T x T) **last**.
- The sequence: ``<img>`` + 256 image tokens per tile (tiles, then the thumbnail) + ``</img>``.
  ``<img>`` and ``</img>`` are text tokens: neither image, related nor other.
- The vision tower sees 14-px patches (32 x 32 per tile), drops its CLS token and pixel-shuffles
  by 0.5: image token (a, c) of a tile holds patch rows 2a..2a+1 x columns 2c..2c+1, so one
  token per 28 x 28 px of a tile, in raster order. ``related`` = the cells, in any tile or
  the thumbnail, holding a pixel of a question object.
- 1-D rotary positions and a plain causal language model (Qwen2, Qwen3 or Llama): the fast
  engine applies as for LLaVA. In a causal model the tiles never see the thumbnail.
- Remote-code InternVL checkpoints (``InternVLChatModel``) are another class and stay refused:
  flowcheck runs no code from a model folder.

The paper says nothing about InternVL: its thresholds are the project's default row.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ModelError
from ..image_layout import ImageLayout, Segment
from .base import ModelAdapter, register_adapter, saved_processor


def tile_grid(image_w: int, image_h: int, tile: int, min_tiles: int, max_tiles: int) -> tuple[int, int]:
    """(cols, rows) of the tile grid: the closest aspect ratio among grids of min..max tiles
    (in order of tile count), a tie going to the later grid while the image's area exceeds
    half the grid's area (the processor's ``get_optimal_tiled_canvas``)."""
    grids = sorted(((c, r) for c in range(1, max_tiles + 1) for r in range(1, max_tiles + 1)
                    if min_tiles <= c * r <= max_tiles), key=lambda g: g[0] * g[1])
    aspect, area = image_w / image_h, image_w * image_h
    best, best_diff = (1, 1), float("inf")
    for c, r in grids:
        diff = abs(aspect - c / r)
        if diff < best_diff:
            best, best_diff = (c, r), diff
        elif diff == best_diff and area > 0.5 * tile * tile * c * r:
            best = (c, r)
    return best


def internvl_layout(image_w: int, image_h: int, tile: int, side: int,
                    tiling: tuple[int, int] | None) -> ImageLayout:
    """The image tokens of a W x H image: ``side`` x ``side`` tokens per T x T tile;
    ``tiling`` = (min, max) tiles, or None for one squashed tile (the module doc)."""
    cell = tile // side
    cols, rows = tile_grid(image_w, image_h, tile, *tiling) if tiling and tiling[1] > 1 else (1, 1)
    per_tile = side * side
    scale = (cols * tile / image_w, rows * tile / image_h)
    segments = [Segment(f"tile_{r}_{c}", (r * cols + c) * per_tile, side, side, side, cell, scale,
                        (-c * tile, -r * tile)) for r in range(rows) for c in range(cols)]
    if cols * rows > 1:
        segments.append(Segment("thumbnail", cols * rows * per_tile, side, side, side, cell,
                                (tile / image_w, tile / image_h)))
    return ImageLayout(len(segments) * per_tile, tuple(segments))


@register_adapter
@dataclass(frozen=True)
class InternVLAdapter(ModelAdapter):
    family = "internvl"
    architecture = "InternVLForConditionalGeneration"
    # the paper's code has no InternVL path: 'paper' is the processor's own tiling too
    preprocess_modes = ("paper", "checkpoint")

    @classmethod
    def default_prompt(cls, tokenizer) -> str:
        return "internvl"

    @classmethod
    def image_only_processor(cls, path):
        return load_image_only_processor(path)

    def image_text(self, processor, layout) -> tuple[str, str]:
        return processor.image_token, processor.start_image_token + processor.image_token * layout.n_tokens \
            + processor.end_image_token

    def vision_output(self, model, inputs: dict):
        cfg = model.config
        return model.model.get_image_features(
            pixel_values=inputs["pixel_values"], vision_feature_layer=cfg.vision_feature_layer,
            vision_feature_select_strategy=cfg.vision_feature_select_strategy, return_dict=True)

    def repeat_vision(self, vision, n: int):
        """(tiles, 256, d) features per image -> (n * tiles, 256, d) for n identical rows."""
        import torch
        return type(vision)(**{**vision, "pooler_output": torch.cat([vision.pooler_output] * n)})

    def layout(self, processor, model, image_w: int, image_h: int) -> ImageLayout:
        ip = processor.image_processor
        vc = model.config.vision_config
        tile = ip.size["height"]
        if ip.size["width"] != tile:
            raise ModelError(f"InternVL tiles are square; this image processor's size is {dict(ip.size)}")
        side = round(tile / vc.patch_size[0] * model.config.downsample_ratio)
        if side * side != processor.image_seq_length:
            raise ModelError(f"the processor puts {processor.image_seq_length} image tokens per tile, the "
                             f"model makes {side * side} ({tile} px / {vc.patch_size[0]} px patches x "
                             f"{model.config.downsample_ratio}); save the processor that belongs to "
                             "the model")
        kw = processor._merge_kwargs(tokenizer_init_kwargs=processor.tokenizer.init_kwargs)["images_kwargs"]
        crop = kw.get("crop_to_patches", ip.crop_to_patches)
        tiling = (kw.get("min_patches", ip.min_patches), kw.get("max_patches", ip.max_patches))
        return internvl_layout(image_w, image_h, tile, side, tiling if crop else None)


def image_only_processor(image_processor, tokenizer, image_seq_length: int = 256, chat_template=None):
    """InternVL's processor without its video processor (which needs torchvision): the same
    class and ``__call__`` for images and text; videos are not supported."""
    import re

    from transformers import InternVLProcessor
    from transformers.processing_utils import ProcessorMixin

    class InternVLImageProcessorOnly(InternVLProcessor):
        def __init__(self, image_processor=None, tokenizer=None, image_seq_length: int = 256,
                     chat_template=None, **kwargs):
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
            self.image_seq_length = image_seq_length
            self.start_image_token = tokenizer.start_image_token
            self.end_image_token = tokenizer.end_image_token
            self.start_image_token_id = tokenizer.start_image_token_id
            self.end_image_token_id = tokenizer.end_image_token_id
            self.image_token = tokenizer.context_image_token
            self.image_token_id = tokenizer.context_image_token_id
            self.video_token = tokenizer.video_token
            self.multimodal_pattern = re.compile(
                f"(?P<image>{re.escape(self.image_token)})|(?P<video>{re.escape(self.video_token)})")

    return InternVLImageProcessorOnly(image_processor=image_processor, tokenizer=tokenizer,
                                      image_seq_length=image_seq_length, chat_template=chat_template)


def load_image_only_processor(path):
    """``image_only_processor`` from an InternVL folder: its image processor settings, tokenizer,
    image tokens per tile and chat template, as the stock processor would read them."""
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil
    config, chat_template, tokenizer = saved_processor(path)
    ip = GotOcr2ImageProcessorPil.from_pretrained(path, local_files_only=True)
    return image_only_processor(ip, tokenizer, config.get("image_seq_length", 256), chat_template)
