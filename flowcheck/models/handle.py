"""ModelHandle: a live model + processor + adapter, and sample encoding with token groups."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..regions import Regions, check_regions, question_positions, related_patches
from .adapters import adapter_for


@dataclass
class Encoded:
    """One sample ready for the model: tensors (batch 1) and its token groups."""

    input_ids: object  # (1, seq) LongTensor
    attention_mask: object  # (1, seq)
    pixel_values: object  # (1, 3, H, W)
    image_features: object  # (n_image_tokens, hidden): the vision tower + projector output
    regions: Regions

    @property
    def seq_len(self) -> int:
        return self.regions.seq_len


class ModelHandle:
    """Owns a live model. ``encode(sample)`` gives tensors and token groups, self-checked."""

    def __init__(self, model, processor, name: str = "model", adapter=None):
        self.model, self.processor, self.name = model, processor, name
        self.adapter = adapter or adapter_for(model)
        self.transform = self.adapter.image_transform(processor, model)
        self.image_token_id = model.config.image_token_id

    @property
    def lm(self):
        return self.adapter.language_model(self.model)

    @property
    def n_layers(self) -> int:
        return len(self.lm.layers)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def tokenizer(self):
        return self.processor.tokenizer

    def encode(self, sample) -> Encoded:
        """Prompt + image -> tensors, with image / question / last / related / other groups."""
        prompt = self.adapter.prompt(sample.question)
        batch = self.processor(images=[sample.image], text=[prompt], return_tensors="pt")
        ids = batch["input_ids"][0]
        image_pos = (ids == self.image_token_id).nonzero().flatten().tolist()
        # offsets come from the unexpanded prompt: one image token stands for len(image_pos)
        enc = self.tokenizer(prompt, return_offsets_mapping=True)
        raw_ids, offsets = enc["input_ids"], enc["offset_mapping"]
        raw_offsets = [_strip(prompt, s, e) for s, e in offsets]
        q_raw = question_positions(raw_offsets, self.adapter.question_span(sample.question))
        if not q_raw:
            raise DataError(f"question {sample.question!r} not found in the tokens of the prompt "
                             f"{prompt!r}; check the adapter's prompt template")
        img_raw = raw_ids.index(self.image_token_id)
        shift = len(image_pos) - 1
        question = [i + shift if i > img_raw else i for i in q_raw]
        if [int(ids[i]) for i in question] != [raw_ids[i] for i in q_raw]:
            raise DataError("question tokens moved when the processor expanded the image token; "
                             "the processor and the tokenizer disagree")
        rel_patch = related_patches(sample.related_boxes(), int(sample.row["image_w"]),
                                    int(sample.row["image_h"]), self.transform)
        n_grid = self.transform.grid[0] * self.transform.grid[1]
        if len(image_pos) != n_grid:
            raise DataError(f"{len(image_pos)} image tokens but the patch grid has {n_grid} "
                             "patches; this image layout is not supported by the adapter")
        related = tuple(image_pos[p] for p in rel_patch)
        regions = Regions(
            seq_len=len(ids), image=tuple(image_pos), question=tuple(question),
            last=(len(ids) - 1,), related=related,
            other=tuple(p for p in image_pos if p not in set(related)))
        pixel_values = batch["pixel_values"].to(self.device, self.model.dtype)
        features = self.image_features(pixel_values)
        check_regions(regions, decoded_question=self.tokenizer.decode([int(ids[i]) for i in question]),
                      question=sample.question, n_image_features=features.shape[0])
        return Encoded(batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device),
                       pixel_values, features, regions)

    def image_features(self, pixel_values):
        """(n_image_tokens, hidden) features the model inserts for one image."""
        import torch
        with torch.no_grad():
            return self.adapter.image_features(self.model, pixel_values)[0]


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    """Offsets without surrounding whitespace (sentencepiece offsets may include the space)."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def load_handle(name_or_path: str | Path, device: str = "cpu", dtype: str = "float32",
                attn_implementation: str = "eager") -> ModelHandle:
    from .loading import load_llava
    model, processor = load_llava(name_or_path, device, dtype, attn_implementation)
    return ModelHandle(model, processor, name=str(name_or_path))
