"""Load a model folder (or a shipped model) offline: weights, processor, or only the skeleton."""
from __future__ import annotations

from pathlib import Path

from ..errors import ModelError, UsageError
from .source import read_source


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


class _OptionalExtensionNoise:
    """A logging filter for two messages every load printed that say nothing about the model:
    torchao's "Failed to load <its CUDA/other-Python .so>" (torchao, pinned for quantised
    checkpoints, is imported by transformers when it is installed) and torch's deprecation
    note on torchao's Enum registration. Every other record passes."""

    @staticmethod
    def filter(record) -> bool:
        text = str(record.msg)
        return not (text.startswith("Failed to load") and ".so" in record.getMessage()) \
            and "is an Enum subclass and is now natively supported" not in text


def quiet_optional_extensions() -> None:
    """Install ``_OptionalExtensionNoise`` on the torchao and torch pytree loggers (once)."""
    import logging
    for name in ("torchao", "torch.utils._pytree"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _OptionalExtensionNoise) for f in logger.filters):
            logger.addFilter(_OptionalExtensionNoise())


def load_model(name_or_path: str | Path, device: str = "cpu", dtype: str = "float32",
               attn_implementation: str = "eager", allow_pickle: bool = False,
               device_map: str | dict | None = None):
    """(model, processor) from a local folder, no network (``local_files_only``), no code from
    the folder (``trust_remote_code=False``), weights from safetensors unless ``allow_pickle``:
    the class is the one its family's adapter names for the config's architecture."""
    import torch

    quiet_optional_extensions()
    source = read_source(name_or_path)
    path, adapter = source.path, source.adapter_class
    model_class = adapter.model_class()
    check_weights_format(path, allow_pickle)
    processor = adapter.load_processor(path)
    config = load_config(source)
    placement = {}
    if device_map is not None:  # a model larger than one GPU: accelerate places the layers
        try:
            import accelerate  # noqa: F401
        except ImportError:
            raise UsageError("--device-map needs the accelerate package: pip install "
                             "'flowcheck[multi-gpu]' (or pip install accelerate)") from None
        placement = {"device_map": device_map}
    model, info = model_class.from_pretrained(
        path, config=config, local_files_only=True, dtype=getattr(torch, dtype), trust_remote_code=False,
        use_safetensors=not allow_pickle, attn_implementation=attn_implementation,
        output_loading_info=True, **placement)
    check_weights_fill_config(source, info)
    if source.lora is not None:
        from .lora import apply_adapter
        model = apply_adapter(model, source.lora)
    if device_map is None:
        model = model.to(device)
    model.eval()
    return model, processor


def load_config(source):
    """The folder's transformers config; a config.json transformers cannot build a config from
    (a missing or wrong ``model_type``, a value of the wrong type) is a ModelError naming it."""
    from transformers import AutoConfig
    try:
        return AutoConfig.from_pretrained(source.path, local_files_only=True, trust_remote_code=False)
    except Exception as e:  # transformers' errors while reading the user's config.json
        if "trust_remote_code" in str(e):
            raise ModelError(f"the config of {str(source.path)!r} needs code from the model folder, "
                             "which flowcheck never runs; use a model of a stock transformers "
                             "class") from None
        raise ModelError(f"cannot build a config from {str(source.path / 'config.json')!r}: "
                         f"{type(e).__name__}: {str(e)[:300]}; save the model again with "
                         "model.save_pretrained(folder)") from e


def check_weights_fill_config(source, info: dict) -> None:
    """A model is what its weights say: a tensor the config asks for and the file lacks
    (transformers would initialise it at random) or one the file holds and the config has no
    place for refuses the folder, naming them (a random-weights fixture is exempt)."""
    if source.fixture is not None:
        return
    problems = [(kind, sorted(info.get(key) or [])) for kind, key in (
        ("missing from the weights (would be random)", "missing_keys"),
        ("in the weights but not in the config", "unexpected_keys"),
        ("of another shape than the config says", "mismatched_keys"))]
    problems = [(kind, keys) for kind, keys in problems if keys]
    if problems:
        what = "; ".join(f"{len(keys)} tensors {kind}, e.g. {', '.join(map(str, keys[:3]))}"
                         for kind, keys in problems)
        raise ModelError(f"model folder {str(source.path)!r}: its weights do not fill its config.json: "
                         f"{what}. The run would measure another model than the one saved; save the "
                         "model and its config together (model.save_pretrained(folder))")


def load_skeleton(name_or_path: str | Path):
    """(model without weights, processor): the model class built from ``config.json`` on
    torch's meta device (no memory, nothing read but the config), for planning a run."""
    import torch

    source = read_source(name_or_path)
    config = load_config(source)
    with torch.device("meta"):
        model = source.adapter_class.model_class()(config)
    return model.eval(), source.adapter_class.load_processor(source.path)


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
                         "torch (docs/gpu.md: Running on a GPU)")
    if dev.type == "meta":
        raise UsageError("device 'meta' holds no weights (tensors without data): nothing can be "
                         f"measured on it; use one of {', '.join(available)}")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"device {device!r} is not available on this machine; available: "
                         f"{', '.join(available)}")
    return device
