"""In a user's own repository: `flowcheck init`, then `pytest` collects and runs the built-in
claims with no test file (pytester, an empty temporary repository)."""
import json

import pytest

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

pytest_plugins = ["pytester"]


def test_init_then_pytest_collects_every_builtin_claim_with_no_test_file(pytester, monkeypatch):
    from flowcheck.cli.main import main
    assert main(["init", "--dir", str(pytester.path)]) == 0
    assert "flowcheck_collect = true" in (pytester.path / "pytest.ini").read_text()
    assert not list(pytester.path.glob("test_*.py"))
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["flowcheck::test_claim[[]image_to_question_early-all[]]",
                                 "flowcheck::test_claim[[]stage_order-ChooseAttr[]]", "56 tests collected*"])


def test_the_builtin_claims_run_and_k_selects_what_is_measured(pytester):
    from flowcheck.cli.main import main
    main(["init", "--dir", str(pytester.path), "--report-dir", "run"])
    result = pytester.runpytest("-k", "last_to_last_negligible or question_to_last_middle-ChooseAttr",
                                "--flowcheck-max-samples", "2", "--flowcheck-tasks", "ChooseAttr")
    meta = json.loads((pytester.path / "run" / "run.json").read_text())
    assert meta["claims"] == ["last_to_last_negligible", "question_to_last_middle"]
    assert len(meta["question_ids"]) == 2
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 3
    result.stdout.fnmatch_lines(["*flowcheck verdicts*"])
    if outcomes.get("failed"):  # a failing claim shows its verdict, not a traceback into flowcheck
        result.stdout.fnmatch_lines(["*on ChooseAttr: * (n=*", "*margin*95% CI*"])
        assert "pytest_plugin.py" not in result.stdout.str()


def test_a_repository_with_its_own_claim_tests_gets_no_second_copy(pytester):
    pytester.makepyfile(test_c="""
def test_claim(flowcheck_verdict):
    assert flowcheck_verdict.passed
""")
    result = pytester.runpytest("--collect-only", "-q", "--flowcheck-model", "reference",
                                "--flowcheck-tasks", "ChooseAttr")
    result.stdout.fnmatch_lines(["16 tests collected*"])  # 8 claims x (ChooseAttr + all), once


def test_init_does_not_edit_an_existing_pytest_configuration(pytester):
    from flowcheck.cli.main import main
    ini = pytester.makeini("[pytest]\naddopts = -q\n")  # tox.ini
    assert main(["init", "--dir", str(pytester.path)]) == 2
    assert ini.read_text().strip() == "[pytest]\naddopts = -q" and not (pytester.path / "pytest.ini").exists()


def test_init_prints_lines_that_work_where_they_are_pasted(pytester, capsys):
    """pyproject.toml gets TOML strings (INI lines there break the file); a setup.cfg or tox.ini
    with no pytest section is no pytest configuration, so pytest.ini is written."""
    from flowcheck.cli.main import main
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text("[project]\nname = 'mine'\n\n[tool.pytest.ini_options]\nminversion = '7'\n")
    capsys.readouterr()
    assert main(["init", "--dir", str(pytester.path)]) == 2
    lines = capsys.readouterr().out.split("section:\n", 1)[1]
    assert 'flowcheck_collect = "true"' in lines
    pyproject.write_text(pyproject.read_text() + lines + "\n")  # pasted as told
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["56 tests collected*"])
    pyproject.unlink()
    (pytester.path / "setup.cfg").write_text("[metadata]\nname = mine\n")
    assert main(["init", "--dir", str(pytester.path)]) == 0
    assert (pytester.path / "pytest.ini").is_file()


def test_expectations_written_from_a_run_make_known_findings_strict_xfails(pytester):
    import yaml

    from flowcheck.cli.main import main
    main(["init", "--dir", str(pytester.path), "--report-dir", "run"])
    args = ["--flowcheck-max-samples", "2", "--flowcheck-tasks", "ChooseAttr", "-k",
            "last_to_last_negligible or question_to_last_middle"]
    first = pytester.runpytest(*args).parseoutcomes()
    assert main(["expect", str(pytester.path / "run"), "--out",
                 str(pytester.path / "flowcheck-expectations" / "reference.yaml")]) == 0
    data = yaml.safe_load((pytester.path / "flowcheck-expectations" / "reference.yaml").read_text())
    assert len(data["expected"]) == first.get("failed", 0)
    second = pytester.runpytest(*args).parseoutcomes()
    assert second.get("failed", 0) == 0 and second.get("xfailed", 0) == first.get("failed", 0)
    # a case listed as a finding that holds is reported (strict): the file never hides a change
    holding = [c for c in ("last_to_last_negligible", "question_to_last_middle")
               if not any(e["claim"] == c and e["task"] == "all" for e in data["expected"])]
    assert holding  # last_to_last_negligible holds on the reference model
    from flowcheck.claims.spec import load_claims
    version = load_claims(ids=[holding[0]])[0].version  # the library's current claim version
    data["expected"].append({"claim": holding[0], "version": version, "task": "all", "verdict": "fails",
                             "reason": "pretend"})
    (pytester.path / "flowcheck-expectations" / "reference.yaml").write_text(yaml.safe_dump(data))
    third = pytester.runpytest(*args)
    third.stdout.fnmatch_lines(["*XPASS(strict)*pretend*"])
    assert third.parseoutcomes().get("failed", 0) == 1
    # a file written for other weights never turns this model's failures into expected ones
    data["weights"] = "0123456789abcdef"
    (pytester.path / "flowcheck-expectations" / "reference.yaml").write_text(yaml.safe_dump(data))
    fourth = pytester.runpytest(*args)
    assert fourth.ret == 2 and "xfailed" not in fourth.stdout.str()
    fourth.stdout.fnmatch_lines(["*was written for weights 0123456789abcdef*the model changed since*"])


