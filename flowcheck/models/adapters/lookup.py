"""From an architecture name (config.json's ``architectures``) to the adapter class that
measures it: a registered family adapter; else, for an image-text-to-text model of
transformers, the generic path (``generic.py``); else a refusal that says why
(``CANNOT_MEASURE``: architectures whose flows cannot be measured honestly)."""
from __future__ import annotations

from ...errors import ModelError
from .base import ADAPTERS, ModelAdapter
from .generic import generic_adapter_class

# architectures whose flows flowcheck cannot measure honestly, with the reason
CANNOT_MEASURE = {
    "MllamaForConditionalGeneration": (
        "the image enters the language model through cross-attention layers, not as tokens in "
        "the sequence, so there are no image positions whose attention a knockout could block "
        "(it would have to mask cross-attention, which is another method than the paper's)"),
    "PaliGemmaForConditionalGeneration": (
        "it is a prefix-LM: the whole prompt, image and question, attends both ways, so "
        "image->question and question->last are not one-way flows and the claims, stated for "
        "causal models, do not apply"),
    "InternVLChatModel": (
        "it is a remote-code checkpoint (its model class is code in the model folder, which "
        "flowcheck never runs); use the transformers-native conversion of the same weights, the "
        "'-hf' checkpoints (e.g. OpenGVLab/InternVL3-1B-hf), which flowcheck measures as family internvl"),
}


def adapter_class(architecture: str):
    if architecture in CANNOT_MEASURE:
        raise ModelError(f"flowcheck cannot measure {architecture}: {CANNOT_MEASURE[architecture]}")
    if architecture in ADAPTERS:
        return ADAPTERS[architecture]
    if is_image_text_to_text(architecture):  # no family adapter: the generic path
        return generic_adapter_class(architecture)
    raise ModelError(f"model architecture {architecture!r} is not supported: it has no flowcheck "
                     f"family adapter ({', '.join(ADAPTERS)}; flowcheck ls models) and is not an "
                     "image-text-to-text model of transformers (which the generic path measures)")


def is_image_text_to_text(architecture: str) -> bool:
    """Listed in transformers' image-text-to-text mapping (``AutoModelForImageTextToText``)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
    return architecture in set(MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES.values())


def adapter_for(model, **options) -> ModelAdapter:
    """The adapter of a live model (by its class name), with ``options`` (prompt, preprocess)."""
    return adapter_class(type(model).__name__)(**options)
