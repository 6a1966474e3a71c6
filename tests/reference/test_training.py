"""Training the reference model: smoke run, exact reproducibility, resume, bad input."""
import hashlib
from dataclasses import replace

import pytest

from flowcheck.reference.train import TrainSpec, train

pytestmark = pytest.mark.slow  # trains (short runs)

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
    from flowcheck.models.fixtures.tiny import ReferenceSpec, build_model
    from flowcheck.reference.train import tie_capitalised_rows

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
    with pytest.raises(OSError, match="cannot write the training output to .*--out"):
        train(blocker / "model", SHORT, progress=False)


def test_seed_must_be_an_integer(tmp_path):
    with pytest.raises(ValueError, match="seed must be an integer"):
        train(tmp_path, replace(SHORT, seed="zero"), progress=False)


@pytest.mark.parametrize("route", ["paper", "direct"])
def test_route_shaped_fine_tune_blocks_edges_and_moves_the_weights(tmp_path, monkeypatch, route):
    import flowcheck.reference.shaping as shaping
    from flowcheck.models.loading import load_model
    calls = []
    original = shaping.shaped_blocks

    def counting(attention_mask, rows, route, n_layers, rng):
        blocks = original(attention_mask, rows, route, n_layers, rng)
        calls.append((route, sum(r is not None for r in rows), int(sum(b.sum() for b in blocks.values()))))
        return blocks
    monkeypatch.setattr(shaping, "shaped_blocks", counting)
    spec = replace(SHORT, vision_steps=0, steps=2, eval_every=2, route=route, init_from="reference")
    model, _, history = train(tmp_path, spec, progress=False, log=lambda *_: None)
    start = load_model("reference")[0]
    assert history[-1]["step"] == 2 and weights_hash(model) != weights_hash(start)
    assert len(calls) == 2 and all(r == route for r, _, _ in calls)
    assert any(n_rows > 0 and n_blocked > 0 for _, n_rows, n_blocked in calls)  # task rows shaped


def test_lens_objective_targets_the_lower_case_answer_at_the_last_prompt_position():
    """The lens loss is the raw lens of the plan's layer at the position that predicts the
    answer, against the lower-case word: for a model whose layer output there is (made to
    be) the lower-case word's unembedding direction, the loss is small; for 'Red' it is not."""
    import numpy as np
    import torch

    from flowcheck.models.handle import load_handle
    from flowcheck.reference.shaping import ROUTES
    from flowcheck.reference.train import _text_losses, lower_case_ids
    handle = load_handle("reference", attn_implementation="eager")
    model, proc = handle.model, handle.processor
    tok = proc.tokenizer
    lower = lower_case_ids(tok)
    vocab = tok.get_vocab()
    assert lower[vocab["Red"]] == vocab["red"] and lower[vocab["Yes"]] == vocab["yes"]
    from PIL import Image
    image = Image.new("RGB", (64, 64))
    text = "USER: <image>\nIs the circle red or blue? ASSISTANT: Red"
    layer = model.model.language_model.layers[ROUTES["paper"].lens_layer]
    for word, expect_small in (("red", True), ("Red", False)):
        direction = model.lm_head.weight[vocab[word]].detach() * 50
        hook = layer.register_forward_hook(
            lambda mod, args, out: (out[0] * 0 + direction,) + tuple(out[1:])
            if isinstance(out, tuple) else out * 0 + direction)
        try:
            with torch.no_grad():
                _, _, lens, _, _ = _text_losses(model, proc, [text], ["qa"], [image],
                                          ([None], "paper", np.random.default_rng(0)))
        finally:
            hook.remove()
        assert (float(lens) < 0.5) == expect_small, (word, float(lens))


def test_unknown_route_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown route 'papr'"):
        train(tmp_path, replace(SHORT, route="papr"), progress=False, log=lambda *_: None)


def test_route_penalty_enters_the_loss_once_at_the_plans_weight(monkeypatch, eval_samples):
    """The route term is ``attention_mass_penalty``'s value as it returns it (the plan's
    weight applied there, once): a regression test for a weight that was applied twice."""
    import numpy as np
    import torch

    import flowcheck.reference.shaping as shaping
    import flowcheck.reference.vision_locality as vision_locality
    from flowcheck.models.handle import load_handle
    from flowcheck.models.prompts import llava15_prompt
    from flowcheck.reference.train import _text_losses
    monkeypatch.setattr(shaping, "attention_mass_penalty", lambda *a: torch.tensor(0.25))
    monkeypatch.setattr(vision_locality, "locality_penalty", lambda *a: torch.tensor(0.5))
    handle = load_handle("reference", attn_implementation="eager")
    s = eval_samples[0]
    with torch.no_grad():
        _, _, _, penalty, _ = _text_losses(
            handle.model, handle.processor, [f"{llava15_prompt(s.question)} {s.answer.capitalize()}"],
            [s.task], [s.image], ([handle.encode(s).regions], "paper", np.random.default_rng(0)))
    assert float(penalty) == pytest.approx(0.75)  # route + vision locality, each once
