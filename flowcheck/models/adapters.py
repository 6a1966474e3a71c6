"""Adapters: per model family, where the token groups and the attention are.

An adapter knows the family's prompt, how its processor maps an image onto the patch
grid, and where the language model's decoder layers, final norm and unembedding live.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError
from ..regions import ImageTransform
from ..registry import Registry
from .prompts import LLAVA15


@dataclass(frozen=True)
class LlavaAdapter:
    """``LlavaForConditionalGeneration`` (LLaVA-1.5 layout: one grid of image tokens)."""

    family: str = "llava"
    prompt_template: str = LLAVA15

    def prompt(self, question: str) -> str:
        return self.prompt_template.format(question=question)

    def question_span(self, question: str) -> tuple[int, int]:
        start = self.prompt_template.index("{question}")
        return start, start + len(question)

    def image_transform(self, processor, model) -> ImageTransform:
        ip = processor.image_processor
        patch = model.config.vision_config.patch_size
        crop = getattr(ip, "crop_size", None) or {}
        size = getattr(ip, "size", None) or {}
        if getattr(ip, "do_pad", False):
            side = size.get("shortest_edge") or size.get("height")
            return ImageTransform("pad", side, (side, side), patch)
        if getattr(ip, "do_center_crop", False):
            return ImageTransform("crop", size["shortest_edge"], (crop["width"], crop["height"]), patch)
        if "height" in size:
            return ImageTransform("squash", size["height"], (size["width"], size["height"]), patch)
        side = size["shortest_edge"]
        return ImageTransform("squash", side, (side, side), patch)

    # where things are in the HF module tree
    def language_model(self, model):
        return model.model.language_model

    def lm_head(self, model):
        return model.lm_head

    def image_features(self, model, pixel_values):
        """Projected image features, one (n_tokens, hidden) tensor per image."""
        cfg = model.config
        out = model.model.get_image_features(
            pixel_values=pixel_values, vision_feature_layer=cfg.vision_feature_layer,
            vision_feature_select_strategy=cfg.vision_feature_select_strategy, return_dict=True)
        return out.pooler_output


ADAPTERS = Registry("model class", {"LlavaForConditionalGeneration": LlavaAdapter()},
                    plural="supported model classes")


def adapter_for(model):
    name = type(model).__name__
    if name not in ADAPTERS:
        raise ModelError(f"model class {name} is not supported; supported families: "
                         f"{', '.join(ADAPTERS)}")
    return ADAPTERS[name]
