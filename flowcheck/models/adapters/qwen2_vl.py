"""Qwen2-VL (``Qwen2VLForConditionalGeneration``): dynamic resolution and 3-D rotary positions.

- The image is resized (``smart_resize``) to multiples of 28 px, keeping its aspect ratio,
  within the processor's min/max pixels; the vision tower sees 14-px patches and merges
  2 x 2 of them into one image token: one token per 28 x 28 block, in raster order, between
  ``<|vision_start|>`` and ``<|vision_end|>`` (those two are text tokens: neither image,
  related nor other).
- Rotary positions are 3-D (M-RoPE: temporal, height, width), from the model's own
  ``get_rope_index``: text tokens count up together in all three, image tokens take their
  row and column. The fast engine must use exactly these: a wrong angle raises no error,
  it only changes the numbers (``tests/models/test_qwen2_vl.py`` guards it).
- ``last`` is the final prompt position (the newline after ``<|im_start|>assistant``): the
  one whose output predicts the first answer token.

The paper says nothing about Qwen2-VL; its claims' thresholds for this family are this
project's reading (the LLaVA ones), stated in each claim's YAML.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..image_layout import ImageLayout, single_grid
from .base import ModelAdapter, register_adapter


def qwen_resize(processor, image_w: int, image_h: int) -> tuple[int, int]:
    """(width, height) the processor resizes a W x H image to (``smart_resize``)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
    ip = processor.image_processor
    factor = ip.patch_size * ip.merge_size
    size = getattr(ip, "size", None) or {}
    min_pixels = size.get("shortest_edge", getattr(ip, "min_pixels", None))
    max_pixels = size.get("longest_edge", getattr(ip, "max_pixels", None))
    h, w = smart_resize(image_h, image_w, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    return w, h


@register_adapter
@dataclass(frozen=True)
class Qwen2VLAdapter(ModelAdapter):
    family = "qwen2_vl"
    architecture = "Qwen2VLForConditionalGeneration"
    # the paper's code has no Qwen2-VL path: 'paper' is the processor's own dynamic resize too
    preprocess_modes = ("paper", "checkpoint")

    @classmethod
    def default_prompt(cls, tokenizer) -> str:
        return "qwen2_vl"

    @classmethod
    def image_only_processor(cls, path):
        return load_image_only_processor(path)

    def encode_inputs(self, processor, image, prompt: str, **text_kwargs) -> dict:
        batch = processor(images=[image], text=[prompt], return_tensors="pt", **text_kwargs)
        return dict(batch)

    def vision_output(self, model, inputs: dict):
        return model.model.get_image_features(pixel_values=inputs["pixel_values"],
                                              image_grid_thw=inputs["image_grid_thw"], return_dict=True)

    def position_ids(self, inputs: dict, model=None):
        """(3, 1, seq): the model's own M-RoPE positions for this prompt and image."""
        if model is None:
            raise TypeError("Qwen2-VL positions come from the model's get_rope_index: pass the model")
        positions, _ = model.model.get_rope_index(
            inputs["input_ids"], mm_token_type_ids=inputs["mm_token_type_ids"],
            image_grid_thw=inputs["image_grid_thw"], attention_mask=inputs["attention_mask"])
        return positions

    def layout(self, processor, model, image_w: int, image_h: int) -> ImageLayout:
        w, h = qwen_resize(processor, image_w, image_h)
        ip = processor.image_processor
        return single_grid("squash", 0, (w, h), ip.patch_size * ip.merge_size, image_w, image_h)


def image_only_processor(image_processor, tokenizer):
    """Qwen2-VL's processor without its video processor (which needs torchvision): the same
    class and the same ``__call__`` for images and text; videos are not supported."""
    from transformers import Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class Qwen2VLImageProcessorOnly(Qwen2VLProcessor):
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token = tokenizer.image_token
            self.video_token = getattr(tokenizer, "video_token", "<|video_pad|>")
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    return Qwen2VLImageProcessorOnly(image_processor=image_processor, tokenizer=tokenizer)


def load_image_only_processor(path):
    """``image_only_processor`` from a Qwen2-VL folder: its image processor settings and
    tokenizer, as the stock processor would read them."""
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    ip = Qwen2VLImageProcessorPil.from_pretrained(path, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    return image_only_processor(ip, tokenizer)
