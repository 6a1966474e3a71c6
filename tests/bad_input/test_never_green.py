"""A run passes only if it measured what was asked (issue: reliability round 3, part A):
each case below once ended green (exit 0, or a passing gate) having measured nothing, part
of the run, or something else than asked. Now each is refused (exit 2, before anything is
stored) or fails the gate with what is missing."""
import json
import shutil
import subprocess
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowcheck
from flowcheck.claims.spec import LIBRARY
from flowcheck.errors import UsageError
from flowcheck.runs.settings import RunSettings

SMALL = ("--model", "reference", "--tasks", "ChooseAttr", "--max-samples", "2",
         "--claims", "last_to_last_negligible")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "flowcheck", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def four_samples(tmp_path_factory):
    """A complete run of 4 samples (one claim), to damage copies of."""
    out = tmp_path_factory.mktemp("runs") / "four"
    flowcheck.run("reference", tasks=["ChooseAttr"], max_samples=4, claims=["last_to_last_negligible"],
                  out=out, progress=False)
    return out


@pytest.mark.parametrize("option, value", [("--batch-size", "-1"), ("--batch-size", "0"),
                                           ("--threads", "0"), ("--threads", "-1"),
                                           ("--max-samples", "0"), ("--window", "-2")])
def test_a_count_below_one_is_refused_before_anything_is_stored(tmp_path, option, value):
    p = run_cli("run", *SMALL, f"{option}={value}", "--out", str(tmp_path / "run"))
    assert p.returncode == 2, p.stderr
    assert f"{option} must be a positive integer, got {value}" in p.stderr
    assert not (tmp_path / "run").exists()


def test_an_unknown_family_is_a_usage_error_not_a_green_run(tmp_path):
    p = run_cli("run", *SMALL, "--family", "bogus", "--out", str(tmp_path / "run"))
    assert p.returncode == 2 and "unknown threshold family 'bogus'" in p.stderr, p.stderr
    assert "llava" in p.stderr and "reference" in p.stderr and not (tmp_path / "run").exists()


def test_claims_that_apply_to_nothing_are_a_usage_error(tmp_path):
    spec = yaml.safe_load((LIBRARY / "last_to_last_negligible.yaml").read_text())
    spec.update(id="llava_only", applies_to=["llava"], thresholds={"llava": {"negligible_everywhere": 5}})
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "llava_only.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(UsageError, match="none of the selected claims .llava_only. applies to model "
                                         "family 'reference'"):
        flowcheck.run("reference", claims=["llava_only"], claims_dir=tmp_path / "specs",
                      out=tmp_path / "run", progress=False)


def test_an_incomplete_run_fails_the_gate_and_says_what_is_missing(four_samples, tmp_path):
    cut = tmp_path / "cut"
    shutil.copytree(four_samples, cut)
    results = cut / "results.jsonl"
    lines = results.read_text().splitlines()
    assert len(lines) == 4
    results.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # one row, one torn line
    p = run_cli("report", str(cut))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "incomplete: 1 of 4 samples of this run are stored (3 missing" in p.stdout
    assert "incomplete: 1 of 4" in (cut / "summary.md").read_text()
    whole = run_cli("report", str(four_samples))  # the complete run: no such line
    assert "incomplete" not in whole.stdout


def test_expectations_are_never_written_from_an_incomplete_run(four_samples, tmp_path):
    empty = tmp_path / "empty"
    shutil.copytree(four_samples, empty)
    (empty / "results.jsonl").write_text("")
    p = run_cli("expect", str(empty), "--out", str(tmp_path / "x.yaml"))
    assert p.returncode == 2 and "incomplete: 0 of 4" in p.stderr and not (tmp_path / "x.yaml").exists()