def test_a_bad_setting_is_one_usage_error_not_one_per_test(pytester):
    pytester.makepyfile(test_c="""
def test_claim(flowcheck_verdict):
    assert flowcheck_verdict.passed
""")
    result = pytester.runpytest("--flowcheck-max-samples", "abc")
    assert result.ret == 4  # pytest's usage-error exit code, before any test runs
    result.stderr.fnmatch_lines(["*flowcheck: --flowcheck-max-samples must be a positive integer, "
                                 "got 'abc'*"])
    assert "test_claim[" not in result.stdout.str()
    bad_ini = pytester.runpytest("--flowcheck-model", "reference", "-o", "flowcheck_dtype=int8",
                                 "--collect-only")
    assert bad_ini.ret == 4
    bad_ini.stderr.fnmatch_lines(["*ini key flowcheck_dtype must be one of float32, float16, bfloat16, "
                                  "got 'int8'*"])  # named where the user wrote it


def test_baselines_are_recorded_then_compared_and_a_changed_claim_says_so(pytester):
    from flowcheck.cli.main import main
    main(["init", "--dir", str(pytester.path), "--report-dir", "run"])
    args = ["--flowcheck-max-samples", "2", "--flowcheck-tasks", "ChooseAttr"]
    pytester.runpytest(*args, "-k", "last_to_last_negligible", "--flowcheck-update-baselines")
    folder = pytester.path / "flowcheck-baselines" / "reference"
    assert sorted(p.name for p in folder.iterdir()) == ["last_to_last_negligible-ChooseAttr.json",
                                                       "last_to_last_negligible-all.json", "samples.npz"]
    stored = json.loads((folder / "last_to_last_negligible-all.json").read_text())
    from flowcheck.claims.spec import load_claims
    version = load_claims(ids=["last_to_last_negligible"])[0].version
    assert stored["claim"] == "last_to_last_negligible" and stored["version"] == version
    only = "last_to_last_negligible and test_baseline"
    again = pytester.runpytest(*args, "-k", only)  # the same model: float noise at most
    again.assert_outcomes(passed=2, deselected=30)
    moved = dict(stored)
    moved["conditions"] = {name: {**c, "observed": c["observed"] + 50}
                           for name, c in stored["conditions"].items()}
    (folder / "last_to_last_negligible-all.json").write_text(json.dumps(moved))
    # numbers beyond float noise, but the recorded samples say the statistic did not move
    # (paired, as `flowcheck compare`): no change worth a gate, a warning
    result = pytester.runpytest(*args, "-k", only)
    result.assert_outcomes(passed=2, deselected=30, warnings=1)
    result.stdout.fnmatch_lines(["*flowcheck baseline borderline*none by a change worth a gate*",
                                 "*paired over 2 samples*"])
    # the recorded samples of another model: its last->last curves 50 points higher
    import numpy as np
    samples = dict(np.load(folder / "samples.npz"))
    samples["curve:last->last"] = samples["curve:last->last"] + 50
    np.savez_compressed(folder / "samples.npz", **samples)
    from flowcheck.testing.baselines import samples_digest
    moved["samples"] = samples_digest(folder / "samples.npz")  # as if recorded with that run
    (folder / "last_to_last_negligible-all.json").write_text(json.dumps(moved))
    result = pytester.runpytest(*args, "-k", only)
    result.assert_outcomes(passed=1, failed=1, deselected=30)
    result.stdout.fnmatch_lines(["*moved from the baseline*", "*observed*", "*paired over*-50*"])
    (folder / "last_to_last_negligible-all.json").write_text(json.dumps({**stored, "version": 0}))
    result = pytester.runpytest(*args, "-k", only)
    result.stdout.fnmatch_lines([f"*claim changed: last_to_last_negligible v0 -> v{version}*"
                                 "not a regression*"])


def test_no_baseline_items_until_a_baseline_is_recorded(pytester):
    from flowcheck.cli.main import main
    main(["init", "--dir", str(pytester.path)])
    result = pytester.runpytest("--collect-only", "-q", "--flowcheck-tasks", "ChooseAttr")
    result.stdout.fnmatch_lines(["16 tests collected*"])
    (pytester.path / "flowcheck-baselines" / "reference").mkdir(parents=True)
    result = pytester.runpytest("--collect-only", "-q", "--flowcheck-tasks", "ChooseAttr")
    result.stdout.fnmatch_lines(["*test_baseline[[]stage_order-all[]]*", "32 tests collected*"])


@pytest.mark.parametrize("ini, message", [
    ("flowcheck_collect = maybe", "flowcheck_collect must be true or false, got 'maybe'"),
    ("flowcheck_collect = true\nflowcheck_max_samples = -1",
     "ini key flowcheck_max_samples must be a positive integer, got '-1'"),
])
def test_a_wrong_ini_key_is_a_usage_error_naming_it(pytester, ini, message):
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest("--collect-only", "-q")
    assert result.ret == 4  # pytest's usage error, before collection
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_an_empty_folder_key_means_the_default_folder(pytester):
    pytester.makeini("[pytest]\nflowcheck_collect = true\nflowcheck_expectations =\nflowcheck_baselines =\n")
    result = pytester.runpytest("--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["56 tests collected*"])
