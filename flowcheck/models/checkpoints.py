"""The paper's four checkpoints as architecture-true fixtures with random weights.

Each ``CheckpointShape`` keeps what makes the real checkpoint what it is for flowcheck: the
HF architecture, the language model's depth, its query-heads : key-value-heads ratio and
rotary base, the CLIP-L/14-336 vision tower's image size, patch size and depth, the vision
feature layer (-2) and select strategy, LLaVA-NeXT's ``image_grid_pinpoints``, the prompt
template of the paper's code, and a tokenizer of the same kind (SentencePiece-style BPE with
byte fallback for Vicuna, byte-level BPE for Llama-3; trained here, see
``fixture_tokenizers``). Only the widths and the vocabulary shrink.

``write_checkpoint(name, folder)`` saves model, processor and tokenizer with
``save_pretrained`` in the real checkpoint's format, so ``flowcheck run --model folder``
loads it exactly as it would the downloaded checkpoint. A ``flowcheck_fixture.json`` next
to the weights marks them random: their verdicts check the engine only, they are no finding.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..registry import Registry
from .loading import FIXTURE_FILE
from .prompts import IMAGE_TOKEN
from .tiny import CLIP_MEAN, CLIP_STD

NEXT_PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]


@dataclass(frozen=True)
class CheckpointShape:
    name: str
    hf_id: str  # the real checkpoint this fixture stands for
    architecture: str
    tokenizer: str  # 'vicuna', 'llama3' or 'qwen2'
    prompt: str  # the official code's conversation template
    text_layers: int
    text_heads: int  # real: 32 / 40 / 32 / 32
    kv_heads: int  # real: 32 / 40 / 32 / 8
    rope_theta: float = 10000.0
    max_positions: int = 4096
    pinpoints: tuple = ()  # LLaVA-NeXT's image_grid_pinpoints, (h, w) as transformers reads them
    text_hidden: int = 64  # shrunk (real 4096 / 5120)
    text_intermediate: int = 128
    vision_layers: int = 24  # CLIP ViT-L/14-336 depth, kept
    vision_hidden: int = 32  # shrunk (real 1024)
    vision_intermediate: int = 64  # shrunk (real 4096)
    vision_heads: int = 2
    image_size: int = 336
    patch_size: int = 14
    vision_feature_layer: int = -2
    mrope_section: tuple = ()  # Qwen2-VL: rotary half-dims for (temporal, height, width)
    tie_embeddings: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


CHECKPOINTS = Registry("checkpoint fixture", {s.name: s for s in (
    CheckpointShape("llava-1.5-7b", "llava-hf/llava-1.5-7b-hf", "LlavaForConditionalGeneration",
                    "vicuna", "vicuna_v1", text_layers=32, text_heads=4, kv_heads=4),
    CheckpointShape("llava-1.5-13b", "llava-hf/llava-1.5-13b-hf", "LlavaForConditionalGeneration",
                    "vicuna", "vicuna_v1", text_layers=40, text_heads=4, kv_heads=4),
    CheckpointShape("llava-v1.6-vicuna-7b", "llava-hf/llava-v1.6-vicuna-7b-hf",
                    "LlavaNextForConditionalGeneration", "vicuna", "vicuna_v1", text_layers=32,
                    text_heads=4, kv_heads=4, pinpoints=tuple(map(tuple, NEXT_PINPOINTS))),
    CheckpointShape("llama3-llava-next-8b", "llava-hf/llama3-llava-next-8b-hf",
                    "LlavaNextForConditionalGeneration", "llama3", "llava_llama_3", text_layers=32,
                    text_heads=8, kv_heads=2, rope_theta=500000.0, max_positions=8192,
                    pinpoints=tuple(map(tuple, NEXT_PINPOINTS))),
    # Qwen2-VL-2B: 28 layers, 12 : 2 heads (kept as 6 : 1 at head dim 16, M-RoPE sections
    # 16:24:24 kept as 2:3:3), rope base 1e6, tied embeddings; vision: 32 blocks, 14-px
    # patches merged 2 x 2; the processor's own min/max pixels.
    CheckpointShape("qwen2-vl-2b", "Qwen/Qwen2-VL-2B-Instruct", "Qwen2VLForConditionalGeneration",
                    "qwen2", "qwen2_vl", text_layers=28, text_heads=6, kv_heads=1,
                    rope_theta=1000000.0, max_positions=32768, text_hidden=96, text_intermediate=192,
                    vision_layers=32, mrope_section=(2, 3, 3), tie_embeddings=True),
)}, hint="flowcheck fixtures --list shows them")


_CLIP_L = dict(vision_hidden=1024, vision_intermediate=4096, vision_heads=16)
# The real checkpoints' widths (config.json of each): with these a fixture has the real
# model's size and memory (only the vocabulary stays the fixture tokenizer's), for the GPU lane.
REAL_WIDTHS = {
    "llava-1.5-7b": dict(text_hidden=4096, text_intermediate=11008, text_heads=32, kv_heads=32, **_CLIP_L),
    "llava-1.5-13b": dict(text_hidden=5120, text_intermediate=13824, text_heads=40, kv_heads=40, **_CLIP_L),
    "llava-v1.6-vicuna-7b": dict(text_hidden=4096, text_intermediate=11008, text_heads=32, kv_heads=32,
                                 **_CLIP_L),
    "llama3-llava-next-8b": dict(text_hidden=4096, text_intermediate=14336, text_heads=32, kv_heads=8,
                                 **_CLIP_L),
}


def build_tokenizer(shape: CheckpointShape):
    from .fixture_tokenizers import train_llama3_tokenizer, train_qwen2_tokenizer, train_vicuna_tokenizer
    return {"vicuna": train_vicuna_tokenizer, "llama3": train_llama3_tokenizer,
            "qwen2": train_qwen2_tokenizer}[shape.tokenizer]()


def _is_qwen(shape: CheckpointShape) -> bool:
    return shape.architecture == "Qwen2VLForConditionalGeneration"


def _qwen_processor(shape: CheckpointShape, tokenizer):
    """Qwen2-VL's processor: dynamic resolution (multiples of 28 px), the real min/max pixels."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from .adapters.qwen2_vl import image_only_processor
    # Qwen2-VL-2B-Instruct's preprocessor_config: min_pixels 3136, max_pixels 12845056
    ip = Qwen2VLImageProcessorPil(patch_size=shape.patch_size, merge_size=2, temporal_patch_size=2,
                                  size={"shortest_edge": 3136, "longest_edge": 12845056},
                                  image_mean=[0.48145466, 0.4578275, 0.40821073],
                                  image_std=[0.26862954, 0.26130258, 0.27577711])
    return image_only_processor(ip, tokenizer)


