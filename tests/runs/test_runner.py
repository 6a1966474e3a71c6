"""The suite runner on the reference model: one run, resumed runs, re-judging with no model."""
import json
import subprocess
import sys

import pytest

from flowcheck import run as run_suite
from flowcheck.claims.judge import POOLED
from flowcheck.runs.folder import RunFolder
from flowcheck.suite import judge_run

TASKS = ["ChooseAttr", "QueryAttr"]
SMALL = dict(tasks=TASKS, max_samples=3, progress=False)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return run_suite("reference", out=out, **SMALL)


def test_run_writes_verdicts_for_every_claim_task_and_pooled(small_run):
    out = small_run.run_dir
    for name in ("verdicts.json", "summary.md", "report.html", RunFolder.RESULTS, "run.json"):
        assert (out / name).is_file(), name
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert len(verdicts) == 8
    for claim in verdicts.values():
        assert set(claim["tasks"]) == {*TASKS, POOLED}
    assert len(RunFolder(out).rows()) == 6
    assert small_run.counts == {t: {"n": 3, "n_correct": small_run.counts[t]["n_correct"],
                                    "majority": small_run.counts[t]["majority"]} for t in TASKS}
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "image_to_question_early" in html


def test_rerun_measures_nothing_and_gives_the_same_verdicts(small_run):
    again = run_suite("reference", out=small_run.run_dir, **SMALL)
    assert again.meta["timing_s"]["measured"] == 0 and again.meta["timing_s"]["reused"] == 6
    assert again.verdicts == small_run.verdicts


def test_interrupted_run_resumes_where_it_stopped(small_run, tmp_path):
    lines = (small_run.run_dir / RunFolder.RESULTS).read_text().splitlines()
    (tmp_path / RunFolder.RESULTS).write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # torn line
    resumed = run_suite("reference", out=tmp_path, **SMALL)
    assert resumed.meta["timing_s"]["measured"] == 4
    assert resumed.verdicts == small_run.verdicts


def test_run_folder_of_another_model_is_refused(small_run, tmp_path):
    meta = json.loads((small_run.run_dir / "run.json").read_text())
    meta["model"] = "/elsewhere/model"
    (tmp_path / "run.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="holds results for model '/elsewhere/model'"):
        run_suite("reference", out=tmp_path, **SMALL)


def test_rejudge_needs_no_model_and_reproduces_the_verdicts(small_run):
    code = (f"import sys; from flowcheck.suite import judge_run; r = judge_run({str(small_run.run_dir)!r}, "
            "plots=False); print(len(r.verdicts), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(small_run.verdicts)), "False"]
    assert judge_run(small_run.run_dir, plots=False).verdicts == small_run.verdicts


def test_exact_engine_gives_the_same_curves(small_run, tmp_path):
    exact = run_suite("reference", out=tmp_path, engine="exact",
                      claims=["question_to_last_middle"], **SMALL)
    fast_rows = {r["question_id"]: r for r in RunFolder(small_run.run_dir).rows()}
    for row in RunFolder(exact.run_dir).rows():
        if row["correct"]:
            for flow, curve in row["changes"].items():
                ref = fast_rows[row["question_id"]]["changes"][flow]
                assert max(abs(a - b) for a, b in zip(curve, ref)) < 1e-2  # percent


def test_run_json_paths_are_relative_to_the_checkout(small_run):
    """So a committed run folder is the same run in any clone (not 'another model')."""
    import json
    meta = json.loads((small_run.run_dir / "run.json").read_text())
    assert (meta["model"], meta["dataset"]) == ("fixtures/models/reference", "fixtures/data/synthetic-eval")


def test_a_run_folder_with_absolute_paths_from_an_older_version_is_the_same_run(small_run, tmp_path):
    import shutil

    from flowcheck.paths import REPO_ROOT
    old = tmp_path / "old"
    shutil.copytree(small_run.run_dir, old)
    meta = json.loads((old / "run.json").read_text())
    meta["model"], meta["dataset"] = (str(REPO_ROOT / meta["model"]), str(REPO_ROOT / meta["dataset"]))
    (old / "run.json").write_text(json.dumps(meta))
    again = run_suite("reference", out=old, **SMALL)
    assert json.loads((old / "run.json").read_text())["model"] == "fixtures/models/reference"
    assert again.counts == small_run.counts


def test_rows_of_another_attention_kernel_are_measured_anew_and_agree_within_the_noise(small_run, tmp_path):
    """attn is part of what a stored row must match; eager vs sdpa differ by float noise only."""
    import shutil

    from flowcheck.analysis.noise import differences
    from flowcheck.claims.noise import NOISE_LENS, NOISE_PP
    eager = tmp_path / "eager"
    shutil.copytree(small_run.run_dir, eager)
    again = run_suite("reference", out=eager, attn="eager", **SMALL)
    assert again.meta["attn"] == "eager" and small_run.meta["attn"] == "sdpa"
    assert again.meta["timing_s"]["measured"] == 6  # the sdpa rows were not reused
    d = differences(small_run.run_dir, eager)
    assert d["correct_flips"] == [] and d["verdicts"]["flips"] == []
    assert 0 < d["changes_pp"]["max_abs"] < NOISE_PP and d["lens"]["max_abs"] < NOISE_LENS
    from flowcheck.claims.equivalence import verdict_mismatches
    from flowcheck.claims.serialise import noise_ranges, verdict_to_dict
    before = {(v.claim, v.task): verdict_to_dict(v) for v in small_run.verdicts}
    for v in again.verdicts:  # each verdict matches the sdpa run's as its snapshot would
        assert not verdict_mismatches(verdict_to_dict(v), before[(v.claim, v.task)], noise_ranges(v))


def test_a_run_json_that_no_longer_matches_its_results_never_overwrites_the_report(small_run, tmp_path):
    import shutil

    from flowcheck.errors import RunFolderError
    broken = tmp_path / "broken"
    shutil.copytree(small_run.run_dir, broken)
    meta = json.loads((broken / "run.json").read_text())
    assert meta["flowcheck_version"]  # recorded with every run
    meta["k"] = 5
    (broken / "run.json").write_text(json.dumps(meta))
    before = (broken / "verdicts.json").read_text()
    message = r"run.json asks for k=5.*holds rows for .*\(3, 'fast', 'sdpa'\)"
    with pytest.raises(RunFolderError, match=message):
        judge_run(broken)
    assert (broken / "verdicts.json").read_text() == before
