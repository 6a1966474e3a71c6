"""LoRA adapters (PEFT): an adapter folder (``adapter_config.json`` + ``adapter_model.safetensors``,
what PEFT fine-tuning saves) runs as the model it adapts.

The base is the adapter config's ``base_model_name_or_path`` (a folder, a Hub id or a shipped
model's name) unless ``--base`` names another. The base loads as usual (its family, processor
and checks), then PEFT puts the adapter on it and, by default, merges it into the weights
(``merge_and_unload``): the engines then see an ordinary model of the family. Unmerged (the
LoRA layers computing W x + B A x on the fly) gives the same numbers within float noise
(``tests/models/test_lora.py``). run.json records the base and the adapter (``lora``); the
weights fingerprint is the adapted model's.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError, NotFoundError, UsageError
from ..paths import read_json

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


@dataclass(frozen=True)
class LoraAdapter:
    """A checked adapter folder and the base it adapts (as named)."""

    path: Path
    config: dict
    base: str

    def record(self) -> dict:
        """What run.json records: where, on what, its shape, and its weights' digest."""
        digest = hashlib.sha256((self.path / ADAPTER_WEIGHTS).read_bytes()).hexdigest()[:16]
        keys = ("peft_type", "r", "lora_alpha", "target_modules")
        return {"adapter": str(self.path), "base": self.base, "weights_sha256": digest, "merged": True,
                **{k: self.config.get(k) for k in keys}}


def is_adapter_folder(path: Path) -> bool:
    """A PEFT adapter folder: an adapter config and no model config of its own."""
    return (path / ADAPTER_CONFIG).is_file() and not (path / "config.json").is_file()


def read_adapter(path: Path, base: str | None = None) -> LoraAdapter:
    """The adapter folder checked: a LoRA config, safetensors weights, a base to put it on."""
    config = read_json(path / ADAPTER_CONFIG, "the LoRA adapter's config",
                       "save the adapter again with model.save_pretrained(folder) (PEFT)")
    kind = str(config.get("peft_type", "LORA")).upper()
    if kind != "LORA":
        raise ModelError(f"{path / ADAPTER_CONFIG}: peft_type {config.get('peft_type')!r}; flowcheck puts "
                         "LoRA adapters on their base model only (merge other kinds and pass the saved "
                         "model)")
    if not (path / ADAPTER_WEIGHTS).is_file():
        raise NotFoundError(f"LoRA adapter folder {str(path)!r} has no {ADAPTER_WEIGHTS}; save it with "
                            "safe_serialization (PEFT's default) - pickle adapter weights are not read")
    base = base or config.get("base_model_name_or_path")
    if not base:
        raise UsageError(f"{path / ADAPTER_CONFIG} names no base model (base_model_name_or_path); pass "
                         "--base with the folder or Hub id of the model the adapter was trained on")
    return LoraAdapter(path, config, str(base))


def apply_adapter(model, adapter: LoraAdapter, merge: bool = True):
    """``model`` with the adapter on it: merged into the weights (the family's own module tree),
    or unmerged (LoRA layers in place of the adapted linear layers, the same tree around them)."""
    try:
        from peft import PeftModel
    except ImportError:
        raise UsageError("a LoRA adapter needs the peft package: pip install 'flowcheck[lora]' "
                         "(or merge the adapter and pass the saved model)") from None
    try:
        peft_model = PeftModel.from_pretrained(model, str(adapter.path), is_trainable=False)
    except (ValueError, KeyError, RuntimeError) as e:
        raise ModelError(f"cannot put the LoRA adapter {str(adapter.path)!r} on {adapter.base!r}: "
                         f"{type(e).__name__}: {str(e)[:300]}; is it an adapter of this base model?") from e
    return peft_model.merge_and_unload() if merge else peft_model.get_base_model()
