"""Model families: one adapter per HF architecture (``base.ModelAdapter`` says what one owns).

Importing this package registers every family (``llava``, ``llava_next``, ``qwen2_vl``,
``qwen2_5_vl``, ``qwen3_vl``, ``internvl``, ``llava_onevision``, ``gemma3``, ``smolvlm``); any
other image-text-to-text model takes the generic path.
"""
from . import gemma3, internvl, llava, llava_next, llava_onevision, qwen2_5_vl, qwen2_vl, qwen3_vl, smolvlm  # noqa: F401  (registers the adapters)
from .base import ADAPTERS, ModelAdapter, register_adapter
from .lookup import CANNOT_MEASURE, adapter_class, adapter_for

__all__ = ["ADAPTERS", "CANNOT_MEASURE", "ModelAdapter", "adapter_class", "adapter_for", "register_adapter"]
