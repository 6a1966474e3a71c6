"""Load a LLaVA-family model folder (or the shipped reference model) offline."""
from __future__ import annotations

from pathlib import Path

from ..errors import ModelError, NotFoundError, UsageError
from ..paths import CONTROL_MODELS, REFERENCE_MODEL

NAMED_MODELS = {"reference": REFERENCE_MODEL, **CONTROL_MODELS}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")


def resolve_model_path(name_or_path: str | Path) -> Path:
    """A shipped model's name ('reference', 'paper-route', 'direct-route') -> its folder;
    otherwise an existing folder, checked."""
    path = NAMED_MODELS.get(str(name_or_path), Path(name_or_path))
    if not path.is_dir():
        raise NotFoundError(
            f"model folder {str(path)!r} does not exist; pass a local model folder or one of: "
            f"{', '.join(NAMED_MODELS)}")
    files = {p.name for p in path.iterdir()}
    if "config.json" not in files or not files & set(WEIGHT_FILES):
        raise NotFoundError(
            f"model folder {str(path)!r} has no weights (expected config.json and one of "
            f"{', '.join(WEIGHT_FILES)}); save the model with model.save_pretrained(folder)")
    if not files & set(TOKENIZER_FILES):
        raise NotFoundError(
            f"model folder {str(path)!r} has no tokenizer (expected one of "
            f"{', '.join(TOKENIZER_FILES)}); save it with processor.save_pretrained(folder)")
    return path


def architecture(path: Path) -> str:
    """The HF architecture a model folder's config.json names (its first ``architectures``)."""
    import json
    config = json.loads((path / "config.json").read_text())
    names = config.get("architectures") or []
    if not names:
        raise NotFoundError(f"{path / 'config.json'} names no architecture (an 'architectures' list); "
                            "save the model with model.save_pretrained(folder)")
    return names[0]


def check_weights_format(path: Path, allow_pickle: bool = False) -> None:
    """Weights are read from safetensors only: a pickle checkpoint (``pytorch_model.bin``) can
    run code when loaded, so it is refused unless ``allow_pickle``."""
    files = {p.name for p in path.iterdir()}
    safe = {"model.safetensors", "model.safetensors.index.json"} & files
    if not safe and not allow_pickle:
        raise ModelError(
            f"model folder {str(path)!r} holds pickle weights (pytorch_model.bin), which can run code "
            "when loaded; flowcheck reads safetensors only. Convert them once, where you trust the "
            "file: model = <its class>.from_pretrained(folder); model.save_pretrained(new_folder) "
            "(writes model.safetensors), or pass --allow-pickle if you trust this folder")


def load_model(name_or_path: str | Path, device: str = "cpu", dtype: str = "float32",
               attn_implementation: str = "eager", allow_pickle: bool = False,
               device_map: str | dict | None = None):
    """(model, processor) from a local folder, no network (``local_files_only``), no code from
    the folder (``trust_remote_code=False``), weights from safetensors unless ``allow_pickle``:
    the class is the one its family's adapter names for the config's architecture."""
    import torch

    from .adapters import adapter_class

    path = resolve_model_path(name_or_path)
    model_class = adapter_class(architecture(path)).model_class()
    check_weights_format(path, allow_pickle)
    processor = load_processor(path)
    placement = {}
    if device_map is not None:  # a model larger than one GPU: accelerate places the layers
        try:
            import accelerate  # noqa: F401
        except ImportError:
            raise UsageError("--device-map needs the accelerate package: pip install "
                             "'flowcheck[multi-gpu]' (or pip install accelerate)") from None
        placement = {"device_map": device_map}
    model = model_class.from_pretrained(
        path, local_files_only=True, dtype=getattr(torch, dtype), trust_remote_code=False,
        use_safetensors=not allow_pickle, attn_implementation=attn_implementation, **placement)
    if device_map is None:
        model = model.to(device)
    model.eval()
    return model, processor


def load_processor(path: Path):
    """The folder's stock transformers processor (offline, no code from the folder). A Qwen2-VL
    processor also loads a video processor, which needs torchvision; without it flowcheck
    builds the same processor for images only (``adapters.qwen2_vl.image_only_processor``)."""
    from transformers import AutoProcessor
    try:
        return AutoProcessor.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    except (OSError, ImportError, AttributeError) as e:
        if architecture(path) != "Qwen2VLForConditionalGeneration":
            raise
        from .adapters.qwen2_vl import load_image_only_processor
        try:
            return load_image_only_processor(path)
        except Exception:
            raise e from None
    except ValueError as e:
        if "trust_remote_code" not in str(e):
            raise
        raise ModelError(f"the processor of {str(path)!r} needs code from the model folder, which "
                         "flowcheck never runs; use a folder saved with the stock transformers "
                         "processor (processor.save_pretrained)") from None


def load_skeleton(name_or_path: str | Path):
    """(model without weights, processor): the model class built from ``config.json`` on
    torch's meta device (no memory, nothing read but the config), for planning a run."""
    import torch
    from transformers import AutoConfig

    from .adapters import adapter_class
    path = resolve_model_path(name_or_path)
    model_class = adapter_class(architecture(path)).model_class()
    config = AutoConfig.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    with torch.device("meta"):
        model = model_class(config)
    return model.eval(), load_processor(path)


def default_prompt(name_or_path: str | Path, tokenizer) -> str:
    """The prompt template the paper's code uses for this checkpoint: 'plain' for flowcheck's own
    models, 'qwen2_vl' for a Qwen2-VL (by architecture), 'llava_llama_3' for a Llama-3
    tokenizer, else 'vicuna_v1'."""
    path = resolve_model_path(name_or_path)
    if (path / CARD_FILE).is_file():
        return "plain"
    if architecture(path) == "Qwen2VLForConditionalGeneration":
        return "qwen2_vl"
    return "llava_llama_3" if "<|start_header_id|>" in tokenizer.get_vocab() else "vicuna_v1"


def check_device(device: str) -> str:
    """Refuse a torch device this machine does not have, before any model loads."""
    import torch
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise UsageError(f"device {device!r} is not a torch device ({e}); use cpu, cuda, cuda:N "
                         "or mps") from None
    available = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        available.append("mps")
    if dev.type == "cuda" and (not torch.cuda.is_available()
                               or (dev.index or 0) >= torch.cuda.device_count()):
        raise UsageError(f"device {device!r} is not available on this machine (torch "
                         f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                         f"available: {', '.join(available)}. For a GPU, install a CUDA build of "
                         "torch (README: Running on a GPU)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"device {device!r} is not available on this machine; available: "
                         f"{', '.join(available)}")
    return device


CARD_FILE = "flowcheck_card.json"  # the card of flowcheck's own models (written in flowcheck.reference)


FIXTURE_FILE = "flowcheck_fixture.json"  # written next to a random-weights checkpoint fixture


def model_family(name_or_path: str | Path) -> str:
    """The threshold family of a model folder: 'reference' for flowcheck's own models (they
    carry a flowcheck card), else its adapter's family ('llava', 'llava_next', ...)."""
    import json

    from .adapters import adapter_class
    path = resolve_model_path(name_or_path)
    if (path / CARD_FILE).is_file():
        return json.loads((path / CARD_FILE).read_text()).get("family", "reference")
    return adapter_class(architecture(path)).family


def random_weights(name_or_path: str | Path) -> dict | None:
    """The fixture record of a randomly initialised checkpoint fixture (None for real weights):
    its verdicts check the engine only, they are no finding about a model."""
    import json
    path = resolve_model_path(name_or_path) / FIXTURE_FILE
    return json.loads(path.read_text()) if path.is_file() else None
