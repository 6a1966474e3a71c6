"""Models by Hub id, from a Hugging Face cache built here from a shipped model (no network):
``ORG/NAME`` and ``ORG/NAME@REVISION`` resolve to the cached snapshot, the run records the
commit it measured, a model not in the cache is a clear error naming the download command, and
a local folder of the same name wins."""
import json
import shutil

import pytest

from flowcheck.cli.main import main
from flowcheck.errors import NotFoundError
from flowcheck.models.hub import parse_hub_id, resolve
from flowcheck.models.source import read_source
from flowcheck.paths import REFERENCE_MODEL

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OLDER = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A cache as ``hf download acme/tiny-vlm`` leaves it: main -> COMMIT, and an older commit."""
    from huggingface_hub import constants
    cache = tmp_path / "hub"
    repo = cache / "models--acme--tiny-vlm"
    for commit in (COMMIT, OLDER):
        shutil.copytree(REFERENCE_MODEL, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def test_hub_ids_are_told_from_folders():
    assert parse_hub_id("llava-hf/llava-1.5-7b-hf") == ("llava-hf/llava-1.5-7b-hf", None)
    assert parse_hub_id("Qwen/Qwen2-VL-2B-Instruct@v1.0") == ("Qwen/Qwen2-VL-2B-Instruct", "v1.0")
    assert parse_hub_id(f"acme/tiny-vlm@{COMMIT}") == ("acme/tiny-vlm", COMMIT)
    for not_an_id in ("reference", "/models/llava", "./acme/tiny", "a/b/c", "acme/"):
        assert parse_hub_id(not_an_id) is None


def test_an_id_resolves_to_the_cached_snapshot_and_its_commit(hub_cache):
    main_ = resolve("acme/tiny-vlm")
    assert (main_.commit, main_.revision) == (COMMIT, "main")
    older = read_source(f"acme/tiny-vlm@{OLDER}")
    assert older.hub.commit == OLDER and older.name == "acme/tiny-vlm" and older.path.name == OLDER


def test_a_model_not_in_the_cache_names_the_download_command(hub_cache):
    with pytest.raises(NotFoundError, match=r"'acme/other@v2' is not a local folder and not in the Hugging "
                                            r"Face cache at .*HF_HUB_OFFLINE is set.*`hf download acme/other "
                                            r"--revision v2`"):
        read_source("acme/other@v2")


def test_a_local_folder_of_the_same_name_wins(hub_cache, tmp_path, monkeypatch):
    shutil.copytree(REFERENCE_MODEL, tmp_path / "acme" / "tiny-vlm")
    monkeypatch.chdir(tmp_path)
    source = read_source("acme/tiny-vlm")
    assert source.hub is None and source.path.resolve() == (tmp_path / "acme" / "tiny-vlm").resolve()


def test_a_run_by_hub_id_records_the_commit_it_measured(hub_cache, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--model", "acme/tiny-vlm", "--revision", "main", "--tasks", "ChooseAttr",
                 "--max-samples", "1", "--claims", "last_to_last_negligible", "--out", str(out)]) in (0, 1)
    meta = json.loads((out / "run.json").read_text())
    assert meta["hub"] == {"repo_id": "acme/tiny-vlm", "revision": "main", "commit": COMMIT}
    assert meta["model"] == "acme/tiny-vlm"
    assert f"acme/tiny-vlm @ {COMMIT[:12]}" in (out / "summary.md").read_text().splitlines()[0]


def test_revision_and_an_at_revision_must_agree(hub_cache, tmp_path):
    from flowcheck.cli.main import main as cli
    assert cli(["run", "--model", "acme/tiny-vlm@v1", "--revision", "v2", "--out", str(tmp_path / "r")]) == 2
    assert cli(["run", "--model", "reference", "--revision", "v2", "--out", str(tmp_path / "r")]) == 2
