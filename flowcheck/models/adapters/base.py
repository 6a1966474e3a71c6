"""The adapter protocol: everything flowcheck knows about one model family, in one place.

The engines, the logit lens and the token groups never touch a model's module tree or its
inputs directly; they ask the adapter for
- parts: ``layers``, ``embed``, ``final_norm``, ``rotary``, ``unembed`` and the config key
  whose attention implementation a knockout switches (``attn_config_key``);
- inputs: ``encode_inputs`` (prompt + image -> the model's own keyword inputs, an opaque
  dict the engines pass back to the model), ``vision_output`` (the image encoder's output,
  computed once per sample and given back as ``mm_encoder_outputs``), ``position_ids``;
- geometry: ``layout`` (which original-image pixels each image token stands for);
- the checkpoint: ``default_prompt`` (the template the paper's code uses), ``load_processor``,
  and ``note_texts`` (what the report says about a layout note the adapter records).

A family registers its adapter once, by the HF architecture name that ``config.json``
lists (``@register_adapter``); loading goes config -> architecture -> adapter -> class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...errors import ModelError
from ...registry import Registry
from ..prompts import PROMPTS, PromptTemplate

ADAPTERS = Registry("model architecture", plural="supported model architectures",
                    hint="flowcheck ls models lists them with their families")


def register_adapter(cls):
    """Class decorator: the one site where a family becomes supported."""
    ADAPTERS.register(cls.architecture, cls)
    return cls


@dataclass(frozen=True)
class ModelAdapter:
    """Base adapter: Llama-style language model inside an HF ``...ForConditionalGeneration``."""

    prompt: PromptTemplate = PROMPTS["plain"]  # load_handle picks the checkpoint's own
    preprocess: str = "paper"  # 'paper': prepare images as the official code; 'checkpoint': as saved

    family: ClassVar[str] = "base"
    architecture: ClassVar[str] = ""
    attn_config_key: ClassVar[str] = "text_config"
    extra_groups: ClassVar[tuple[str, ...]] = ()  # groups beyond image/question/last/related/other
    preprocess_modes: ClassVar[tuple[str, ...]] = ("checkpoint",)
    note_texts: ClassVar[dict[str, str]] = {}  # layout note -> "N samples <text>" in the report
    has_layout: ClassVar[bool] = True  # knows which pixels each image token stands for (related/other)
    fast_engine: ClassVar[bool] = True  # vouches for positions, rotary and masks the fast engine needs
    adds_at_image_positions: ClassVar[bool] = False  # the decoder adds features at image rows (DeepStack)
    family_note: ClassVar[str] = ""  # what a reader of this family's verdicts should know (ls, reports)

    def __post_init__(self):
        if self.preprocess not in self.preprocess_modes:
            raise ModelError(f"image preprocessing {self.preprocess!r} is not available for family "
                             f"{self.family}; use one of: {', '.join(self.preprocess_modes)}")

    # --- the checkpoint ---------------------------------------------------------------------
    @classmethod
    def default_prompt(cls, tokenizer) -> str:
        """The prompt template the paper's code uses: 'llava_llama_3' for a Llama-3 tokenizer,
        else 'vicuna_v1'."""
        return "llava_llama_3" if "<|start_header_id|>" in tokenizer.get_vocab() else "vicuna_v1"

    @classmethod
    def load_processor(cls, path):
        """The folder's processor (``stock_processor``); a tokenizer or processor file that
        transformers cannot read is a ModelError naming the folder, never a traceback."""
        try:
            return cls.stock_processor(path)
        except ModelError:
            raise
        except Exception as e:  # transformers' own errors while parsing the user's files
            raise ModelError(
                f"cannot load the processor (tokenizer and image processor) of {str(path)!r}: "
                f"{type(e).__name__}: {str(e)[:300]}; the folder needs the files "
                "processor.save_pretrained(folder) writes (tokenizer.json or a vocabulary, "
                "tokenizer_config.json, preprocessor_config.json or processor_config.json)") from e

    @classmethod
    def stock_processor(cls, path):
        """The folder's stock transformers processor (offline, no code from the folder); where it
        cannot load (a video processor that needs torchvision), the family's processor for
        images only (``image_only_processor``), if it has one."""
        from transformers import AutoProcessor
        try:
            return AutoProcessor.from_pretrained(path, local_files_only=True, trust_remote_code=False)
        except ValueError as e:
            if "trust_remote_code" not in str(e):
                raise
            raise ModelError(f"the processor of {str(path)!r} needs code from the model folder, which "
                             "flowcheck never runs; use a folder saved with the stock transformers "
                             "processor (processor.save_pretrained)") from None
        except (OSError, ImportError, AttributeError) as e:
            try:
                fallback = cls.image_only_processor(path)
            except Exception:
                raise e from None
            if fallback is None:
                raise
            return fallback

    @classmethod
    def image_only_processor(cls, path):
        """The stock processor's image and text side, built from the folder without its video
        processor; None: the family has no such fallback."""
        return None

    # --- parts of the HF module tree -------------------------------------------------------
    @classmethod
    def model_class(cls):
        import transformers
        return getattr(transformers, cls.architecture)

    def language_model(self, model):
        return model.model.language_model

    def layers(self, model):
        return self.language_model(model).layers

    def embed(self, model):
        return self.language_model(model).embed_tokens

    def final_norm(self, model):
        return self.language_model(model).norm

    def rotary(self, model):
        return self.language_model(model).rotary_emb

    def unembed(self, model):
        return model.lm_head

    def rotary_tables(self, model, x, position_ids) -> list:
        """(cos, sin) per decoder layer for hidden states ``x`` at ``position_ids``: one table for
        every layer; a family whose layer types rotate differently overrides (Gemma 3)."""
        table = self.rotary(model)(x, position_ids=position_ids)
        return [table] * len(self.layers(model))

    def attention_window(self, model) -> int | None:
        """The smallest sliding attention window of any text layer (None: every layer attends
        to all earlier positions); the fast engine's causal masks are right only within it."""
        return None

    # --- inputs -----------------------------------------------------------------------------
    def prepare_image(self, processor, image):
        """The image as the processor should see it (unchanged unless a family pads first)."""
        return image

    def encode_inputs(self, processor, image, prompt: str, **text_kwargs) -> dict:
        """Prompt + prepared image -> the model's keyword inputs (batch 1, CPU tensors);
        ``text_kwargs`` go to the processor's text side (e.g. ``return_offsets_mapping``)."""
        batch = processor(images=[image], text=[prompt], return_tensors="pt",
                          add_special_tokens=not self.prompt.has_bos, **text_kwargs)
        return dict(batch)

    def vision_output(self, model, inputs: dict):
        """The model's image-encoder output for one image, as its forward would compute it and
        accept back through ``mm_encoder_outputs={"image": ...}`` (``pooler_output``: the
        features it puts at the image tokens, one tensor per image)."""
        raise NotImplementedError

    def repeat_vision(self, vision, n: int):
        """``vision`` for a batch of ``n`` identical rows (one image each): the per-image
        features repeated; a family whose output carries more per-image fields overrides."""
        pooled = vision.pooler_output
        pooled = list(pooled) if isinstance(pooled, (list, tuple)) else [pooled]
        return type(vision)(**{**vision, "pooler_output": tuple(pooled) * n})

    def position_ids(self, inputs: dict, model=None):
        """Rotary positions of the prompt: (1, seq), the token index, for 1-D RoPE families
        (a family with M-RoPE returns (3, 1, seq) from its ``model``)."""
        import torch
        return torch.arange(inputs["input_ids"].shape[1], device=inputs["input_ids"].device)[None]

    def image_text(self, processor, layout) -> tuple[str, str]:
        """(the image placeholder the prompt holds, the text the processor puts in its place for
        an image of this ``layout``): the image token repeated; a family whose processor adds
        markers (InternVL's ``<img>`` ... ``</img>``, SmolVLM's tile markers) overrides."""
        return processor.image_token, processor.image_token * layout.n_tokens

    def image_token_id(self, model) -> int:
        return int(model.config.image_token_id)

    # --- geometry ---------------------------------------------------------------------------
    def layout(self, processor, model, image_w: int, image_h: int):
        """``ImageLayout`` of a W x H original image (see ``models.image_layout``)."""
        raise NotImplementedError

    @classmethod
    def group_names(cls) -> tuple[str, ...]:
        """The token groups the family measures (no layout: image, question, last only)."""
        if not cls.has_layout:
            return ("image", "question", "last")
        return ("image", "question", "last", "related", "other", *cls.extra_groups)

    @property
    def groups(self) -> tuple[str, ...]:
        return self.group_names()

    def record(self) -> dict:
        """What run.json records (``adapter``) and a stored row's key uses: the family, the
        prompt template and the image preprocessing."""
        return {"family": self.family, "prompt": self.prompt.name, "preprocess": self.preprocess}


def saved_processor(path) -> tuple[dict, str | None, object]:
    """(the folder's processor_config.json settings, its chat template, its tokenizer), read as
    the stock processor reads them: what an image-only processor is built from."""
    import json
    from pathlib import Path

    from transformers import AutoTokenizer
    saved, template = Path(path) / "processor_config.json", Path(path) / "chat_template.jinja"
    config = json.loads(saved.read_text()) if saved.is_file() else {}
    chat_template = template.read_text() if template.is_file() else config.get("chat_template")
    return config, chat_template, AutoTokenizer.from_pretrained(path, local_files_only=True,
                                                                 trust_remote_code=False)
