"""Training the reference model: smoke run, exact reproducibility, resume, bad input."""
import hashlib
from dataclasses import replace

import pytest

from flowcheck.models.reference.train import TrainSpec, train

SHORT = TrainSpec(seed=5, steps=3, batch_size=6, eval_every=3, val_per_task=2, warmup=2,
                  vision_steps=1)  # step 0: vision tower alone; steps 1-2: all objectives


def weights_hash(model) -> str:
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run-a")
    model, processor, history = train(out, SHORT, progress=False, log=lambda *_: None)
    return out, model, history


def test_short_training_runs_and_logs(short_run):
    out, model, history = short_run
    assert history[-1]["step"] == 3 and (out / "checkpoint.pt").is_file()
    assert set(history[-1]["val_acc"]) >= {"ChooseAttr", "QueryAttr", "all"}


def test_vision_phase_leaves_the_language_model_untouched(tmp_path):
    from flowcheck.models.reference.builder import ReferenceSpec, build_model, build_processor
    from flowcheck.models.reference.train import tie_capitalised_rows

    spec = replace(SHORT, steps=1, eval_every=1)
    model, processor, _ = train(tmp_path, spec, progress=False, log=lambda *_: None)
    fresh = build_model(ReferenceSpec(), processor.tokenizer, spec.seed)
    tie_capitalised_rows(fresh, processor.tokenizer)
    before, after = fresh.state_dict(), model.state_dict()
    changed = {k for k in before if not (before[k] == after[k]).all()}
    assert changed and all("vision_tower" in k or "multi_modal_projector" in k for k in changed)
    assert any("vision_tower" in k for k in changed)


def test_same_seed_and_steps_give_identical_weights(short_run, tmp_path):
    _, model_a, _ = short_run
    model_b, _, _ = train(tmp_path, SHORT, resume=False, progress=False, log=lambda *_: None)
    assert weights_hash(model_a) == weights_hash(model_b)


def test_other_seed_gives_other_weights(short_run, tmp_path):
    _, model_a, _ = short_run
    model_b, _, _ = train(tmp_path, replace(SHORT, seed=6), progress=False, log=lambda *_: None)
    assert weights_hash(model_a) != weights_hash(model_b)


def test_interrupted_run_resumes_to_the_same_weights(short_run, tmp_path):
    """Stop after step 1 (checkpoint written), rerun: same weights as the uninterrupted run."""
    _, model_a, _ = short_run
    every_step = replace(SHORT, eval_every=1)

    def stop(line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tmp_path, every_step, progress=False, log=stop)
    lines = []
    model_b, _, history = train(tmp_path, every_step, progress=False, log=lines.append)
    assert lines[0] == "resuming from step 1"
    assert [h["step"] for h in history] == [1, 2, 3]
    assert weights_hash(model_a) == weights_hash(model_b)


def test_resume_with_other_settings_is_refused(short_run):
    out, _, _ = short_run
    with pytest.raises(ValueError, match="other settings"):
        train(out, replace(SHORT, lr=1.0), progress=False, log=lambda *_: None)


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError, match="not writable.*--out"):
        train(blocker / "model", SHORT, progress=False)


def test_seed_must_be_an_integer(tmp_path):
    with pytest.raises(ValueError, match="seed must be an integer"):
        train(tmp_path, replace(SHORT, seed="zero"), progress=False)
