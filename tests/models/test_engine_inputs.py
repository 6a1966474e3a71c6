"""Every registered family is measured on the model's own inputs: the clean run's logits
equal ``model(**processor_outputs)`` (vision tower included) within 1e-5, and so do the exact
engine's forwards, one row or a batch. The families are read from the adapter registry, so a
family registered without a checkpoint fixture to check it on fails here."""
import pytest
import torch

from flowcheck.measure.clean import clean_run
from flowcheck.models.adapters import ADAPTERS
from flowcheck.models.fixtures.checkpoints import CHECKPOINTS, build_handle

FAMILIES = sorted({a.family: a for a in ADAPTERS.values()}.items())


def fixture_of(adapter) -> str:
    """The first checkpoint fixture of the adapter's architecture."""
    names = [n for n, s in CHECKPOINTS.items() if s.architecture == adapter.architecture]
    assert names, (f"family {adapter.family!r} ({adapter.architecture}) is registered without a "
                   "checkpoint fixture (flowcheck.models.fixtures.checkpoints) to check it on")
    return names[0]


@pytest.fixture(scope="module", params=[a for _, a in FAMILIES], ids=[f for f, _ in FAMILIES])
def family_handle(request):
    return build_handle(fixture_of(request.param), text_layers=4, vision_layers=2)


def test_the_clean_run_is_the_model_on_its_own_inputs(family_handle, eval_samples):
    for sample in (eval_samples[0], eval_samples[-1]):
        enc = family_handle.encode(sample)
        with torch.no_grad():
            reference = family_handle.model(**enc.inputs).logits[0, -1]  # pixels, vision tower run
        clean = clean_run(family_handle, enc)
        assert (clean.logits_last - reference).abs().max() <= 1e-5
        with torch.no_grad():
            batched = family_handle.forward(enc, batch=3).logits[:, -1]  # (3, vocab)
        assert (batched - reference).abs().max() <= 1e-5


def test_the_vision_output_is_computed_once_per_sample(family_handle, eval_samples, monkeypatch):
    enc = family_handle.encode(eval_samples[0])
    calls = []
    tower = family_handle.model.model.get_image_features
    monkeypatch.setattr(family_handle.model.model, "get_image_features",
                        lambda *a, **k: calls.append(1) or tower(*a, **k))
    clean_run(family_handle, enc)
    with torch.no_grad():
        family_handle.forward(enc)
        family_handle.forward(enc, batch=2)
    assert calls == []


def test_question_positions_from_the_processors_own_text_equal_the_one_token_rule(family_handle,
                                                                                  eval_samples):
    """Encoding finds the question in the text the processor tokenised (its replacement
    offsets); on every family it equals the older rule (one image token grows to N), which
    the planner still uses without an image."""
    for sample in eval_samples[::7]:
        enc = family_handle.encode(sample)
        planned = family_handle.token_layout(sample)
        assert (enc.seq_len, len(enc.regions.image), list(enc.regions.question)) == planned


def test_the_question_span_moves_past_placeholders_that_grow_into_markers_and_tiles():
    from flowcheck.errors import DataError
    from flowcheck.models.regions import expanded_question_span
    prompt = "<s>User: <image>\nIs the cat red? Answer:"
    start = prompt.index("Is")
    tiles = "<img>" + "<row_1_col_1>" + "<IMG>" * 4 + "\n" + "<global>" + "<IMG>" * 2 + "</img>"
    replacements = [{"span": (9, 16), "replacement": tiles}]
    text, (a, b) = expanded_question_span(prompt, (start, start + 15), replacements)
    assert text[a:b] == "Is the cat red?" and text.count("<IMG>") == 6
    with pytest.raises(DataError, match="inside the question"):
        expanded_question_span(prompt, (5, 20), replacements)


@pytest.mark.parametrize("architecture, reason", [
    ("MllamaForConditionalGeneration", "cross-attention layers, not as tokens in the sequence"),
    ("PaliGemmaForConditionalGeneration", "prefix-LM: the whole prompt, image and question, attends "
                                          "both ways"),
    ("BertForMaskedLM", "is not supported: it has no flowcheck family adapter .* and is not an "
                        "image-text-to-text model"),
])
def test_architectures_flowcheck_cannot_measure_are_refused_with_the_reason(tmp_path, architecture,
                                                                             reason):
    import json
    import shutil

    from flowcheck.errors import ModelError
    from flowcheck.models.source import read_source
    from flowcheck.paths import REFERENCE_MODEL
    folder = shutil.copytree(REFERENCE_MODEL, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architectures": [architecture]}))
    (folder / "flowcheck_card.json").unlink()
    with pytest.raises(ModelError, match=reason):
        read_source(folder).adapter_class


def test_an_image_text_to_text_model_without_an_adapter_takes_the_generic_path():
    from flowcheck.models.adapters import adapter_class
    from flowcheck.models.adapters.generic import GenericAdapter
    cls = adapter_class("Mistral3ForConditionalGeneration")
    assert issubclass(cls, GenericAdapter) and cls.family == "generic" and not cls.fast_engine
    assert cls.group_names() == ("image", "question", "last")
    assert adapter_class("Mistral3ForConditionalGeneration") is cls  # one class per architecture


def test_the_generic_path_gives_each_full_adapters_groups_and_exact_curves(family_handle, eval_samples):
    """The generic path (no family knowledge) on each family that has a full adapter: the same
    image, question and last positions, and the same exact-engine p(answer) under the core
    knockouts, within 1e-6 (the image processed as the checkpoint's processor does, the
    adapter's own prompt template given to both)."""
    from dataclasses import replace

    from flowcheck.measure.configs import plan_configs
    from flowcheck.measure.exact import exact_probabilities
    from flowcheck.measure.flows import flows_for
    from flowcheck.models.adapters.generic import generic_adapter_class
    from flowcheck.models.handle import ModelHandle
    full = family_handle
    if full.adapter.preprocess != "checkpoint" and "checkpoint" in full.adapter.preprocess_modes:
        full = ModelHandle(full.model, full.processor, adapter=replace(full.adapter, preprocess="checkpoint"))
    generic_class = generic_adapter_class(full.adapter.architecture)
    generic = ModelHandle(full.model, full.processor, adapter=generic_class(prompt=full.adapter.prompt))
    configs = plan_configs(flows_for(generic.adapter.groups), full.n_layers, 2)
    assert {c.flow for c in configs} == {"image->question", "image->last", "question->last", "last->last"}
    for i, sample in enumerate((eval_samples[0], eval_samples[-1])):
        a, b = full.encode(sample), generic.encode(sample)
        assert (a.regions.image, a.regions.question, a.regions.last) == (
            b.regions.image, b.regions.question, b.regions.last)
        assert b.regions.related == b.regions.other == ()
        if i == 0:  # the curves on one sample, every flow at every other window (CPU time)
            pa = exact_probabilities(full, a, clean_run(full, a), configs[::2])
            pb = exact_probabilities(generic, b, clean_run(generic, b), configs[::2], batch_size=3)
            assert max(abs(x - y) for x, y in zip(pa, pb)) <= 1e-6
