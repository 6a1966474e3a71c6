"""flowcheck run --dry-run: the plan from config, processor and dataset, no weights read;
--calibrate N projects the wall time from N timed samples."""
import json

import pytest

from flowcheck.cli.main import main
from flowcheck.models.fixtures.checkpoints import write_checkpoint
from flowcheck.runs.planning import fast_cost, plan_run
from flowcheck.runs.settings import RunSettings


def test_dry_run_of_the_reference_model(capsys, tmp_path):
    assert main(["run", "--dry-run", "--out", str(tmp_path / "never")]) == 0
    out = capsys.readouterr().out
    assert "nothing was loaded but the config, processor and dataset" in out
    assert "samples: 720 (ChooseAttr 120," in out and "tokens per sample: min 40, median 43.5, max 47" in out
    assert "knockout configs per correctly answered sample: 72 (6 flows x 12 window centres)" in out
    assert "exact engine: 73 per sample, 52,560 in all" in out
    assert not (tmp_path / "never").exists()  # a plan writes nothing


def test_dry_run_reads_no_weights(tmp_path, capsys):
    folder = write_checkpoint("llava-v1.6-vicuna-7b", tmp_path / "next")
    (folder / "model.safetensors").write_bytes(b"not weights")  # would fail to load
    assert main(["run", "--dry-run", "--json", "--model", str(folder), "--max-samples", "2"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["family"] == "llava_next" and plan["n_layers"] == 32 and plan["k"] == 7
    assert plan["configs_per_sample"] == 6 * 32 and plan["n_samples"] == 12
    assert plan["forward_equivalents"]["exact"]["per_sample"] == 193
    assert plan["forward_equivalents"]["fast"]["per_sample"] < 10  # the fast engine's point


def test_the_token_counts_of_the_plan_are_those_of_the_encoded_samples():
    from flowcheck.data.dataset import select_samples
    from flowcheck.models.handle import load_handle, load_skeleton_handle
    samples = select_samples(None, max_samples=1)
    skeleton, full = load_skeleton_handle("reference"), load_handle("reference")
    for s in samples:
        seq, n_image, question = skeleton.token_layout(s)
        enc = full.encode(s)
        assert (seq, n_image, question) == (enc.seq_len, len(enc.regions.image), list(enc.regions.question))


def test_fast_cost_counts_rows_times_layers():
    from flowcheck.measure.configs import KnockoutConfig
    cfgs = [KnockoutConfig("question->last", 0, range(0, 3)),
            KnockoutConfig("image->question", 0, range(6, 9))]
    # ->last: 1 row of 40 over all 12 layers; ->question from position 30: 10 rows over 6 layers
    assert fast_cost(40, [30, 31], 12, cfgs) == pytest.approx(1 / 40 + 10 / 40 * 6 / 12)


def test_calibration_projects_wall_time_and_memory():
    plan = plan_run(RunSettings.create(max_samples=2, claims=["question_to_last_middle"]), calibrate_n=2)
    c = plan.calibration
    assert c["samples"] == 2 and c["seconds"] > 0 and c["peak_memory_bytes"] > 0
    assert c["expected_seconds"] == pytest.approx(c["seconds_per_forward_equivalent"]
                                                  * plan.forward_equivalents["fast"]["total"])
