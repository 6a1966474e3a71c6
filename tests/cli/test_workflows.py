"""The CI files users copy: both pass actionlint, and the GPU one keeps its promises."""
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from flowcheck.paths import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    assert Path(found).is_file(), "actionlint is a test dependency (requirements/cpu-lock.txt)"
    return found


def test_both_workflows_pass_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["cpu.yml", "gpu.yml"]
    proc = subprocess.run([actionlint(), *map(str, files)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.no_such_thing.nope }\n")
    proc = subprocess.run([actionlint(), str(bad)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0


def test_the_gpu_workflow_never_runs_fork_code_and_checks_its_gpus():
    wf = yaml.safe_load((WORKFLOWS / "gpu.yml").read_text())
    job = wf["jobs"]["gpu"]
    assert "self-hosted" in job["runs-on"] and "gpu" in job["runs-on"]
    assert "head.repo.full_name == github.repository" in job["if"]
    steps = {s.get("name", ""): s for s in job["steps"]}
    gpus = steps["The GPUs are there"]["run"]
    assert "nvidia-smi -L" in gpus and "MIN_GPUS" in gpus
    install = steps["Install (the CUDA build of torch, then the pinned rest)"]["run"]
    assert "torch.cuda.is_available()" in install and "grep -v '^torch=='" in install
    assert "flowcheck gpu-check" in steps["GPU tests and full-width benchmarks"]["run"]
    assert "--flowcheck-model" in steps["The claims on the checkpoint"]["run"]
    assert steps["Upload the reports"]["if"] == "always()"
    assert wf["permissions"] == {"contents": "read"}


def test_the_cpu_workflow_runs_the_readme_test_command():
    wf = yaml.safe_load((WORKFLOWS / "cpu.yml").read_text())
    assert any(s.get("run") == "make test" for s in wf["jobs"]["test"]["steps"])