def test_a_custom_window_never_becomes_the_window_of_other_claims(tmp_path):
    spec = yaml.safe_load((LIBRARY / "last_to_last_negligible.yaml").read_text())
    spec.update(id="my_l2l", window=4)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "my_l2l.yaml").write_text(yaml.safe_dump(spec))
    p = run_cli("run", "--model", "reference", "--claims-dir", str(tmp_path / "specs"), "--claims",
                "my_l2l,last_to_last_negligible", "--out", str(tmp_path / "run"))
    assert p.returncode == 2 and "different window sizes (my_l2l: 4; last_to_last_negligible: the " \
                                 "default for the depth)" in p.stderr, p.stderr
    spec.update(window=99)
    (tmp_path / "specs" / "my_l2l.yaml").write_text(yaml.safe_dump(spec))
    p = run_cli("run", "--model", "reference", "--claims-dir", str(tmp_path / "specs"), "--claims",
                "my_l2l", "--tasks", "ChooseAttr", "--max-samples", "1", "--out", str(tmp_path / "run"))
    assert p.returncode == 2 and "window size k=99 is larger than the model's 12 layers" in p.stderr
    assert "my_l2l.yaml (window: 99)" in p.stderr and not (tmp_path / "run").exists()


def test_weights_that_do_not_fill_the_config_refuse_the_folder(tmp_path):
    folder = tmp_path / "deeper"
    shutil.copytree(flowcheck.paths.REFERENCE_MODEL, folder)
    config = json.loads((folder / "config.json").read_text())
    config["text_config"]["num_hidden_layers"] = 14  # the weights hold 12
    (folder / "config.json").write_text(json.dumps(config))
    p = run_cli("run", "--model", str(folder), "--tasks", "ChooseAttr", "--max-samples", "1",
                "--out", str(tmp_path / "run"))
    assert p.returncode == 2, p.stderr
    assert "its weights do not fill its config.json" in p.stderr and "missing from the weights" in p.stderr
    assert "layers.12." in p.stderr and not (tmp_path / "run").exists()


def test_compare_refuses_runs_of_other_data_and_compares_other_samples_on_the_shared_ones(
        four_samples, tmp_path):
    two = tmp_path / "two"
    flowcheck.run("reference", tasks=["ChooseAttr"], max_samples=2, claims=["last_to_last_negligible"],
                  out=two, progress=False)
    p = run_cli("compare", str(four_samples), str(two))
    assert p.returncode in (0, 1), p.stderr
    assert "compared on the 2 samples both runs measured (left out: 2 only in A, 0 only in B)" in p.stdout
    p = run_cli("compare", str(four_samples), str(two), "--tolerance", "nan")
    assert p.returncode == 2 and "--tolerance must be a finite number >= 0, got nan" in p.stderr
    other = tmp_path / "other-data"
    shutil.copytree(four_samples, other)
    meta = json.loads((other / "run.json").read_text())
    meta["dataset_content"] = "0" * 16
    (other / "run.json").write_text(json.dumps(meta))
    p = run_cli("compare", str(four_samples), str(other))
    assert p.returncode == 2 and "the runs measured different datasets" in p.stderr


def test_compare_calls_another_claim_version_a_changed_claim_not_a_flip(four_samples, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(four_samples, old)
    verdicts = json.loads((old / "verdicts.json").read_text())
    entry = verdicts["last_to_last_negligible"]
    entry["version"] -= 1
    for v in entry["tasks"].values():
        v["status"] = "fails" if v["status"] != "fails" else "holds"  # every verdict "moved"
    (old / "verdicts.json").write_text(json.dumps(verdicts))
    p = run_cli("compare", str(old), str(four_samples), "--json")
    result = json.loads(p.stdout)
    assert result["flips"] == [] and result["claim_changed"] == [
        {"claim": "last_to_last_negligible", "a": entry["version"], "b": entry["version"] + 1}]


# --- the settings: no value is silently read as another ------------------------------------
TEXT = st.one_of(st.none(), st.sampled_from(["", "0", "-1", "1", "2", "x", "1.5", " 3 ", "nan", "inf",
                                             "fast", "exact", "sdpa", "eager", "float16", "auto",
                                             "allow", "fail", "ChooseAttr", ",", "0/2", "2/2"]))
FIELDS = ("max_samples", "window", "threads", "batch_size", "engine", "attn", "dtype", "device_map",
          "uncertain", "tasks", "noise", "shard")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({f: TEXT for f in FIELDS}))
