"""The model folder, read once: ``ModelSource`` is everything flowcheck learns from a model
folder before any weight loads (path, architecture, adapter class, threshold family, the
card of flowcheck's own models, the random-weights record of a fixture, the Hub snapshot a
Hub id resolved to). Every later stage takes these from ``handle.source``; nothing re-reads
the folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import NotFoundError, UsageError, UserFileError
from ..paths import CONTROL_MODELS, REFERENCE_MODEL, read_json
from .hub import HubSnapshot, parse_hub_id, resolve
from .lora import LoraAdapter, is_adapter_folder, read_adapter

NAMED_MODELS = {"reference": REFERENCE_MODEL, **CONTROL_MODELS}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
CARD_FILE = "flowcheck_card.json"  # the card of flowcheck's own models (written by flowcheck.reference)
FIXTURE_FILE = "flowcheck_fixture.json"  # written next to a random-weights checkpoint fixture


@dataclass(frozen=True)
class ModelSource:
    """A checked model folder: what it is, before anything loads."""

    name: str  # as the user gave it ('reference', a folder)
    path: Path
    architecture: str  # the first of config.json's ``architectures``
    card: dict | None  # flowcheck's own models: their card (family 'reference'), else None
    fixture: dict | None  # a random-weights fixture's record, else None (real weights)
    hub: HubSnapshot | None = None  # the cached Hub snapshot a Hub id resolved to, else None
    lora: LoraAdapter | None = None  # a LoRA adapter put on this (base) model, else None

    @property
    def adapter_class(self):
        from .adapters import adapter_class
        return adapter_class(self.architecture)

    @property
    def family(self) -> str:
        """The threshold family: 'reference' for flowcheck's own models, else the adapter's."""
        if self.card is not None:
            return self.card.get("family", "reference")
        return self.adapter_class.family

    @property
    def random_weights(self) -> dict | None:
        """The fixture record of randomly initialised weights: verdicts on them check the
        engine only, they are no finding about a model."""
        return self.fixture

    def default_prompt(self, tokenizer) -> str:
        """The prompt template the paper's code uses for this checkpoint: 'plain' for
        flowcheck's own models, else the adapter's choice."""
        return "plain" if self.card is not None else self.adapter_class.default_prompt(tokenizer)


def read_source(name_or_path, base: str | None = None) -> ModelSource:
    """A shipped model's name ('reference', 'paper-route', 'direct-route'), a local folder, a
    Hub id or a LoRA adapter folder (on ``base``, default its config's), checked (config,
    weights, tokenizer) and read once."""
    if isinstance(name_or_path, ModelSource):
        return name_or_path
    if is_adapter_folder(Path(name_or_path)):
        from dataclasses import replace
        adapter = read_adapter(Path(name_or_path), base)
        return replace(read_source(adapter.base), name=str(name_or_path), lora=adapter)
    if base is not None:
        raise UsageError(f"--base {base!r} is for a LoRA adapter folder; {str(name_or_path)!r} is a model")
    path, hub = NAMED_MODELS.get(str(name_or_path), Path(name_or_path)), None
    if not path.is_dir():
        hub_id = parse_hub_id(str(name_or_path))
        if hub_id is None:
            raise NotFoundError(
                f"model folder {str(path)!r} does not exist; pass a local model folder, a Hugging Face "
                f"Hub id (ORG/NAME, or ORG/NAME@REVISION) or one of: {', '.join(NAMED_MODELS)}")
        hub = resolve(*hub_id)
        path, name_or_path = hub.path, hub.repo_id
    files = {p.name for p in path.iterdir()}
    if "config.json" not in files or not files & set(WEIGHT_FILES):
        raise NotFoundError(
            f"model folder {str(path)!r} has no weights (expected config.json and one of "
            f"{', '.join(WEIGHT_FILES)}); save the model with model.save_pretrained(folder)")
    if not files & set(TOKENIZER_FILES):
        raise NotFoundError(
            f"model folder {str(path)!r} has no tokenizer (expected one of "
            f"{', '.join(TOKENIZER_FILES)}); save it with processor.save_pretrained(folder)")
    files = {name: _read_json(path / name) for name in sorted(files) if name.endswith(".json")}
    return ModelSource(str(name_or_path), path, _architecture(path, files["config.json"]),
                       files.get(CARD_FILE), files.get(FIXTURE_FILE), hub)


def _read_json(path: Path) -> dict:
    """One JSON file of a model folder, checked before transformers parses it (whose errors
    name neither the file nor the fix)."""
    return read_json(path, "the model folder's file", "save the model and processor again with "
                     "save_pretrained(folder), or copy the file again from the model's source")


def _architecture(path: Path, config: dict) -> str:
    """The HF architecture a model folder's config.json names (its first ``architectures``)."""
    names = config.get("architectures") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserFileError(f"{path / 'config.json'}: 'architectures' must be a list of class names, "
                            f"got {names!r}; save the model with model.save_pretrained(folder)")
    if not names:
        raise NotFoundError(f"{path / 'config.json'} names no architecture (an 'architectures' list); "
                            "save the model with model.save_pretrained(folder)")
    return names[0]
