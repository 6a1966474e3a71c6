"""Gemma 3 (``Gemma3ForConditionalGeneration``): 256 image tokens, a bidirectional image block,
two rotary tables and sliding-window layers.

- The image is squashed to 896 x 896 px (pan-and-scan off, the default); SigLIP's 14-px
  patches (64 x 64) are average-pooled 4 x 4: 16 x 16 image tokens, one per 56 x 56 px, in
  raster order. The processor writes ``\\n\\n<start_of_image>`` + 256 x ``<image_soft_token>``
  + ``<end_of_image>\\n\\n`` where the prompt has ``<start_of_image>``: the image tokens are the
  model's ``config.image_token_id`` (the soft token), not ``processor.image_token_id`` (the
  start-of-image marker); the markers and newlines are text.
- Every forward gets the processor's ``token_type_ids``: with them the image tokens attend to
  each other both ways (without them the model silently runs fully causal). The flows the
  claims measure end at question or last, after the image block, so they stay one-way; but
  within the image block information moves both ways, so "related" and "other" image tokens
  have mixed before any image->question edge is blocked, and related->question vs
  other->question separate less than in a causal model. The self-check that blocking future
  positions changes nothing accepts the bidirectional image block and records it.
- Rotary: local (sliding) layers use base 1e4, global layers base 1e6 (linear x8): the fast
  engine takes each layer's own table (``rotary_tables``). Five of every six layers attend
  within a sliding window (1024 in released checkpoints): the fast engine builds plain causal
  masks, right while the prompt fits the window (a GQA prompt is about 300 tokens), and
  refuses a longer prompt (``--engine exact`` measures it).

The paper says nothing about Gemma 3: its thresholds are the project's default row.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..image_layout import ImageLayout, single_grid
from .base import ModelAdapter, register_adapter


@register_adapter
@dataclass(frozen=True)
class Gemma3Adapter(ModelAdapter):
    family = "gemma3"
    architecture = "Gemma3ForConditionalGeneration"
    # the paper's code has no Gemma 3 path: 'paper' is the processor's own squash too
    preprocess_modes = ("paper", "checkpoint")
    family_note = ("image tokens attend to each other both ways (a bidirectional image block): related "
                   "and other image tokens mix before any image->question edge is blocked, so "
                   "related->question and other->question separate less than in a causal model; the "
                   "flows into question and last stay one-way")

    @classmethod
    def default_prompt(cls, tokenizer) -> str:
        return "gemma3"

    def vision_output(self, model, inputs: dict):
        return model.model.get_image_features(pixel_values=inputs["pixel_values"], return_dict=True)

    def repeat_vision(self, vision, n: int):
        """(1, 256, d) features per image -> (n, 256, d) for n identical rows."""
        import torch
        return type(vision)(**{**vision, "pooler_output": torch.cat([vision.pooler_output] * n)})

    def image_text(self, processor, layout) -> tuple[str, str]:
        """The prompt's ``<start_of_image>`` becomes blank lines, the markers and the soft tokens."""
        tok = processor.tokenizer
        return tok.boi_token, f"\n\n{tok.boi_token}{tok.image_token * layout.n_tokens}{tok.eoi_token}\n\n"

    def rotary_tables(self, model, x, position_ids) -> list:
        """(cos, sin) per decoder layer: each layer type's own table."""
        cfg = model.config.text_config
        rotary = self.rotary(model)
        tables = {t: rotary(x, position_ids, t) for t in set(cfg.layer_types)}
        return [tables[t] for t in cfg.layer_types]

    def attention_window(self, model) -> int | None:
        """The smallest sliding window of any layer (None: every layer attends to all before)."""
        cfg = model.config.text_config
        return cfg.sliding_window if "sliding_attention" in cfg.layer_types else None

    def layout(self, processor, model, image_w: int, image_h: int) -> ImageLayout:
        ip = processor.image_processor
        side = ip.size["height"]
        per_side = round(model.config.mm_tokens_per_image ** 0.5)
        return single_grid("squash", 0, (ip.size["width"], side), side // per_side, image_w, image_h)