def _qwen_config(shape: CheckpointShape, tokenizer):
    from transformers import Qwen2VLConfig
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    text = dict(vocab_size=len(tokenizer), hidden_size=shape.text_hidden,
                intermediate_size=shape.text_intermediate, num_hidden_layers=shape.text_layers,
                num_attention_heads=shape.text_heads, num_key_value_heads=shape.kv_heads,
                max_position_embeddings=shape.max_positions, rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": shape.rope_theta,
                                 "mrope_section": list(shape.mrope_section)},
                tie_word_embeddings=shape.tie_embeddings, pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id, bos_token_id=None)
    vision = dict(depth=shape.vision_layers, embed_dim=shape.vision_hidden, hidden_size=shape.text_hidden,
                  num_heads=shape.vision_heads, mlp_ratio=4, patch_size=shape.patch_size,
                  spatial_merge_size=2, temporal_patch_size=2, in_channels=3)
    return Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=shape.tie_embeddings,
                         **ids)


def build_processor(shape: CheckpointShape, tokenizer=None):
    """The real checkpoint's processor kind: CLIP crop for LLaVA-1.5, anyres for LLaVA-NeXT,
    dynamic resolution for Qwen2-VL."""
    tokenizer = tokenizer or build_tokenizer(shape)
    if _is_qwen(shape):
        return _qwen_processor(shape, tokenizer)
    common = dict(size={"shortest_edge": shape.image_size},
                  crop_size={"height": shape.image_size, "width": shape.image_size},
                  image_mean=CLIP_MEAN, image_std=CLIP_STD, do_center_crop=True)
    kw = dict(tokenizer=tokenizer, patch_size=shape.patch_size, image_token=IMAGE_TOKEN,
              vision_feature_select_strategy="default", num_additional_image_tokens=1)
    if shape.pinpoints:
        from transformers import LlavaNextProcessor
        from transformers.models.llava_next.image_processing_pil_llava_next import (
            LlavaNextImageProcessorPil,
        )
        ip = LlavaNextImageProcessorPil(image_grid_pinpoints=[list(p) for p in shape.pinpoints], **common)
        return LlavaNextProcessor(image_processor=ip, **kw)
    from transformers import LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    return LlavaProcessor(image_processor=CLIPImageProcessorPil(**common), **kw)


