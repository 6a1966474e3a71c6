"""SmolVLM (``SmolVLMForConditionalGeneration``): tiles with row/column markers, a global image
last, pixel shuffle.

- The image processor resizes the image so that its longest edge is ``size`` (2,048 px for
  SmolVLM-256M/500M; small images are *enlarged*), then to multiples of the tile side T
  (``max_image_size``, 512 px), cuts T x T tiles in raster order and appends the whole
  (second) image squashed to T x T as a global image, **last**; an image that fits one tile
  is that tile alone. Three resizes in turn, each sampled at pixel centres by the mask method
  (``CellSegment.stages``): the map from original pixels to a tile's cells is exact.
- The vision tower (SigLIP, 16-px patches: 32 x 32 per tile) is pixel-shuffled by the
  ``scale_factor`` (4): one image token per 64 x 64 px block of a tile, in raster order; 64
  per tile. ``related`` = the cells, in any tile or the global image, holding a pixel of a
  question object.
- The sequence: per tile ``<fake_token_around_image><row_i_col_j>`` then its image tokens, a
  newline after each row of tiles, then ``\\n<fake_token_around_image><global-img>``, the global
  image's tokens and ``<fake_token_around_image>``. Only ``<image>`` tokens are image tokens;
  markers and newlines are text.
- The language model (SmolLM2, Llama) sits at ``model.model.text_model``; 1-D rotary
  positions, causal: the fast engine applies.

Idefics3 shares this code (another class name and other defaults) and takes the generic path
until it has a fixture of its own. The paper says nothing about SmolVLM: its thresholds are the
project's default row.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import ModelError
from ..image_layout import CellSegment, ImageLayout
from .base import ModelAdapter, register_adapter, saved_processor


def longest_edge_size(image_h: int, image_w: int, longest: int) -> tuple[int, int]:
    """(h, w) after the first resize: the longest edge to ``longest``, the other kept in
    proportion (truncated, then made even), both at most 4,096 px (the processor's rule)."""
    import numpy as np
    from transformers.models.smolvlm.image_processing_pil_smolvlm import get_resize_output_image_size
    return tuple(get_resize_output_image_size(np.zeros((1, image_h, image_w)), resolution_max_side=longest))


def tile_multiple_size(h: int, w: int, tile: int) -> tuple[int, int]:
    """(h, w) after the second resize: the longer side up to a multiple of the tile, the other
    in proportion, then up to a multiple of the tile (``resize_for_vision_encoder``)."""
    import math
    if w >= h:
        new_w = math.ceil(w / tile) * tile
        return math.ceil(int(new_w / (w / h)) / tile) * tile, new_w
    new_h = math.ceil(h / tile) * tile
    return new_h, math.ceil(int(new_h * (w / h)) / tile) * tile


def smolvlm_layout(image_w: int, image_h: int, longest: int, tile: int, cell: int,
                   splitting: bool) -> ImageLayout:
    """The image tokens of a W x H image (module doc); ``cell`` px per token side of a tile."""
    side = tile // cell
    per_tile = side * side
    cells = tuple(((i * cell, (i + 1) * cell),) for i in range(side))
    h1, w1 = longest_edge_size(image_h, image_w, longest)
    first = (w1 / image_w, h1 / image_h)
    if not splitting:
        only = CellSegment("global", 0, side, cells, cells, (first, (tile / w1, tile / h1)))
        return ImageLayout(per_tile, (only,))
    h2, w2 = tile_multiple_size(h1, w1, tile)
    second = (w2 / w1, h2 / h1)
    if h2 <= tile and w2 <= tile:
        return ImageLayout(per_tile, (CellSegment("global", 0, side, cells, cells, (first, second)),))
    rows, cols = h2 // tile, w2 // tile
    segments = [CellSegment(f"tile_{r}_{c}", (r * cols + c) * per_tile, side, cells, cells, (first, second),
                            (-c * tile, -r * tile)) for r in range(rows) for c in range(cols)]
    segments.append(CellSegment("global", rows * cols * per_tile, side, cells, cells,
                                (first, second, (tile / w2, tile / h2))))
    return ImageLayout(len(segments) * per_tile, tuple(segments))


@register_adapter
@dataclass(frozen=True)
class SmolVLMAdapter(ModelAdapter):
    family = "smolvlm"
    architecture = "SmolVLMForConditionalGeneration"
    # the paper's code has no SmolVLM path: 'paper' is the processor's own tiling too
    preprocess_modes = ("paper", "checkpoint")

    @classmethod
    def default_prompt(cls, tokenizer) -> str:
        return "smolvlm"

    @classmethod
    def image_only_processor(cls, path):
        return load_image_only_processor(path)

    def language_model(self, model):
        return model.model.text_model

    def vision_output(self, model, inputs: dict):
        return model.model.get_image_features(pixel_values=inputs["pixel_values"],
                                              pixel_attention_mask=inputs.get("pixel_attention_mask"),
                                              return_dict=True)

    def image_text(self, processor, layout: ImageLayout) -> tuple[str, str]:
        """``<image>`` becomes every tile's markers and tokens, then the global image's."""
        from transformers.models.smolvlm.processing_smolvlm import get_image_prompt_string
        tiles = [s.name.split("_")[1:] for s in layout.segments if s.name.startswith("tile_")]
        rows = max((int(r) + 1 for r, _ in tiles), default=0)
        cols = max((int(c) + 1 for _, c in tiles), default=0)
        text = get_image_prompt_string(rows, cols, processor.image_seq_len, processor.fake_image_token,
                                       processor.image_token, processor.global_image_token)
        return processor.image_token, text

    def layout(self, processor, model, image_w: int, image_h: int) -> ImageLayout:
        ip = processor.image_processor
        vc = model.config.vision_config
        tile = ip.max_image_size["longest_edge"]
        cell = vc.patch_size * model.config.scale_factor
        if (tile // cell) ** 2 != processor.image_seq_len:
            raise ModelError(f"the processor puts {processor.image_seq_len} image tokens per tile, the model "
                             f"makes {(tile // cell) ** 2} ({tile} px / {vc.patch_size} px patches / "
                             f"{model.config.scale_factor}); save the processor that belongs to the model")
        return smolvlm_layout(image_w, image_h, ip.size["longest_edge"], tile, cell, ip.do_image_splitting)


def image_only_processor(image_processor, tokenizer, image_seq_len: int = 169, chat_template=None):
    """SmolVLM's processor without its video processor (torchvision) and without num2words
    (video prompts only): the same class and ``__call__`` for images and text."""
    from transformers import SmolVLMProcessor
    from transformers.processing_utils import ProcessorMixin

    class SmolVLMImageProcessorOnly(SmolVLMProcessor):
        def __init__(self, image_processor=None, tokenizer=None, image_seq_len: int = 169,
                     chat_template=None, **kwargs):
            self.fake_image_token = getattr(tokenizer, "fake_image_token", "<fake_token_around_image>")
            self.image_token = getattr(tokenizer, "image_token", "<image>")
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.end_of_utterance_token = getattr(tokenizer, "end_of_utterance_token", "<end_of_utterance>")
            self.global_image_token = getattr(tokenizer, "global_image_token", "<global-img>")
            self.image_seq_len = image_seq_len
            self.video_token = getattr(tokenizer, "video_token", "<video>")
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

        def apply_chat_template(self, conversation, chat_template=None, **kwargs):
            """The stock one reads the video processor's frame count; without video, the mixin's."""
            return ProcessorMixin.apply_chat_template(self, conversation, chat_template, **kwargs)

    return SmolVLMImageProcessorOnly(image_processor=image_processor, tokenizer=tokenizer,
                                     image_seq_len=image_seq_len, chat_template=chat_template)


def load_image_only_processor(path):
    """``image_only_processor`` from a SmolVLM folder: its image processor settings, tokenizer,
    image tokens per tile and chat template, as the stock processor would read them."""
    from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil
    config, chat_template, tokenizer = saved_processor(path)
    ip = SmolVLMImageProcessorPil.from_pretrained(path, local_files_only=True)
    return image_only_processor(ip, tokenizer, config.get("image_seq_len", 169), chat_template)
