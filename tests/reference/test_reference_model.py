"""The shipped reference model: offline loading, size, accuracy as its card says."""
import os
import shutil
import subprocess
import sys

import pytest

from flowcheck.data import dataset
from flowcheck.models.loading import load_model
from flowcheck.models.source import read_source
from flowcheck.paths import EVAL_SPLIT, REFERENCE_MODEL
from flowcheck.reference.card import read_card

LOAD_SNIPPET = f"""
from transformers import AutoProcessor, LlavaForConditionalGeneration
p = AutoProcessor.from_pretrained({str(REFERENCE_MODEL)!r})
m = LlavaForConditionalGeneration.from_pretrained({str(REFERENCE_MODEL)!r})
print(type(p).__name__, type(m).__name__, m.config.text_config.num_hidden_layers)
"""


@pytest.mark.parametrize("offline", [False, True], ids=["no-network-vars", "HF_HUB_OFFLINE=1"])
def test_loads_with_stock_classes_offline(offline):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    name_p, name_m, layers = out.stdout.split()[-3:]
    assert (name_p, name_m) == ("LlavaProcessor", "LlavaForConditionalGeneration")
    assert int(layers) >= 12


def test_checkpoint_is_small_safetensors():
    size = (REFERENCE_MODEL / "model.safetensors").stat().st_size
    assert size <= 30 * 2**20, f"{size / 2**20:.1f} MB"


def test_card_has_the_required_facts():
    card = read_card(REFERENCE_MODEL)
    assert card["command"].startswith("flowcheck reference train")
    assert card["steps"] > 0 and card["wall_time_s"] > 0
    assert card["wall_time_s"] <= 120 * 60
    assert set(card["eval_accuracy"]) >= set(dataset.TASKS)
    assert (REFERENCE_MODEL / "README.md").read_text().count("|") > 10


@pytest.fixture(scope="module")
def reference():
    return load_model("reference")


def test_accuracy_matches_card_on_30_per_task(reference):
    from flowcheck.reference.evaluate import accuracy_by_task
    model, processor = reference
    card = read_card(REFERENCE_MODEL)["subset_accuracy"]
    acc = accuracy_by_task(model, processor, dataset.load(EVAL_SPLIT, max_per_task=30))
    for task in dataset.TASKS:
        assert abs(acc[task] - card[task]) <= 0.05, (task, acc[task], card[task])


def test_answer_depends_on_the_image(reference):
    """Same question, image of another scene: the answer must change for some samples."""
    import torch
    model, processor = reference
    samples = dataset.load(EVAL_SPLIT, tasks=["ChooseAttr", "QueryAttr"], max_per_task=20)
    from flowcheck.models.prompts import llava15_prompt
    texts = [llava15_prompt(s.question) for s in samples]
    with torch.no_grad():
        a = model(**processor(images=[s.image for s in samples], text=texts, return_tensors="pt",
                              padding=True)).logits[:, -1].argmax(-1)
        shuffled = [samples[(i + 1) % len(samples)].image for i in range(len(samples))]
        b = model(**processor(images=shuffled, text=texts, return_tensors="pt",
                              padding=True)).logits[:, -1].argmax(-1)
    assert (a != b).float().mean() > 0.25


def _copy_without(tmp_path, names):
    dst = tmp_path / "model"
    shutil.copytree(REFERENCE_MODEL, dst)
    for n in names:
        (dst / n).unlink(missing_ok=True)
    return dst


def test_folder_missing_tokenizer_is_a_clear_error(tmp_path):
    folder = _copy_without(tmp_path, ["tokenizer.json", "tokenizer_config.json"])
    with pytest.raises(FileNotFoundError, match="has no tokenizer.*processor.save_pretrained"):
        read_source(folder)


def test_folder_missing_weights_is_a_clear_error(tmp_path):
    folder = _copy_without(tmp_path, ["model.safetensors"])
    with pytest.raises(FileNotFoundError, match="has no weights.*save_pretrained"):
        read_source(folder)


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(FileNotFoundError, match="does not exist.*reference"):
        read_source("llava-typo")


@pytest.mark.parametrize("label, model", [("natural", "reference"), ("paper-route", "paper-route"),
                                          ("direct-route", "direct-route")])
def test_the_card_and_the_suite_count_the_same_samples_as_answered_correctly(label, model, eval_samples):
    """One definition of "answered correctly": the model card's accuracy (greedy first token,
    batched) and the suite's correct-only filter (stored per sample in the committed run)."""
    import json

    from flowcheck.measure.metrics import is_correct
    from flowcheck.models.loading import load_model
    from flowcheck.paths import REPO_ROOT
    from flowcheck.reference.evaluate import first_tokens
    rows = {}
    for line in (REPO_ROOT / "reports" / "reference" / label / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[row["question_id"]] = row["correct"]
    m, processor = load_model(model)
    card = [is_correct(t, s.answer) for s, t in zip(eval_samples, first_tokens(m, processor, eval_samples))]
    assert card == [rows[s.row["question_id"]] for s in eval_samples]
