"""The generic path: any image-text-to-text model of transformers whose image features are
placed into the token sequence, measured without a family adapter.

What transformers 5.x gives every such model, and what this path uses:
- image positions: the tokens equal to ``config.image_token_id`` (the token the model fills
  with image features; not ``processor.image_token_id``, which is the begin-of-image marker
  in Gemma 3); their count must equal the features the model inserts;
- question positions: found in the text the processor tokenised (its replacement offsets),
  so markers, newlines and tiles around the image tokens do not matter;
- last: the final prompt position; the prompt is the checkpoint's own chat template around
  the paper's user turn (``prompts.chat_prompt``);
- parts: ``get_decoder()`` (its layers and norm), ``get_input_embeddings()``,
  ``get_output_embeddings()``; the image encoder's output from one forward
  (``image_outputs``), handed back on every later forward (``mm_encoder_outputs``).

What it cannot give: which image tokens stand for which pixels (that needs the family's
image layout), so the related and other groups are not measured and the claims about them
are reported ``not applicable`` with the reason; and the fast engine (which runs decoder
layers itself and must know the family's rotary, masks and per-position inputs), so the
exact engine measures. The thresholds are the project's default row (family ``generic``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from ...errors import ModelError
from .base import ModelAdapter


@dataclass(frozen=True)
class GenericAdapter(ModelAdapter):
    family = "generic"
    has_layout: ClassVar[bool] = False
    fast_engine: ClassVar[bool] = False
    preprocess_modes = ("paper", "checkpoint")  # both: the processor's own (no layout to pad for)

    @classmethod
    def model_class(cls):
        import transformers
        return getattr(transformers, cls.architecture)

    @classmethod
    def default_prompt(cls, tokenizer) -> str:
        return "chat"  # the checkpoint's own chat template (built from its processor)

    # --- parts, through transformers' uniform API --------------------------------------------
    def language_model(self, model):
        return model.get_decoder()

    def embed(self, model):
        return model.get_input_embeddings()

    def final_norm(self, model):
        return model.get_decoder().norm

    def rotary(self, model):
        return getattr(model.get_decoder(), "rotary_emb", None)

    def unembed(self, model):
        return model.get_output_embeddings()

    def image_token_id(self, model) -> int:
        cfg = model.config
        token = getattr(cfg, "image_token_id", None)
        if token is None:
            token = getattr(cfg, "image_token_index", None)
        if token is None:
            raise ModelError(f"{type(model).__name__}'s config names no image token (image_token_id); "
                             "the generic path finds image positions by it: this model needs a "
                             "family adapter")
        return int(token)

    # --- inputs ------------------------------------------------------------------------------
    def vision_output(self, model, inputs: dict):
        """The image encoder's output, as the model's own forward computes it."""
        out = model(**inputs, use_cache=False)
        vision = getattr(out, "image_outputs", None)
        if vision is None:
            raise ModelError(f"{type(model).__name__}'s forward returns no image_outputs, so the image "
                             "encoder cannot be run once and reused; this model needs a family adapter")
        return vision

    def repeat_vision(self, vision, n: int):
        """Every field for ``n`` identical rows, by the shapes transformers uses: a tuple holds
        one entry per image (repeated), a list one entry per layer (each repeated), a tensor
        stacks images along dim 0 (concatenated). Checked against one row per family in
        ``tests/models/test_engine_inputs.py``."""
        import torch

        def repeat(value):
            if torch.is_tensor(value):
                return torch.cat([value] * n)
            if isinstance(value, tuple):
                return value * n
            if isinstance(value, list):
                return [repeat(v) for v in value]
            raise ModelError(f"the image encoder's output holds a {type(value).__name__} the generic path "
                             "cannot batch: leave --batch-size out")
        return type(vision)(**{k: repeat(v) for k, v in vision.items() if v is not None})

    def position_ids(self, inputs: dict, model=None):
        return None  # the model computes its own; only the fast engine needs them

    def layout(self, processor, model, image_w: int, image_h: int):
        raise ModelError(f"no image layout for {self.architecture}: related patches need a family adapter")


@lru_cache(maxsize=None)
def generic_adapter_class(architecture: str):
    """The generic adapter for ``architecture`` (one class per architecture, made once)."""
    return type(f"Generic_{architecture}", (GenericAdapter,), {"architecture": architecture,
                                                               "__module__": __name__})
