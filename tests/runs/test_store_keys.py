"""A stored result is reused only when everything that made it is the same; one test per key.

Row keys (``runner.store_key`` / ``covers``): window k, engine, engine version, attention
implementation, the flows and lens variants a row holds. Folder keys (``RunFolder.create``):
model, weights fingerprint (which also changes with the dtype: tests/models/test_fingerprint.py),
dataset path and dataset content.
"""
import pytest

import flowcheck.measure.configs as configs
from flowcheck.errors import RunFolderError
from flowcheck.runs.execute import RunPlan, covers, store_key
from flowcheck.runs.folder import RunFolder

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

PLAN = RunPlan(("image->last", "question->last"), ("raw",), 3, "fast")


def row(**changes):
    base = {"question_id": "q1", "correct": True, "k": 3, "engine": "fast", "engine_version": 1,
            "attn": "sdpa", "changes": {"image->last": [0.0] * 4, "question->last": [0.0] * 4},
            "lens": {"raw": {"lower": [0.0] * 4, "capitalised": [0.0] * 4}}}
    return {**base, **changes}


KEY = store_key(PLAN, 4, "sdpa")


def test_a_row_made_the_same_way_is_reused():
    assert covers(row(), PLAN, KEY)


@pytest.mark.parametrize("changes", [
    {"k": 5},                                    # window
    {"engine": "exact"},                         # engine
    {"engine_version": 0},                       # an older engine
    {"attn": "eager"},                           # attention implementation
    {"prompt": "vicuna_v1"},                     # prompt template
    {"preprocess": "checkpoint"},                # image preprocessing
    {"changes": {"image->last": [0.0] * 4}},     # a flow the plan needs is missing
    {"lens": {"normed": {"lower": [0.0], "capitalised": [0.0]}}},  # the lens variant is missing
])
def test_a_row_made_otherwise_is_measured_again(changes):
    assert not covers(row(**changes), PLAN, KEY)


def test_rows_from_before_a_key_existed_are_read_as_its_first_value():
    old = row()
    del old["engine_version"], old["attn"]
    assert covers(old, PLAN, KEY)  # engine version 1, the fast engine's default kernel (sdpa),
    assert (KEY["prompt"], KEY["preprocess"]) == ("plain", "paper")  # the only ones before 16


def test_bumping_an_engine_version_invalidates_its_rows(monkeypatch):
    monkeypatch.setitem(configs.ENGINE_VERSIONS, "fast", 2)
    assert not covers(row(), PLAN, store_key(PLAN, 4, "sdpa"))


def test_an_incorrect_row_is_reused_whatever_it_lacks():
    assert covers(row(correct=False, changes={}, lens={}), PLAN, KEY)  # nothing to measure


META = {"model": "fixtures/models/reference", "dataset": "fixtures/data/synthetic-eval",
        "weights": "aaaa", "dataset_content": "d1"}


@pytest.mark.parametrize("field, value, message", [
    ("model", "/elsewhere/model", "holds results for model"),
    ("dataset", "/elsewhere/data", "holds results for dataset"),
    ("dataset_content", "d2", "other contents of the dataset .*fingerprint d1, now d2"),
    ("weights", "bbbb", "other weights .*fingerprint aaaa, now bbbb"),
])
def test_a_run_folder_refuses_another_model_dataset_or_weights(tmp_path, field, value, message):
    RunFolder(tmp_path).create(META)
    with pytest.raises(RunFolderError, match=message):
        RunFolder(tmp_path).create({**META, field: value})
    RunFolder(tmp_path).create(META)  # the same again: fine


def test_the_dataset_fingerprint_follows_the_questions_file(tmp_path):
    from flowcheck.data.dataset import dataset_fingerprint
    (tmp_path / "questions.jsonl").write_text('{"question_id": "1"}\n')
    first = dataset_fingerprint(tmp_path)
    assert dataset_fingerprint(tmp_path) == first
    (tmp_path / "questions.jsonl").write_text('{"question_id": "2"}\n')
    assert dataset_fingerprint(tmp_path) != first


def test_lens_rows_from_before_the_lens_tokens_fix_are_measured_again_after_a_chat_template():
    """Rows without ``lens_tokens`` followed ' ' + word: right after 'ASSISTANT:' (kept, the
    committed reports rely on it), wrong after a newline-ending chat template (re-measured)."""
    qwen_plan_key = {**KEY, "prompt": "qwen2_vl"}
    assert not covers(row(prompt="qwen2_vl"), PLAN, qwen_plan_key)
    assert covers(row(prompt="qwen2_vl", lens_tokens={"lower": "yes", "capitalised": "Yes"}),
                  PLAN, qwen_plan_key)
    assert covers(row(), PLAN, KEY)  # plain: the old tokens were the right ones
    no_lens = RunPlan(PLAN.flows, (), 3, "fast")
    assert covers(row(prompt="qwen2_vl", lens={}), no_lens, qwen_plan_key)  # lens not asked for


def test_rows_painted_otherwise_than_the_run_are_measured_again():
    """The box painting is part of the row key (``covers``, so resuming, judging and the shard
    completion check agree): rows from before it was recorded were painted half-open."""
    paper = store_key(PLAN, 4, "sdpa", painting="paper")
    assert not covers(row(), PLAN, paper)  # an old GQA row: half-open boxes
    assert covers(row(box_painting="paper"), PLAN, paper)
    assert covers(row(), PLAN, store_key(PLAN, 4, "sdpa", painting="exact"))
    assert covers(row(box_painting="paper"), PLAN, store_key(PLAN, 4, "sdpa", painting="exact+paper"))
    legacy = store_key(PLAN, 4, "sdpa", meta={"adapter": {}})  # run.json without box_painting
    assert legacy["box_painting"] is None and covers(row(), PLAN, legacy)
    recorded = store_key(PLAN, 4, "sdpa", meta={"box_painting": {"paper": "..."}})
    assert not covers(row(), PLAN, recorded)
