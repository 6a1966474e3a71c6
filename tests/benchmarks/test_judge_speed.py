"""Judging a stored run with and without the float-noise ranges (pytest-benchmark; skipped
by default, run with ``pytest tests/benchmarks/test_judge_speed.py --benchmark-only``). The ratio
of the two, measured side by side, is the cost of the noise ranges."""
import pytest

from flowcheck.paths import REPO_ROOT
from flowcheck.runs.stored import load_run

pytestmark = pytest.mark.benchmark(group="judge", min_rounds=3, warmup=False)


@pytest.fixture(scope="module")
def committed_run():
    return load_run(REPO_ROOT / "reports" / "reference" / "natural")  # 8 claims x 7 tasks, n = 677


@pytest.mark.parametrize("ranges", [False, True], ids=["plain", "noise-ranges"])
def test_judge_the_committed_reference_run(benchmark, committed_run, ranges):
    kw = {} if ranges else {"noise": None}
    benchmark.pedantic(committed_run.judge, kwargs=kw, rounds=3, iterations=1)
