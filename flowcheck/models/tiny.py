"""A tiny LLaVA-architecture model built offline: stock ``LlavaForConditionalGeneration``
from HF configs, a CLIP-style vision tower -> 2-layer GELU projector -> Llama-style language
model, a word-level tokenizer and a ``LlavaProcessor`` (CLIP image processor).

This is the architecture of the shipped reference model (``ReferenceSpec()``); built here
it has random weights, for tests, benchmarks and the random ``layouts``. Training it into
the reference and control models is ``flowcheck.reference``'s job, which the core never
imports.

The tokenizer: every word of the prompts, questions and captions is one token; every answer
word is one token in lower case and in capitalised form, so the logit lens can follow both.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..data.questions import ANSWER_WORDS
from ..data.scenes import COLORS, PATTERNS, SHAPES, SIZES
from .prompts import IMAGE_TOKEN, capitalise

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


@dataclass(frozen=True)
class ReferenceSpec:
    """Sizes of the reference model (defaults are the shipped model's)."""

    image_size: int = 64
    patch_size: int = 16  # one patch per grid cell: 16 image tokens
    vision_layers: int = 2
    vision_hidden: int = 128
    vision_heads: int = 4
    text_layers: int = 12
    text_hidden: int = 128
    text_heads: int = 4
    text_intermediate: int = 384
    max_positions: int = 256

    @property
    def image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    def to_dict(self) -> dict:
        return asdict(self)


def build_processor(spec: ReferenceSpec):
    from transformers import LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": spec.image_size},
        crop_size={"height": spec.image_size, "width": spec.image_size},
        image_mean=CLIP_MEAN, image_std=CLIP_STD,
    )
    return LlavaProcessor(
        image_processor=image_processor, tokenizer=build_tokenizer(),
        patch_size=spec.patch_size, vision_feature_select_strategy="default",
        image_token=IMAGE_TOKEN, num_additional_image_tokens=1,  # CLIP's CLS, dropped by "default"
    )


def build_config(spec: ReferenceSpec, tokenizer):
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    vision = CLIPVisionConfig(
        hidden_size=spec.vision_hidden, intermediate_size=4 * spec.vision_hidden,
        num_hidden_layers=spec.vision_layers, num_attention_heads=spec.vision_heads,
        image_size=spec.image_size, patch_size=spec.patch_size, projection_dim=spec.vision_hidden,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=spec.text_hidden,
        intermediate_size=spec.text_intermediate, num_hidden_layers=spec.text_layers,
        num_attention_heads=spec.text_heads, num_key_value_heads=spec.text_heads,
        max_position_embeddings=spec.max_positions, tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlavaConfig(
        vision_config=vision, text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        projector_hidden_act="gelu", vision_feature_select_strategy="default",
        vision_feature_layer=-1, image_seq_length=spec.image_tokens,
        pad_token_id=tokenizer.pad_token_id,
    )


def build_model(spec: ReferenceSpec, tokenizer, seed: int):
    """A freshly initialised reference model (deterministic for a seed)."""
    import torch
    from transformers import LlavaForConditionalGeneration

    torch.manual_seed(seed)
    return LlavaForConditionalGeneration(build_config(spec, tokenizer))

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIAL = (PAD, UNK, BOS, EOS, IMAGE_TOKEN)
PUNCTUATION = ("\n", ".", ",", ":", "?")
TEMPLATE_WORDS = (
    "USER ASSISTANT Answer the question using a single word or phrase "
    "Is is Which shape What do and have in common there an On which side of image to "
    "Describe on"
).split()


def vocabulary() -> list[str]:
    """Deterministic token list: specials, punctuation, then sorted words."""
    words = set(TEMPLATE_WORDS) | set(ANSWER_WORDS)
    words |= {capitalise(w) for w in ANSWER_WORDS} | {capitalise(w) for w in ("a", "the")}
    words |= set(SHAPES) | set(COLORS) | set(SIZES) | set(PATTERNS)
    return [*SPECIAL, *PUNCTUATION, *sorted(words)]


def build_tokenizer():
    """A ``PreTrainedTokenizerFast`` over a WordLevel model (no files needed)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    # newline is a token of its own; spaces separate; punctuation is split off
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex("\n"), behavior="isolated"),
        pre_tokenizers.Split(Regex(" +"), behavior="removed"),
        pre_tokenizers.Punctuation(behavior="isolated"),
    ])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", special_tokens=[(BOS, vocab[BOS])])  # BOS first, as Llama does
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=PAD, unk_token=UNK, bos_token=BOS, eos_token=EOS,
        extra_special_tokens={"image_token": IMAGE_TOKEN}, padding_side="left",
        model_input_names=["input_ids", "attention_mask"],
    )
    fast.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    return fast