def build_config(shape: CheckpointShape, tokenizer):
    if _is_qwen(shape):
        return _qwen_config(shape, tokenizer)
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaNextConfig
    vision = CLIPVisionConfig(
        hidden_size=shape.vision_hidden, intermediate_size=shape.vision_intermediate,
        num_hidden_layers=shape.vision_layers, num_attention_heads=shape.vision_heads,
        image_size=shape.image_size, patch_size=shape.patch_size,
        projection_dim=shape.vision_hidden, hidden_act="quick_gelu")
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=shape.text_hidden,
        intermediate_size=shape.text_intermediate, num_hidden_layers=shape.text_layers,
        num_attention_heads=shape.text_heads, num_key_value_heads=shape.kv_heads,
        max_position_embeddings=shape.max_positions, rope_theta=shape.rope_theta,
        rms_norm_eps=1e-5, tie_word_embeddings=False, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    common = dict(vision_config=vision, text_config=text,
                  image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
                  projector_hidden_act="gelu", vision_feature_select_strategy="default",
                  vision_feature_layer=shape.vision_feature_layer, pad_token_id=tokenizer.pad_token_id)
    if shape.pinpoints:
        return LlavaNextConfig(image_grid_pinpoints=[list(p) for p in shape.pinpoints], **common)
    return LlavaConfig(image_seq_length=(shape.image_size // shape.patch_size) ** 2, **common)


def build_model(shape: CheckpointShape, tokenizer, seed: int = 0):
    """Randomly initialised, deterministic for a seed."""
    import torch
    torch.manual_seed(seed)
    return _model_class(shape)(build_config(shape, tokenizer)).eval()


def _model_class(shape: CheckpointShape):
    import transformers
    return getattr(transformers, shape.architecture)


def build_handle(name: str, seed: int = 0, attn_implementation: str = "eager", device: str = "cpu",
                 dtype: str = "float32", real_width: bool = False, **changes):
    """A ``ModelHandle`` on a fixture built in memory (``changes``: e.g. ``text_layers=4``;
    ``real_width``: the real checkpoint's widths, ``REAL_WIDTHS``), built directly on
    ``device`` in ``dtype`` (a 7B model at real width is never materialised on the CPU)."""
    import torch

    from .adapters import adapter_for
    from .handle import ModelHandle
    from .prompts import PROMPTS
    shape = CHECKPOINTS.get_or_raise(name)
    shape = replace(shape, **{**(REAL_WIDTHS[name] if real_width else {}), **changes})
    processor = build_processor(shape)
    if device == "cpu" and dtype == "float32":
        model = build_model(shape, processor.tokenizer, seed)
    else:
        cls = _model_class(shape)
        torch.manual_seed(seed)
        with torch.device(device):
            model = cls._from_config(build_config(shape, processor.tokenizer),
                                     dtype=getattr(torch, dtype)).eval()
    model.set_attn_implementation(attn_implementation)
    adapter = adapter_for(model, prompt=PROMPTS[shape.prompt])
    return ModelHandle(model, processor, name=f"random-{shape.name}", adapter=adapter)


def write_checkpoint(name: str, folder: str | Path, seed: int = 0) -> Path:
    """Save the fixture ``name`` into ``folder`` as its real checkpoint is laid out."""
    shape = CHECKPOINTS.get_or_raise(name)
    folder = Path(folder)
    processor = build_processor(shape)
    model = build_model(shape, processor.tokenizer, seed)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    if _is_qwen(shape):  # saved as the stock class a Qwen2-VL folder names
        config = folder / "processor_config.json"
        data = json.loads(config.read_text())
        data["processor_class"] = "Qwen2VLProcessor"
        config.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    record = {"random_weights": True, "stands_for": shape.hf_id, "seed": seed, "shape": shape.to_dict(),
              "note": "random weights: engine check only; no verdict on this model is a finding"}
    (folder / FIXTURE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return folder
