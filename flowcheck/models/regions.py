"""Token groups of one encoded sample, as index tuples into the expanded sequence.

- image: every position holding an image feature;
- question: the tokens of the raw question string only (found by character offsets);
- last: the final prompt position (predicts the first answer token);
- related: image tokens whose cell holds a pixel of an object the question is about, after
  the same resize / pad / crop / tiling as the processor applies (``models.image_layout``);
- other: image tokens that stand for pixels but are not related (newline tokens excluded);
- extra: family-specific groups (LLaVA-NeXT: base, hd, related_hd, newline).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DataError


@dataclass(frozen=True)
class Regions:
    seq_len: int
    image: tuple[int, ...]
    question: tuple[int, ...]
    last: tuple[int, ...]
    related: tuple[int, ...]
    other: tuple[int, ...]
    extra: dict = field(default_factory=dict)  # name -> positions, family-specific groups

    GROUPS = ("image", "question", "last", "related", "other")

    def group(self, name: str) -> tuple[int, ...]:
        if name in self.GROUPS:
            return getattr(self, name)
        if name not in self.extra:
            raise DataError(f"token group {name!r} does not exist for this model family; its groups: "
                            f"{', '.join(self.GROUPS + tuple(self.extra))}")
        return self.extra[name]


def question_positions(offsets, question_span: tuple[int, int]) -> list[int]:
    """Token indices whose character offsets lie inside the question's span."""
    a, b = question_span
    return [i for i, (s, e) in enumerate(offsets) if e > s and s >= a and e <= b]


def check_regions(regions: Regions, *, decoded_question: str, question: str,
                  n_image_features: int) -> None:
    """Self-checks: inside the sequence, disjoint, question decodes back, image count."""
    for name in regions.GROUPS + tuple(regions.extra):
        idx = regions.group(name)
        if any(i < 0 or i >= regions.seq_len for i in idx):
            raise DataError(f"token group {name!r} has positions outside the sequence "
                             f"(length {regions.seq_len}): {idx}")
    for a, b in (("image", "question"), ("image", "last"), ("question", "last"),
                 ("related", "other")):
        both = set(regions.group(a)) & set(regions.group(b))
        if both:
            raise DataError(f"token groups {a!r} and {b!r} overlap at positions {sorted(both)}")
    if not set(regions.related) | set(regions.other) <= set(regions.image):
        raise DataError("related/other patches must be image positions")
    if len(regions.image) != n_image_features:
        raise DataError(
            f"the prompt has {len(regions.image)} image tokens but the model inserts "
            f"{n_image_features} image features; use the model's own processor (its "
            "patch_size / vision_feature_select_strategy must match the model config)")
    if "".join(decoded_question.split()) != "".join(question.split()):
        raise DataError(f"question tokens decode to {decoded_question!r}, not to the question "
                         f"{question!r}; the tokenizer's offsets do not match the prompt")



def expanded_question_span(prompt: str, span: tuple[int, int], replacements) -> tuple[str, tuple[int, int]]:
    """(the text the processor tokenised, the question's span in it): ``prompt`` with each
    placeholder replaced as the processor did (``text_replacement_offsets``: the placeholder's
    ``span`` in the prompt and its ``replacement``), the question's span moved by every
    replacement before it. Works for any family, whatever a placeholder grows into (one token
    into N, or N plus markers and newlines per tile)."""
    a, b = span
    out, at, shift = [], 0, 0
    for r in sorted(replacements, key=lambda r: r["span"][0]):
        s, e = r["span"]
        if s < b and e > a:
            raise DataError(f"an image placeholder lies inside the question {prompt[a:b]!r}; "
                            "the question must not contain the model's image token")
        out += [prompt[at:s], r["replacement"]]
        at = e
        if e <= a:
            shift += len(r["replacement"]) - (e - s)
    out.append(prompt[at:])
    return "".join(out), (a + shift, b + shift)


def question_positions_in(text: str, offsets, span: tuple[int, int]) -> list[int]:
    """Token indices of the question: those whose offsets (surrounding whitespace trimmed,
    as sentencepiece offsets may include the leading space) lie inside ``span`` of ``text``."""
    def trim(s: int, e: int) -> tuple[int, int]:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        return s, e
    return question_positions([trim(int(s), int(e)) for s, e in offsets], span)
