"""Offline word-level tokenizer for the reference model.

Every word of the prompts, questions and captions is one token; every answer word is one
token in lower case and in capitalised form, so the logit lens can follow both forms.
"""
from __future__ import annotations

from ...data.questions import ANSWER_WORDS
from ...data.scenes import COLORS, PATTERNS, SHAPES, SIZES
from ..prompts import IMAGE_TOKEN, capitalise

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
