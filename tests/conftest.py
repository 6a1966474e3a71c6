"""Shared fixtures. The suite never touches the network."""
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def eval_samples():
    from flowcheck.data import dataset
    from flowcheck.paths import EVAL_SPLIT
    return dataset.load(EVAL_SPLIT, max_per_task=10)


@pytest.fixture(scope="session")
def tiny_handle():
    """A random-weight reference-architecture model with 6 layers (plumbing only)."""
    from dataclasses import replace

    from flowcheck.models.fixtures.tiny import ReferenceSpec, build_model, build_processor
    from flowcheck.models.handle import ModelHandle
    spec = replace(ReferenceSpec(), text_layers=6)
    processor = build_processor(spec)
    model = build_model(spec, processor.tokenizer, seed=0).eval()
    model.set_attn_implementation("eager")
    return ModelHandle(model, processor, name="tiny-random")


@pytest.fixture(scope="session")
def reference_handle():
    from flowcheck.models.handle import load_handle
    return load_handle("reference", attn_implementation="eager")


@pytest.fixture(scope="session")
def llava15_handle():
    from flowcheck.models.fixtures.bench_layouts import build_layout_handle
    return build_layout_handle("llava15", attn_implementation="eager")
