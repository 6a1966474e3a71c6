"""A run folder refuses results of a model changed in place: the weights fingerprint."""
import copy
import json

import pytest
import torch

from flowcheck.models.fingerprint import weights_fingerprint
from flowcheck.runs.folder import RunFolder

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


@pytest.fixture
def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def test_same_weights_same_fingerprint(model):
    assert weights_fingerprint(model) == weights_fingerprint(copy.deepcopy(model))


@pytest.mark.parametrize("edit", ["one weight", "pruned", "dtype"])
def test_any_edit_changes_the_fingerprint(model, edit):
    edited = copy.deepcopy(model)
    with torch.no_grad():
        if edit == "one weight":
            edited[0].weight[3, 5] += 1e-3
        elif edit == "pruned":
            edited[2].weight[0, 0] = 0.0
        else:
            edited = edited.half()
    assert weights_fingerprint(edited) != weights_fingerprint(model)


def meta(weights=None):
    m = {"model": "fixtures/models/reference", "dataset": "fixtures/data/synthetic-eval"}
    return {**m, "weights": weights} if weights else m


def test_run_folder_refuses_other_weights_of_the_same_model(tmp_path):
    RunFolder(tmp_path).create(meta("aaaa"))
    RunFolder(tmp_path).create(meta("aaaa"))  # the same weights: fine
    with pytest.raises(ValueError, match="other weights of .*fingerprint aaaa, now bbbb.*"
                                         "changed since.*another --out or delete"):
        RunFolder(tmp_path).create(meta("bbbb"))


def test_run_folder_from_before_the_fingerprint_is_taken_as_it_is(tmp_path):
    (tmp_path / RunFolder.META).write_text(json.dumps(meta()))
    RunFolder(tmp_path).create(meta("aaaa"))
    assert json.loads((tmp_path / RunFolder.META).read_text())["weights"] == "aaaa"