def test_settings_are_refused_or_mean_exactly_what_was_typed(values):
    """Every value is either a usage error naming its option, or read as typed: a count is a
    positive integer equal to the text, a choice one of its options; '' and None are the
    default. No value is silently replaced by another."""
    try:
        s = RunSettings.from_strings(values, prefix="--")
    except UsageError as e:
        bad = [f for f, v in values.items() if v not in (None, "")]
        assert any(f"--{f.replace('_', '-')}" in str(e) for f in bad), str(e)
        return
    for field in ("max_samples", "window", "threads", "batch_size"):
        typed = values[field]
        if typed in (None, ""):
            assert getattr(s, field) is None
        else:
            assert getattr(s, field) == int(typed.strip()) >= 1
    for field, default in (("engine", "fast"), ("dtype", "float32"), ("uncertain", "fail")):
        assert getattr(s, field) == (values[field] or default)
    for field in ("attn", "device_map", "shard", "noise"):
        assert getattr(s, field) == (values[field] or None)
    assert s.tasks == (None if values["tasks"] in (None, "") else (values["tasks"],))


@pytest.mark.parametrize("batch", [None, "1", "7"])
def test_a_run_with_any_accepted_batch_size_gives_the_same_verdicts(tmp_path, batch):
    """The accepted values of a setting that must not change a number change no verdict."""
    result = flowcheck.run("reference", tasks=["ChooseAttr"], max_samples=2, claims=["stage_order"],
                           out=tmp_path / "run", progress=False,
                           **({} if batch is None else {"batch_size": batch}))
    base = flowcheck.run("reference", tasks=["ChooseAttr"], max_samples=2, claims=["stage_order"],
                         out=tmp_path / "base", progress=False, batch_size=3)
    assert [(v.task, v.status) for v in result.verdicts] == [(v.task, v.status) for v in base.verdicts]
    for a, b in zip(result.verdicts, base.verdicts):
        assert a.observed == pytest.approx(b.observed, abs=1e-3)


# --- expectations files: whose they are, what they name -----------------------------------
def _session(root, model="reference"):
    from flowcheck.testing.session import FlowcheckSession
    return FlowcheckSession(RunSettings.create(model=model), root, expectations_dir="exp")


def _write(root, text, model="reference"):
    (root / "exp").mkdir(exist_ok=True)
    (root / "exp" / f"{model}.yaml").write_text(text)


ENTRY = "- {claim: stage_order, version: 3, task: ChooseAttr, verdict: fails, reason: r}\n"


@pytest.mark.parametrize("text, message", [
    ("model: paper-route\nweights: abc\nexpected:\n" + ENTRY, "was written for model 'paper-route', not "
                                                              "'reference'"),
    ("model: reference\nexpected:\n" + ENTRY.replace("stage_order", "stage_ordr"),
     "entry 1: unknown claim 'stage_ordr'"),
    ("model: reference\nexpected:\n" + ENTRY.replace("ChooseAttr", "ChoseAttr"), "unknown task 'ChoseAttr'"),
    ("model: reference\nexpected:\n" + ENTRY.replace("version: 3", "version: two"),
     "version must be an integer, got 'two'"),
    ("model: reference\nexpected:\n" + ENTRY.replace(", reason: r", ""), "needs claim, version, task and "
                                                                          "reason"),
    ("model: reference\nexpected: [\n", "not valid YAML"),
])
def test_a_wrong_expectations_file_is_an_error_naming_it(tmp_path, text, message):
    from flowcheck.errors import SpecError
    _write(tmp_path, text)
    with pytest.raises(SpecError, match=message) as e:
        _session(tmp_path).expectation("stage_order", "ChooseAttr")
    assert str(tmp_path / "exp" / "reference.yaml") in str(e.value)


def test_expectations_of_other_weights_stop_the_session_after_the_run(tmp_path):
    from flowcheck.errors import SpecError
    from flowcheck.testing.expectations import check_owner, load
    _write(tmp_path, "model: reference\nweights: 0123456789abcdef\nexpected:\n" + ENTRY)
    path = tmp_path / "exp" / "reference.yaml"
    table = load(path)
    check_owner(table, path, "reference")  # before the run: the name matches
    with pytest.raises(SpecError, match="written for weights 0123456789abcdef .* this run measured "
                                        "weights 96b6c622fbd2e537"):
        check_owner(table, path, "reference", "96b6c622fbd2e537")


