"""The claim x model table: built from run folders' verdicts.json, no model loaded."""
import json
import subprocess
import sys

import pytest

from flowcheck.analysis.matrix import build_matrix, render_matrix, write_matrix
from flowcheck.cli.main import main

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def verdict(status, observed, margin, binding="c"):
    conds = {binding: {"margin": margin, "observed": observed, "holds": margin >= 0},
             "other": {"margin": 99.0, "observed": 0.0, "holds": True}}
    return {"tasks": {"all": {"status": status, "observed": observed, "margin": margin, "n": 10,
                              "conditions": conds},
                      "ChooseAttr": {"status": "fails", "observed": 1.0, "margin": -1.0, "n": 5}}}


@pytest.fixture
def runs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, v in ((a, verdict("holds", -30.0, 10.0)), (b, verdict("fails", -3.0, -17.0))):
        folder.mkdir()
        (folder / "verdicts.json").write_text(json.dumps({"claim_x": v, "claim_y": v}))
    return {"paper-route": a, "direct-route": b}


def test_cells_are_the_pooled_verdicts_with_the_binding_condition(runs):
    m = build_matrix(runs)
    assert m["models"] == ["paper-route", "direct-route"] and list(m["claims"]) == ["claim_x", "claim_y"]
    assert m["claims"]["claim_x"]["paper-route"] == {"status": "holds", "observed": -30.0,
                                                     "margin": 10.0, "binding": "c", "n": 10}
    assert m["claims"]["claim_x"]["direct-route"]["status"] == "fails"
    text = render_matrix(m)
    assert "| claim_x | holds -30 (+10) | FAILS -3 (-17) |" in text


def test_written_files_and_cli(runs, tmp_path, capsys):
    out = tmp_path / "out"
    args = [f"{k}={v}" for k, v in runs.items()]
    assert main(["matrix", *args, "--out", str(out)]) == 0
    assert "claim_y" in capsys.readouterr().out
    assert json.loads((out / "matrix.json").read_text()) == write_matrix(runs, tmp_path / "again")


def test_bad_input_names_the_value_and_the_fix(runs, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*verdicts.json.*flowcheck run"):
        build_matrix({"x": tmp_path / "nowhere"})
    out = subprocess.run([sys.executable, "-m", "flowcheck", "matrix", "just-a-dir", "--out",
                          str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 2 and "'just-a-dir' is not LABEL=RUN_DIR" in out.stderr
