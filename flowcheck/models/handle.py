"""ModelHandle: a live model + processor + adapter, and sample encoding with token groups."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DataError
from .adapters import adapter_for
from .regions import (
    Regions,
    check_regions,
    expanded_question_span,
    question_positions_in,
)
from .source import read_source


@dataclass
class Encoded:
    """One sample ready for the model: its inputs (batch 1) and its token groups."""

    inputs: dict  # the processor's outputs (input_ids (1, seq), attention_mask, pixel_values, ...)
    position_ids: object  # (1, seq) rotary positions; (3, 1, seq) for M-RoPE (Qwen2-VL)
    vision: object  # the model's image-encoder output for this image (``mm_encoder_outputs``)
    regions: Regions
    notes: dict = field(default_factory=dict)  # facts worth recording (e.g. an object cut off)

    @property
    def input_ids(self):
        return self.inputs["input_ids"]

    @property
    def attention_mask(self):
        return self.inputs["attention_mask"]

    @property
    def seq_len(self) -> int:
        return self.regions.seq_len

    @property
    def image_features(self):
        """(n_image_tokens, hidden): what the model puts at the image tokens, in order."""
        import torch
        pooled = self.vision.pooler_output  # per image (tokens, hidden), or (images, tokens, hidden)
        pooled = list(pooled) if isinstance(pooled, (list, tuple)) else [pooled]
        return torch.cat([p.reshape(-1, p.shape[-1]) for p in pooled], 0)


class ModelHandle:
    """Owns a live model. ``encode(sample)`` gives inputs and token groups, self-checked;
    ``forward(enc)`` runs the model's ordinary forward on them. The adapter knows the family."""

    def __init__(self, model, processor, name: str = "model", adapter=None, source=None):
        self.model, self.processor, self.name = model, processor, name
        self.adapter = adapter or adapter_for(model)
        self.source = source  # the model folder read once (``source.ModelSource``); None in memory
        self.image_token_id = self.adapter.image_token_id(model)

    # --- parts (through the adapter) -------------------------------------------------------
    @property
    def layers(self):
        return self.adapter.layers(self.model)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def final_norm(self):
        return self.adapter.final_norm(self.model)

    @property
    def unembed(self):
        return self.adapter.unembed(self.model)

    @property
    def rotary(self):
        return self.adapter.rotary(self.model)

    def rotary_tables(self, x, position_ids) -> list:
        """(cos, sin) per decoder layer for hidden states ``x`` at ``position_ids``."""
        return self.adapter.rotary_tables(self.model, x, position_ids)

    @property
    def device(self):
        """Where the inputs go (the first parameter's device; with a device map, the embeddings')."""
        return next(self.model.parameters()).device

    def layer_device(self, index: int):
        """The device of decoder layer ``index`` (one device unless loaded with a device map)."""
        return next(self.layers[index].parameters()).device

    @property
    def head_device(self):
        """The device of the final norm and unembedding."""
        return next(self.final_norm.parameters()).device

    @property
    def tokenizer(self):
        return self.processor.tokenizer

    # --- running ----------------------------------------------------------------------------
    def forward(self, enc: Encoded, batch: int = 1, **kwargs):
        """The model's ordinary forward on an encoded sample, ``batch`` identical rows: its own
        inputs (input_ids and every other processor output: token types, grids, sizes) with the
        image encoder's output computed once in ``encode`` (``mm_encoder_outputs``), never bare
        ``inputs_embeds``, which silently drops what a family adds per position (Gemma 3's
        token_type_ids, Qwen3-VL's DeepStack features)."""
        return self.model(**self.model_inputs(enc, batch), **kwargs)

    def model_inputs(self, enc: Encoded, batch: int = 1) -> dict:
        """The keyword inputs ``forward`` passes: the processor's outputs without the pixels,
        plus ``mm_encoder_outputs``; each repeated ``batch`` times along dim 0 (one prompt and
        one image per row)."""
        import torch
        inputs = {k: v for k, v in enc.inputs.items() if not k.startswith("pixel_")}
        vision = enc.vision
        if batch > 1:
            inputs = {k: torch.cat([v] * batch) if torch.is_tensor(v) else v for k, v in inputs.items()}
            vision = self.adapter.repeat_vision(vision, batch)
        return {**inputs, "mm_encoder_outputs": {"image": vision}}

    def generate(self, enc: Encoded, **kwargs):
        return self.model.generate(**enc.inputs, **kwargs)

    # --- encoding ---------------------------------------------------------------------------
    def layout(self, sample):
        """``ImageLayout`` of the sample's image (which pixels each image token stands for)."""
        return self.adapter.layout(self.processor, self.model, int(sample.row["image_w"]),
                                   int(sample.row["image_h"]))

    def token_layout(self, sample) -> tuple[int, int, list[int]]:
        """(sequence length, image tokens, question positions) of a sample, as ``encode`` gives
        them, for planning and balancing shards: without reading or processing the image when
        the family has a layout (the prompt with its image placeholder replaced by the text the
        processor puts there for the layout's count, ``adapter.image_text``, tokenised), else
        through the processor (no model)."""
        template = self.adapter.prompt
        prompt = template.format(sample.question)
        if not self.adapter.has_layout:
            _, ids, image_pos, question = self._processed(sample, self._image(sample), prompt)
            return len(ids), len(image_pos), question
        layout = self.layout(sample)
        placeholder, replacement = self.adapter.image_text(self.processor, layout)
        at = prompt.index(placeholder)
        replaced = [{"span": (at, at + len(placeholder)), "replacement": replacement}]
        text, span = expanded_question_span(prompt, template.question_span(sample.question), replaced)
        enc = self.tokenizer(text, return_offsets_mapping=True, add_special_tokens=not template.has_bos)
        question = question_positions_in(text, enc["offset_mapping"], span)
        return len(enc["input_ids"]), layout.n_tokens, question

    def encode(self, sample) -> Encoded:
        """Prompt + image -> inputs, with image / question / last / related / other groups
        (related and other only where the family knows its image layout)."""
        prompt = self.adapter.prompt.format(sample.question)
        inputs, ids, image_pos, question = self._processed(sample, self._image(sample), prompt)
        boxes = sample.related_boxes()
        related, other, extra, notes = (), (), {}, {}
        if self.adapter.has_layout:
            layout = self.layout(sample)
            if len(image_pos) != layout.n_tokens:
                raise DataError(f"{len(image_pos)} image tokens in the prompt but the {self.adapter.family} "
                                f"layout of a {sample.row['image_w']}x{sample.row['image_h']} image has "
                                f"{layout.n_tokens}; the processor and the adapter disagree")
            related = tuple(image_pos[o] for o in layout.related(boxes))
            other = tuple(sorted(set(image_pos[o] for o in layout.covered()) - set(related)))
            extra = {name: tuple(image_pos[o] for o in layout.group(name, boxes))
                     for name in self.adapter.extra_groups}
            notes = dict(layout.notes)
            if boxes and not related:
                notes["object_cut_off"] = True
        regions = Regions(
            seq_len=len(ids), image=tuple(image_pos), question=tuple(question),
            last=(len(ids) - 1,), related=related, other=other, extra=extra)
        self._check_tokens(sample, ids, question, len(image_pos))
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        import torch
        with torch.no_grad():
            vision = self.adapter.vision_output(self.model, inputs)
        enc = Encoded(inputs, self.adapter.position_ids(inputs, self.model), vision, regions, notes)
        check_regions(regions, decoded_question=self.tokenizer.decode([int(ids[i]) for i in question]),
                      question=sample.question, n_image_features=enc.image_features.shape[0])
        return enc

    def _image(self, sample):
        """The sample's image, checked against its row, prepared as the family's processor
        should see it."""
        original = sample.image
        stated = (int(sample.row["image_w"]), int(sample.row["image_h"]))
        if original.size != stated:
            raise DataError(f"question {sample.row.get('question_id', '?')!r}: image_w x image_h "
                            f"{stated[0]}x{stated[1]} differ from the image's size "
                            f"{original.size[0]}x{original.size[1]}; its boxes would land on the wrong "
                            "patches. Fix the row (boxes are in the image's pixels)")
        return self.adapter.prepare_image(self.processor, original)

    def _processed(self, sample, image, prompt: str):
        """(processor outputs, input ids, image positions, question positions): the question
        found in the text the processor tokenised, through its replacement offsets."""
        inputs = self.adapter.encode_inputs(self.processor, image, prompt, return_offsets_mapping=True,
                                            return_text_replacement_offsets=True)
        offsets, replacements = inputs.pop("offset_mapping")[0], inputs.pop("text_replacement_offsets")[0]
        ids = inputs["input_ids"][0]
        image_pos = (ids == self.image_token_id).nonzero().flatten().tolist()
        span = self.adapter.prompt.question_span(sample.question)
        text, span = expanded_question_span(prompt, span, replacements)
        question = question_positions_in(text, offsets.tolist(), span)
        if not question:
            raise DataError(f"question {sample.question!r} not found in the tokens of the prompt "
                            f"{prompt!r}; check the adapter's prompt template")
        return inputs, ids, image_pos, question

    def _check_tokens(self, sample, ids, question: list[int], n_image: int) -> None:
        """Refuse a prompt the model cannot read as meant: words its tokenizer does not know, or
        more positions than its rotary embedding was made for."""
        unk = self.tokenizer.unk_token_id
        if unk is not None and any(int(ids[i]) == unk for i in question):
            import re
            pieces = re.findall(r"\w+(?:[-']\w+)*|[^\w\s]", sample.question)  # words, punctuation
            words = list(dict.fromkeys(w for w in pieces
                                       if unk in self.tokenizer(w, add_special_tokens=False)["input_ids"]))
            raise DataError(f"question {sample.row.get('question_id', '?')!r} has words the model's "
                            f"tokenizer does not know: {', '.join(map(repr, words)) or '?'} (they become "
                            f"{self.tokenizer.unk_token}); flowcheck's own models know only the words of "
                            "their synthetic questions: use their dataset, or a real checkpoint")
        cfg = getattr(self.model.config, "text_config", self.model.config)
        limit = getattr(cfg, "max_position_embeddings", None)
        if limit and len(ids) > limit:
            raise DataError(f"question {sample.row.get('question_id', '?')!r}: the prompt has {len(ids)} "
                            f"tokens ({n_image} of them image tokens), more than the model's "
                            f"max_position_embeddings {limit}; shorten the question or use a model "
                            "made for longer inputs")