# --- split runs, tables, devices: cases that once ended green or unclear -----------------------
def _main(capsys, *args):
    from flowcheck.cli.main import main
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own usage errors
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


SHARD = ("run", "--model", "reference", "--claims", "last_to_last_negligible", "--tasks", "ChooseAttr",
         "--threads", "1")


def test_shards_of_differently_started_runs_are_refused_and_a_pending_shard_speaks_json(tmp_path, capsys):
    out = tmp_path / "split"
    rc, text, _ = _main(capsys, *SHARD, "--max-samples", "4", "--shard", "1/2", "--out", out, "--json")
    assert rc == 0 and json.loads(text)["pending"].startswith("shard 1/2 measured 2 samples")
    rc, _, err = _main(capsys, *SHARD, "--max-samples", "6", "--shard", "0/2", "--out", out)
    assert rc == 2 and "(4 samples, now 6) that still lacks 2 of its 4 samples" in err
    rc, _, err = _main(capsys, *SHARD, "--max-samples", "4", "--shard", "0/3", "--out", out)
    assert rc == 2 and "(shards 2, now 3)" in err
    rc, text, _ = _main(capsys, *SHARD, "--max-samples", "4", "--shard", "0/2", "--out", out)
    assert rc in (0, 1) and "samples: 4" in text.replace("**", "")  # the run completes, judged


@pytest.mark.parametrize("args, message", [
    (("power", "{run}", "{run}", "--n", "10"), "--n 10: EFFECT_RUN '{run}' stores 4 correctly answered"),
    (("power", "{run}", "{run}", "--draws", "0"), "argument --draws: must be a positive integer, got '0'"),
    (("sensitivity", "{run}", "--n", "0"), "argument --n: must be positive integers"),
    (("matrix", "a={run}", "a={run}", "--out", "{tmp}/m"), "label 'a' is given to more than one run"),
    (("run", "--device", "meta", "--max-samples", "1"), "device 'meta' holds no weights"),
    (("run", "--out", "{tmp}/" + "a" * 300, "--max-samples", "1"), "file name too long: "),
    (("run", "--out", "{run}/run.json", "--max-samples", "1"), "(it is a file, not a folder)"),
])
def test_table_and_device_mistakes_are_named(four_samples, tmp_path, capsys, args, message):
    fill = {"run": four_samples, "tmp": tmp_path}
    rc, _, err = _main(capsys, *(a.format(**fill) for a in args))
    assert rc == 2 and message.format(**fill) in err, err
    assert "Errno" not in err and "Traceback" not in err


def test_a_launcher_rank_that_is_not_a_number_is_named():
    from flowcheck.runs.shards import local_device
    with pytest.raises(UsageError, match="LOCAL_RANK='x' is not a GPU index"):
        local_device("cuda", {"LOCAL_RANK": "x"})
    assert local_device("cuda", {"LOCAL_RANK": "1"}) == "cuda:1"


def test_a_relative_claims_dir_is_found_when_the_run_is_reported_from_elsewhere(tmp_path, capsys,
                                                                               monkeypatch):
    spec = yaml.safe_load((LIBRARY / "last_to_last_negligible.yaml").read_text())
    spec.update(id="my_l2l")
    (tmp_path / "work" / "specs").mkdir(parents=True)
    (tmp_path / "work" / "specs" / "my_l2l.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.chdir(tmp_path / "work")
    rc, _, err = _main(capsys, "run", "--claims-dir", "specs", "--claims", "my_l2l", "--tasks", "ChooseAttr",
                       "--max-samples", "2", "--out", "run")
    assert rc in (0, 1), err
    assert json.loads((tmp_path / "work" / "run" / "run.json").read_text())["claims_dir"] == str(
        tmp_path / "work" / "specs")
    monkeypatch.chdir(tmp_path)
    rc, text, err = _main(capsys, "report", "work/run")
    assert rc in (0, 1) and "my_l2l" in text, err
