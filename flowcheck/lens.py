"""Logit lens at the last position: p(token) after every decoder layer.

Two named variants: ``raw`` applies the unembedding to the layer output directly (as the
paper's official code does); ``normed`` applies the final norm first (the usual lens; at
the last layer it equals the model's own output distribution).
"""
from __future__ import annotations

from dataclasses import dataclass

from .registry import Registry

LENS_VARIANTS = Registry("lens variant", ("raw", "normed"))


@dataclass
class LensResult:
    variant: str
    tokens: dict  # label -> token id
    probs: dict  # label -> list[float], one per layer
    top1: list  # most likely token per layer (decoded)


def first_subtoken(tokenizer, word: str) -> int:
    """Id of the first sub-token of ``word`` as it follows 'ASSISTANT:' (space before)."""
    ids = tokenizer(" " + word, add_special_tokens=False)["input_ids"] or \
        tokenizer(word, add_special_tokens=False)["input_ids"]
    return ids[0]


def answer_tokens(tokenizer, answer: str, false_option: str | None = None) -> dict[str, int]:
    """Lower-case and capitalised first sub-tokens of the answer (and of the false option),
    built from the stripped, lower-cased string, as the correct-only filter compares it."""
    from .models.prompts import capitalise
    answer = answer.strip().lower()
    out = {"lower": first_subtoken(tokenizer, answer),
           "capitalised": first_subtoken(tokenizer, capitalise(answer))}
    if false_option and false_option.strip() != "-":
        false_option = false_option.strip().lower()
        out["false_lower"] = first_subtoken(tokenizer, false_option)
        out["false_capitalised"] = first_subtoken(tokenizer, capitalise(false_option))
    return out


def logit_lens(handle, clean, tokens: dict[str, int], variant: str = "normed") -> LensResult:
    """p(token | layer output at the last position) for each layer, per ``variant``."""
    import torch
    LENS_VARIANTS.get_or_raise(variant)
    h = clean.last_outputs  # (L, hidden)
    with torch.no_grad():
        if variant == "normed":
            h = handle.final_norm(h)
        probs = torch.softmax(handle.unembed(h).float(), -1)  # (L, vocab)
    top = handle.tokenizer.convert_ids_to_tokens(probs.argmax(-1).tolist())
    return LensResult(variant, dict(tokens), {k: probs[:, i].tolist() for k, i in tokens.items()}, top)
