"""CLI: flowcheck run | report | compare | ls | validate, exit codes and outputs."""
import json
import subprocess
import sys

import pytest
import yaml

from flowcheck.claims.spec import LIBRARY
from flowcheck.cli.main import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "flowcheck", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args", [["ls", "claims"], ["validate"], ["ls", "models"]])
def test_ls_and_validate_do_not_import_torch(args):
    code = (f"import sys; from flowcheck.cli.main import main; rc = main({args!r}); "
            "print('TORCH', 'torch' in sys.modules, rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "TORCH False 0"


def test_ls_claims_lists_the_library(capsys):
    assert main(["ls", "claims"]) == 0
    out = capsys.readouterr().out
    assert "question_to_last_middle" in out and "lowercase_before_capitalised" in out


def test_validate_reports_a_bad_spec_with_exit_2(tmp_path, capsys):
    data = yaml.safe_load((LIBRARY / "stage_order.yaml").read_text())
    data["statistc"] = "x"
    bad = tmp_path / "stage_order.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["validate", str(bad)]) == 2
    assert "unknown key 'statistc'" in capsys.readouterr().err
    assert main(["validate"]) == 0


def test_validate_refuses_a_folder_whose_claim_id_collides_with_a_built_in_one(tmp_path, capsys):
    """`run` refuses such a folder, so `validate` must not pass it."""
    (tmp_path / "stage_order.yaml").write_text((LIBRARY / "stage_order.yaml").read_text())
    assert main(["validate", str(tmp_path)]) == 2
    assert "claim id 'stage_order' is already defined" in capsys.readouterr().err


def test_validate_refuses_a_threshold_that_can_never_be_met(tmp_path, capsys):
    data = yaml.safe_load((LIBRARY / "image_to_last_small.yaml").read_text())
    cond = data["conditions"][0]
    assert cond["statistic"] == "max_abs_mean" and cond["op"] == "<="
    for family in data["thresholds"]:
        data["thresholds"][family][cond["name"]] = -5
    data["id"] = "never_met"
    (tmp_path / "never_met.yaml").write_text(yaml.safe_dump(data))
    assert main(["validate", str(tmp_path)]) == 2
    assert "can never be met: max_abs_mean <= -5" in capsys.readouterr().err


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-run")
    proc = run_cli("run", "--model", "reference", "--tasks", "ChooseAttr", "--max-samples", "3",
                   "--out", str(out), "--json")
    return out, proc


def test_run_prints_verdict_json_and_exit_code_follows_the_verdicts(cli_run):
    out, proc = cli_run
    assert proc.returncode in (0, 1), proc.stderr
    verdicts = json.loads(proc.stdout)
    all_hold = all(t["status"] == "holds" for c in verdicts.values() for t in c["tasks"].values())
    assert proc.returncode == (0 if all_hold else 1)
    assert (out / "report.html").is_file() and (out / "summary.md").is_file()


def test_each_row_records_its_lens_tokens_and_the_summary_shows_them(cli_run):
    """What the logit lens measured is visible: the stored row names its tokens (as the
    vocabulary spells them) and the summary lists them next to the verdicts."""
    out, _ = cli_run
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    correct = [r for r in rows if r["correct"]]
    assert correct and all(set(r["lens_tokens"]) == {"lower", "capitalised"} for r in correct)
    r = correct[0]
    lower, capitalised = (r["lens_tokens"][k].lstrip("\u2581") for k in ("lower", "capitalised"))
    assert capitalised.lower() == lower
    summary = (out / "summary.md").read_text()
    pair = f"'{r['lens_tokens']['lower']}' / '{r['lens_tokens']['capitalised']}'"
    assert "Lens tokens (lower / capitalised" in summary and pair in summary


def test_the_box_painting_is_recorded_and_shown(cli_run):
    """flowcheck's synthetic scenes have exact pixel boxes; run.json and the summary say which
    painting made the related tokens (GQA-format data: the paper's, tests/testing)."""
    from flowcheck.data.boxes import BOX_PAINTINGS
    out, _ = cli_run
    assert json.loads((out / "run.json").read_text())["box_painting"] == {"exact": BOX_PAINTINGS["exact"]}
    assert "box painting `exact`" in (out / "summary.md").read_text()


def test_report_rejudges_the_run_folder(cli_run):
    out, proc = cli_run
    again = run_cli("report", str(out), "--json")
    assert again.returncode == proc.returncode and json.loads(again.stdout) == json.loads(proc.stdout)


def test_compare_exits_1_when_a_claim_flips(cli_run, tmp_path):
    out, _ = cli_run
    same = run_cli("compare", str(out), str(out))
    assert same.returncode == 0 and "no verdict changed" in same.stdout
    flipped = tmp_path / "flipped"
    flipped.mkdir()
    for name in ("run.json", "results.jsonl"):
        (flipped / name).write_text((out / name).read_text())
    verdicts = json.loads((out / "verdicts.json").read_text())
    task = verdicts["last_to_last_negligible"]["tasks"]["ChooseAttr"]
    task["status"] = "fails" if task["status"] == "holds" else "holds"
    (flipped / "verdicts.json").write_text(json.dumps(verdicts))
    diff = run_cli("compare", str(out), str(flipped))  # a flip on the same numbers: a grazed threshold
    assert diff.returncode == 0 and "1 borderline in both runs" in diff.stdout
    assert "last_to_last_negligible [ChooseAttr]" in diff.stdout
    # the same flip with its statistic really moved: every last->last curve 40 points lower
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    for r in rows:
        curve = r.get("changes", {}).get("last->last")
        if curve is not None:
            r["changes"]["last->last"] = [None if v is None else v - 40.0 for v in curve]
    (flipped / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for c in task["conditions"].values():
        c["status"] = task["status"]
    (flipped / "verdicts.json").write_text(json.dumps(verdicts))
    moved = run_cli("compare", str(out), str(flipped))
    assert moved.returncode == 1 and "verdict(s) changed" in moved.stdout
    listed = moved.stdout.split("borderline in both runs")[0]
    assert "last_to_last_negligible [ChooseAttr]: holds -> fails" in listed


def test_compare_noise_lists_the_largest_difference_of_each_kind(cli_run):
    out, _ = cli_run
    proc = run_cli("compare", "--noise", str(out), str(out))
    assert proc.returncode == 0, proc.stderr
    assert "correctness changed: 0" in proc.stdout and "verdicts changed: 0" in proc.stdout
    assert "max |diff| changes_pp 0 pp" in proc.stdout
    data = json.loads(run_cli("compare", "--noise", "--json", str(out), str(out)).stdout)
    assert data["verdicts"]["max_abs"] == 0 and data["lens"]["n_values"] > 0


@pytest.mark.parametrize("args, message", [
    (["run", "--model", "/no/such/model"], "model folder '/no/such/model' does not exist"),
    (["run", "--claims", "stage_ordr", "--max-samples", "1"], "did you mean 'stage_order'"),
    (["run", "--tasks", "ChoseAttr"], "ChoseAttr"),
    (["report", "/no/such/run"], "is not a flowcheck run folder"),
    (["run", "--noise", "1e-3,x"], "is not PP or PP,LENS"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2 and message in proc.stderr


def test_a_failed_self_check_exits_2_with_its_message(monkeypatch, capsys):
    import flowcheck.suite
    from flowcheck.measure.selfcheck import SelfCheckError

    def refuse(*args, **kwargs):
        raise SelfCheckError("empty_knockout_is_clean (max diff 0.3). "
                             "Load it with attn_implementation='eager'.")
    monkeypatch.setattr(flowcheck.suite, "run_suite", refuse)
    assert main(["run", "--model", "reference"]) == 2
    assert "self-check failed: empty_knockout_is_clean" in capsys.readouterr().err


def test_a_bug_is_an_internal_error_with_its_traceback_never_a_usage_error(monkeypatch, capsys, tmp_path):
    """A ValueError from inside numpy or the judge is not the user's mistake: exit 3 with the
    traceback (before the error tree, every ValueError became 'usage error, exit 2')."""
    import flowcheck.suite

    def broken(*args, **kwargs):
        import numpy as np
        np.percentile([], 50, method="no-such-method")  # raises ValueError inside numpy
    monkeypatch.setattr(flowcheck.suite, "judge_run", broken)
    (tmp_path / "run.json").write_text("{}")
    assert main(["report", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error" in err and "flowcheck: error" not in err


def test_every_flowcheck_error_exits_2_and_is_still_the_builtin_a_caller_expects(monkeypatch, capsys):
    import flowcheck.suite
    from flowcheck import errors
    kinds = [errors.UsageError, errors.SpecError, errors.DataError, errors.ModelError,
             errors.RunFolderError, errors.NotFoundError]
    for kind in kinds:
        assert issubclass(kind, errors.FlowcheckError)
        def raise_it(*args, kind=kind, **kwargs):
            raise kind(f"{kind.__name__}: what was wrong, and what to do")
        monkeypatch.setattr(flowcheck.suite, "judge_run", raise_it)
        assert main(["report", "somewhere"]) == 2
        assert f"flowcheck: error: {kind.__name__}" in capsys.readouterr().err
    assert all(issubclass(k, ValueError) for k in kinds[:-1]) and issubclass(kinds[-1], FileNotFoundError)


def test_compare_is_a_ci_gate_and_writes_an_overlay_page(tmp_path):
    """A run against itself: exit 0, nothing changed; the natural model against the paper-route
    control: exit 1, flips and curves moved beyond their interval listed, accuracy first."""
    from flowcheck.analysis.compare import compare_runs
    from flowcheck.cli.main import main
    from flowcheck.paths import REPO_ROOT
    natural, paper = (str(REPO_ROOT / "reports" / "reference" / m) for m in ("natural", "paper-route"))
    same = compare_runs(natural, natural)
    assert not same["flips"] and not same["curve_changes"]
    assert all(a["change"] == 0 for a in same["accuracy"])
    assert main(["compare", natural, natural]) == 0
    page = tmp_path / "compare.html"
    assert main(["compare", natural, paper, "--html", str(page)]) == 1
    text = page.read_text()
    # 47 flips: 46 moved the deciding statistic (paired), 1 grazed its threshold (+3.3 pp < 5)
    assert "Verdicts that changed (46)" in text and "Borderline in both runs (1)" in text
    assert "Answered correctly" in text
    assert text.count("<img") == 6  # one overlay per flow
