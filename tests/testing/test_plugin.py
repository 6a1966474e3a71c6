"""The pytest plugin, run in a scratch pytest session (pytester) on the reference model."""
import json

import pytest

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

pytest_plugins = ["pytester"]

CLAIM_TEST = """
from flowcheck import assert_claim

def test_claim(flowcheck_verdict):
    assert_claim(flowcheck_verdict)
"""


def test_options_and_ini_keys_are_registered(pytester):
    from flowcheck.pytest_plugin import OPTIONS
    result = pytester.runpytest("--help")
    for name, (ini, _, _) in OPTIONS.items():  # every value option, and its ini key
        result.stdout.fnmatch_lines([f"*--flowcheck-{name.replace('_', '-')}*"])
        result.stdout.fnmatch_lines([f"*{ini} *"])
    result.stdout.fnmatch_lines(["*--flowcheck-require-gpu*", "*--flowcheck-update-baselines*"])
    assert len(OPTIONS) == 15


def test_tests_are_parametrised_claim_by_task_with_readable_ids(pytester):
    pytester.makepyfile(test_c=CLAIM_TEST)
    result = pytester.runpytest("--collect-only", "-q", "--flowcheck-tasks", "ChooseAttr,QueryAttr")
    result.stdout.fnmatch_lines(["*test_claim[[]stage_order-ChooseAttr[]]*",
                                 "*test_claim[[]stage_order-all[]]*", "*24 tests collected*"])


def test_k_selection_measures_only_the_selected_claim(pytester):
    pytester.makepyfile(test_c=CLAIM_TEST)
    pytester.makeini("[pytest]\nflowcheck_max_samples = 2\nflowcheck_tasks = ChooseAttr\n"
                     "flowcheck_report_dir = run\n")
    result = pytester.runpytest("-k", "last_to_last_negligible")
    result.stdout.fnmatch_lines(["flowcheck: model=reference dataset=synthetic-eval device=cpu max_samples=2",
                                 "*flowcheck verdicts*", "*last_to_last_negligible*ChooseAttr*",
                                 "report: *report.html"])
    meta = json.loads((pytester.path / "run" / "run.json").read_text())
    assert meta["claims"] == ["last_to_last_negligible"] and meta["flows"] == ["last->last"]
    assert len(meta["question_ids"]) == 2
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 2


def test_gpu_marked_tests_are_skipped_on_cpu(pytester):
    pytester.makepyfile(test_g="""
import pytest

@pytest.mark.flowcheck_gpu
def test_on_gpu():
    raise AssertionError("must not run on cpu")
""")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs 1 CUDA GPU, 0 visible (torch *, CUDA build: none)*"])


def test_a_gpu_runner_without_a_gpu_fails_loudly(pytester):
    pytester.makepyfile(test_g="""
import pytest

@pytest.fixture
def on_gpu():
    raise AssertionError("fixtures of a GPU test must not run either")

@pytest.mark.flowcheck_gpu
def test_on_gpu(on_gpu):
    pass

@pytest.mark.flowcheck_gpu(n=2)
def test_on_two():
    pass

def test_cpu():
    pass
""")
    result = pytester.runpytest("--flowcheck-require-gpu")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*--flowcheck-require-gpu: needs 1 CUDA GPU, 0 visible*",
                                 "*--flowcheck-require-gpu: needs 2 CUDA GPUs, 0 visible*"])
    assert "fixtures of a GPU test must not run" not in result.stdout.str()
    none = pytester.runpytest("--flowcheck-require-gpu", "-k", "test_cpu")
    assert none.ret == 4 and "no test marked flowcheck_gpu was selected" in none.stderr.str()


def test_the_plugin_can_be_enabled_explicitly_by_its_module_name(pytester):
    """`pytest -p flowcheck.pytest_plugin` once stopped pytest with "Plugin already registered
    under a different name" (the entry point was called 'flowcheck')."""
    pytester.makepyfile("def test_x():\n    assert True\n")
    pytester.runpytest_subprocess("-p", "flowcheck.pytest_plugin").assert_outcomes(passed=1)


def test_an_imported_gqa_dataset_runs_under_the_plugin(pytester, tmp_path):
    from flowcheck.data.gqa import import_gqa
    from flowcheck.paths import FIXTURES
    src = FIXTURES / "data" / "gqa-mini"
    import_gqa(src / "csv", src / "images", tmp_path / "gqa", progress=False)
    pytester.makepyfile(test_c=CLAIM_TEST)
    result = pytester.runpytest("-k", "last_to_last_negligible", "--flowcheck-dataset", str(tmp_path / "gqa"),
                                "--flowcheck-max-samples", "2", "--flowcheck-report-dir", "run")
    result.stdout.fnmatch_lines([f"flowcheck: model=reference dataset={tmp_path / 'gqa'} device=cpu*",
                                 "*flowcheck verdicts*", "*last_to_last_negligible*QueryAttr*"])
    meta = json.loads((pytester.path / "run" / "run.json").read_text())
    assert len(meta["question_ids"]) == 12 and meta["question_ids"][0] == "00000000"
    assert list(meta["box_painting"]) == ["paper"]  # GQA rows: painted as the paper's code paints


HEAVY_PROBE = """
import sys
def test_modules():
    heavy = sorted(m for m in ("torch", "numpy", "PIL", "transformers", "matplotlib") if m in sys.modules)
    print("HEAVY", heavy)
"""


def test_a_session_that_does_not_use_flowcheck_imports_nothing_heavy(pytester):
    """Installed, the plugin loads in every pytest session of the environment: there it checks
    its settings but imports no torch, numpy, PIL, transformers or matplotlib."""
    pytester.makepyfile(test_other=HEAVY_PROBE)
    result = pytester.runpytest_subprocess("-s", "-p", "flowcheck.pytest_plugin")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*HEAVY []*"])
