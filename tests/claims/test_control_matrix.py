"""The control verdict matrix: claim x {natural, paper-route, direct-route}, measured fresh
with the same claim specs and thresholds as for any model, and compared with the committed
``reports/reference/matrix.json`` (strict: a changed verdict fails the suite)."""
import json

import pytest

from flowcheck.paths import REPO_ROOT
from flowcheck.report.matrix import build_matrix
from flowcheck.suite import run_suite

MODELS = {"natural": "reference", "paper-route": "paper-route", "direct-route": "direct-route"}
NOT_ROUTING = {"last_to_last_negligible"}  # a control curve: negligible whatever the route
COMMITTED = REPO_ROOT / "reports" / "reference" / "matrix.json"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("matrix")
    runs = {label: run_suite(model, out=tmp / label, progress=False).run_dir
            for label, model in MODELS.items()}
    return build_matrix(runs)


def test_every_claim_holds_on_the_paper_route_control(fresh):
    failing = {c: row["paper-route"] for c, row in fresh["claims"].items()
               if row["paper-route"]["status"] != "holds"}
    assert not failing, failing


def test_every_routing_claim_fails_on_the_direct_route_control(fresh):
    holding = {c: row["direct-route"] for c, row in fresh["claims"].items()
               if c not in NOT_ROUTING and row["direct-route"]["status"] != "fails"}
    assert not holding, holding
    assert all(fresh["claims"][c]["direct-route"]["status"] == "holds" for c in NOT_ROUTING)


def test_the_committed_matrix_is_what_the_models_give(fresh):
    committed = json.loads(COMMITTED.read_text())
    assert committed["models"] == fresh["models"] and set(committed["claims"]) == set(fresh["claims"])
    for claim, row in fresh["claims"].items():
        for model, cell in row.items():
            was = committed["claims"][claim][model]
            assert cell["status"] == was["status"], (claim, model, was, cell)
            assert cell["binding"] == was["binding"], (claim, model)
            assert cell["observed"] == pytest.approx(was["observed"], rel=1e-2, abs=1e-2), (claim, model)
