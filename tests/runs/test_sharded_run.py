"""A run split over processes equals the run in one: torchrun with 2 processes on the
reference model, and plain separate jobs with --shard i/n. Each sample is stored once; the
verdicts are the same and every stored number agrees within the float-noise bound."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowcheck.analysis.noise import differences
from flowcheck.claims.noise import NOISE_LENS, NOISE_PP
from flowcheck.runs.folder import RunFolder
from flowcheck.runs.shards import Shard

pytestmark = pytest.mark.slow

ARGS = ["run", "--max-samples", "5", "--claims", "question_to_last_middle,lowercase_before_capitalised"]
ENV = dict(os.environ, HF_HUB_OFFLINE="1")


def flowcheck(*args, prefix=()):
    return subprocess.run([*prefix, "-m", "flowcheck", *args], capture_output=True, text=True, env=ENV)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "run"
    proc = flowcheck(*ARGS, "--out", str(out), prefix=[sys.executable])
    assert proc.returncode in (0, 1), proc.stderr
    return out


def stored_ids(run: Path) -> list[str]:
    return [json.loads(line)["question_id"] for f in RunFolder(run).result_files()
            for line in f.read_text().splitlines()]


def assert_same_run(a: Path, b: Path):
    d = differences(a, b)
    assert d["n_samples"] == 30 and not d["correct_flips"]
    assert d["changes_pp"]["max_abs"] <= NOISE_PP and d["lens"]["max_abs"] <= NOISE_LENS
    assert not d["verdicts"]["flips"] and not d["verdicts"]["n_changed"]
    va, vb = (json.loads((r / "verdicts.json").read_text()) for r in (a, b))
    assert va.keys() == vb.keys()


def test_torchrun_with_two_processes_equals_one_process(single, tmp_path):
    out = tmp_path / "run"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    proc = flowcheck(*ARGS, "--out", str(out), prefix=torchrun)
    # exit 1 = some claim fails (a finding); torchrun reports it as a failed child
    assert proc.returncode in (0, 1) and "flowcheck: error" not in proc.stderr, proc.stderr[-3000:]
    assert (out / "verdicts.json").is_file(), proc.stdout + proc.stderr[-2000:]
    files = sorted(p.name for p in RunFolder(out).result_files())
    assert files == ["results-shard-0-of-2.jsonl", "results-shard-1-of-2.jsonl"]
    ids = stored_ids(out)
    assert len(ids) == len(set(ids)) == 30  # every sample exactly once
    assert json.loads((out / "run.json").read_text())["shards"] == 2
    assert_same_run(single, out)


def test_separate_jobs_with_shard_i_of_n_and_the_last_one_writes_the_report(single, tmp_path):
    out = tmp_path / "run"
    first = flowcheck(*ARGS, "--out", str(out), "--shard", "0/2", prefix=[sys.executable])
    assert first.returncode == 0 and "still being measured by other shards" in first.stdout, first.stderr
    assert not (out / "verdicts.json").exists()
    second = flowcheck(*ARGS, "--out", str(out), "--shard", "1/2", prefix=[sys.executable])
    assert second.returncode in (0, 1) and (out / "verdicts.json").is_file(), second.stderr
    assert len(stored_ids(out)) == 30
    assert_same_run(single, out)
    again = flowcheck(*ARGS, "--out", str(out), prefix=[sys.executable])  # resumes: nothing new
    assert again.returncode in (0, 1) and len(stored_ids(out)) == 30


def test_a_whole_run_refuses_a_folder_a_shard_is_measuring(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from flowcheck.runs.folder import RunFolder; "
        "from flowcheck.runs.shards import Shard; "
        f"RunFolder({str(out)!r}).lock(Shard(1, 2)); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = flowcheck(*ARGS, "--out", str(out), prefix=[sys.executable])
        assert proc.returncode == 2 and "is being measured by shard-1-of-2" in proc.stderr, proc.stderr
    finally:
        holder.kill()
    assert Shard(1, 2).label == "shard-1-of-2"
