"""Logit lens at the last position: p(token) after every decoder layer.

Two named variants: ``raw`` applies the unembedding to the layer output directly (as the
paper's official code does); ``normed`` applies the final norm first (the usual lens; at
the last layer it equals the model's own output distribution).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

LENS_VARIANTS = Registry("lens variant", ("raw", "normed"))


@dataclass
class LensResult:
    variant: str
    tokens: dict  # label -> token id
    probs: dict  # label -> list[float], one per layer
    top1: list  # most likely token per layer (decoded)


def first_answer_token(tokenizer, template, question: str, word: str) -> int:
    """Id of the first token the model writes when its answer is ``word``, right after the
    prompt ``template.format(question)``: the prompt and the answer as written after it
    (``template.answer_prefix`` between them: a space after 'ASSISTANT:', nothing after a
    newline-ending chat template) tokenised together, and the first token past the prompt's
    own tokens that holds a character of the word (a small vocabulary may write the space
    before it as a token of its own, which says nothing about the answer). A word tokenised
    alone is not enough: byte-level BPE gives ' yes' and 'yes' different ids, and which one
    the model writes depends on the template."""
    prompt = template.format(question)
    special = not template.has_bos
    head = tokenizer(prompt, add_special_tokens=special)["input_ids"]
    enc = tokenizer(prompt + template.answer_prefix + word, add_special_tokens=special,
                    return_offsets_mapping=True)
    whole, offsets = enc["input_ids"], enc["offset_mapping"]
    if len(whole) > len(head) and whole[:len(head)] == head:
        start = len(prompt) + len(template.answer_prefix)  # the word's first character
        return next((t for t, (_, end) in zip(whole[len(head):], offsets[len(head):]) if end > start),
                    whole[len(head)])
    # the answer merged with the prompt's last token (a tokenizer that joins across the
    # boundary): the model cannot write it after these prompt tokens; take the answer's own
    # first token as written after the prefix
    ids = tokenizer(template.answer_prefix + word, add_special_tokens=False)["input_ids"] or \
        tokenizer(word, add_special_tokens=False)["input_ids"]
    return ids[0]


def answer_tokens(tokenizer, template, question: str, answer: str,
                  false_option: str | None = None) -> dict[str, int]:
    """Lower-case and capitalised first answer tokens (and those of the false option) as the
    model would write them after ``template``'s prompt for ``question``, built from the
    stripped, lower-cased string, as the correct-only filter compares it."""
    from ..models.prompts import capitalise

    def first(word):
        return first_answer_token(tokenizer, template, question, word)

    answer = answer.strip().lower()
    out = {"lower": first(answer), "capitalised": first(capitalise(answer))}
    if false_option and false_option.strip() != "-":
        false_option = false_option.strip().lower()
        out["false_lower"] = first(false_option)
        out["false_capitalised"] = first(capitalise(false_option))
    return out


def token_strings(tokenizer, tokens: dict[str, int]) -> dict[str, str]:
    """label -> the token as the vocabulary spells it (e.g. {'lower': 'yes', 'capitalised':
    'Yes'} after a chat template, '▁yes' / 'Ġyes' where a space is part of it), for the stored
    row and the report: exactly what the lens measured."""
    return dict(zip(tokens, tokenizer.convert_ids_to_tokens(list(tokens.values()))))


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
