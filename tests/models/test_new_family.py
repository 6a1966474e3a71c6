"""A family is one adapter file: a throwaway family (the LLaVA adapter under a new
architecture name, with a family name no claim YAML knows, on the reference model's weights)
registered here, in the test only, runs end to end through the public API - loading, token
groups, knockouts, lens, verdicts on the claims' default thresholds row, report - with no
edit outside this file."""
import json
from dataclasses import dataclass

import pytest

import flowcheck
from flowcheck.models.adapters import ADAPTERS, register_adapter
from flowcheck.models.adapters.llava import LlavaAdapter

ARCHITECTURE = "ThrowawayVLForConditionalGeneration"


@pytest.fixture
def throwaway_family(tmp_path):
    """A model folder of the new architecture, its adapter registered for the test."""
    from transformers import LlavaForConditionalGeneration

    class ThrowawayVLForConditionalGeneration(LlavaForConditionalGeneration):
        pass

    @register_adapter
    @dataclass(frozen=True)
    class ThrowawayAdapter(LlavaAdapter):
        family = "throwaway"
        architecture = ARCHITECTURE

        @classmethod
        def model_class(cls):
            return ThrowawayVLForConditionalGeneration

        @classmethod
        def default_prompt(cls, tokenizer) -> str:
            return "plain"  # the reference model's own template

    # the shipped reference model's trained weights, saved as the new architecture (no card:
    # its family comes from the adapter)
    from flowcheck.models.loading import load_model
    model, processor = load_model("reference")
    renamed = ThrowawayVLForConditionalGeneration(model.config)
    renamed.load_state_dict(model.state_dict())
    folder = tmp_path / "model"
    renamed.save_pretrained(folder)
    processor.save_pretrained(folder)
    assert json.loads((folder / "config.json").read_text())["architectures"] == [ARCHITECTURE]
    yield folder
    ADAPTERS.unregister(ARCHITECTURE)


def test_a_family_registered_in_one_file_runs_end_to_end(throwaway_family, tmp_path):
    result = flowcheck.run(throwaway_family, tasks=["ChooseAttr"], max_samples=6, out=tmp_path / "run",
                           claims=["question_to_last_middle", "lowercase_before_capitalised"],
                           progress=False)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["family"] == "throwaway" and meta["adapter"]["family"] == "throwaway"
    assert meta["adapter"]["prompt"] == "plain" and meta["n_layers"] == 12
    assert {v.claim for v in result.verdicts} == {"question_to_last_middle", "lowercase_before_capitalised"}
    assert all(v.status in ("holds", "fails", "uncertain") for v in result.verdicts)  # judged, all
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert ("thresholds: the project's default, not read off the paper for `throwaway` "
            "(2 of 2 claims" in summary)
    from flowcheck.claims.spec import load_claims
    spec = load_claims(ids=["question_to_last_middle"])[0]
    assert spec.uses_default("throwaway")
    pooled = result.verdict("question_to_last_middle", "all")
    assert {c.name: c.threshold for c in pooled.conditions} == spec.thresholds_for("default")