def load_skeleton_handle(name_or_path, **adapter_options) -> ModelHandle:
    """A handle on the model without its weights (meta device: config, processor, adapter and
    token layouts only; nothing can run), for ``flowcheck run --dry-run``."""
    from .loading import load_skeleton
    source = read_source(name_or_path)
    return _wrap(source, *load_skeleton(source), adapter_options)


def _wrap(source, model, processor, adapter_options: dict) -> ModelHandle:
    """A handle with the family's adapter: the prompt template given, else the checkpoint's."""
    from .prompts import PROMPTS, chat_prompt
    options = dict(adapter_options)
    prompt = options.pop("prompt", None) or source.default_prompt(processor.tokenizer)
    template = chat_prompt(processor) if prompt == "chat" else PROMPTS.get_or_raise(prompt)
    adapter = adapter_for(model, prompt=template, **options)
    return ModelHandle(model, processor, name=source.name, adapter=adapter, source=source)


def load_handle(name_or_path, device: str = "cpu", dtype: str = "float32",
                attn_implementation: str = "eager", allow_pickle: bool = False,
                device_map: str | dict | None = None, **adapter_options) -> ModelHandle:
    """Load a model folder (offline) and wrap it with its family's adapter. ``adapter_options``:
    ``prompt`` (a template name, default: the checkpoint's), ``preprocess`` ('paper')."""
    from .loading import load_model
    source = read_source(name_or_path)
    model, processor = load_model(source, device, dtype, attn_implementation, allow_pickle, device_map)
    return _wrap(source, model, processor, adapter_options)
