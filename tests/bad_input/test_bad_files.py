"""Bad input beyond the first list (issue: reliability and safety, point 6): each case is
handled correctly (what "correct" means is in the test name) or refused with what was
wrong, the value and what to do, before anything is written."""
import json
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from flowcheck.data.dataset import Sample, load
from flowcheck.errors import DataError
from flowcheck.paths import EVAL_SPLIT


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16", "1", "LA"])
def test_images_of_every_mode_are_read_as_rgb(reference_handle, eval_samples, mode):
    s = eval_samples[0]
    img = s.image.convert(mode) if mode != "I;16" else s.image.convert("L").convert("I;16")
    enc = reference_handle.encode(Sample(s.row, img, s.scene))
    assert len(enc.regions.image) == 16


@pytest.mark.parametrize("size", [(1, 1), (2000, 30), (30, 2000)])
def test_extreme_image_sizes_map_their_boxes(reference_handle, eval_samples, size):
    from flowcheck.data.dataset import place_on_canvas
    s = eval_samples[0]
    w, h = size
    if w >= 64 and h >= 64:
        s = place_on_canvas(s, w, h)
    else:  # a 1x1 image whose one pixel is the object
        row = dict(s.row, image_w=w, image_h=h)
        for p in ("central object", "object1", "object2"):
            if row.get(f"{p} name", "-") != "-":
                row.update({f"{p} x": 0, f"{p} y": 0, f"{p} w": 1, f"{p} h": 1})
        s = Sample(row, Image.new("RGB", size, (200, 0, 0)))
    enc = reference_handle.encode(s)  # 2000 x 30: padded to a square, the strip is ~1 px high
    assert len(enc.regions.image) == 16 and set(enc.regions.related) <= set(enc.regions.image)


def test_a_question_with_unknown_words_names_them(reference_handle, eval_samples):
    s = eval_samples[0]
    bad = Sample(dict(s.row, question="Welche Farbe hat der Würfel?"), s.image, s.scene)
    with pytest.raises(DataError, match=r"words the model's tokenizer does not know: 'Welche', .*'Würfel' "
                                        r"\(they become"):  # the word, without its '?'
        reference_handle.encode(bad)


def test_a_prompt_longer_than_the_model_takes_is_refused(reference_handle, eval_samples):
    s = eval_samples[0]
    long_q = " ".join(["What"] * 400) + "?"
    with pytest.raises(DataError, match=r"more than the model's max_position_embeddings 256"):
        reference_handle.encode(Sample(dict(s.row, question=long_q), s.image, s.scene))


def _dataset(tmp_path, change=None):
    rows = [json.loads(line) for line in (EVAL_SPLIT / "questions.jsonl").read_text().splitlines()[:3]]
    (tmp_path / "images").mkdir(parents=True)
    for r in rows:
        shutil.copy(EVAL_SPLIT / "images" / f"{r['img_id']}.png", tmp_path / "images")
    if change:
        rows = change(rows)
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_odd_question_ids_are_kept_as_strings_and_an_empty_one_is_refused(tmp_path):
    def odd(rows):
        rows[0]["question_id"], rows[1]["question_id"], rows[2]["question_id"] = 7, "007", "ID ü"
        return rows
    assert [s.row["question_id"] for s in load(_dataset(tmp_path / "a", odd))] == ["7", "007", "ID ü"]
    with pytest.raises(DataError, match="line 1: question_id is empty"):
        load(_dataset(tmp_path / "b", lambda rows: [dict(rows[0], question_id=" ")]))


def test_a_dataset_behind_a_symlink_and_paths_with_spaces_work(tmp_path):
    real = _dataset(tmp_path / "real data")
    (tmp_path / "link to data").symlink_to(real)
    assert len(load(tmp_path / "link to data")) == 3


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "flowcheck", *args], capture_output=True, text=True,
                          timeout=600)


def test_an_unwritable_run_folder_is_a_clear_error_with_exit_2(tmp_path):
    """--out below a file (unwritable for every user, root included)."""
    (tmp_path / "file").write_text("x")
    p = run_cli("run", "--model", "reference", "--max-samples", "1", "--out", str(tmp_path / "file" / "run"))
    assert p.returncode == 2 and "cannot write the run folder" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("args, message", [
    (["--dtype", "int8"], "invalid choice: 'int8'"),
    (["--device", "tpu"], "device 'tpu' is not a torch device"),
    (["--engine", "turbo"], "invalid choice: 'turbo'"),
    (["--prompt", "chatml"], "invalid choice: 'chatml'"),
    (["--claims", "no_such_claim"], "unknown claim"),
    (["--tasks", "Counting"], "Counting"),
    (["--model", "/no/such/folder"], "does not exist"),
    (["--dataset", "/no/such/data"], "no questions.jsonl"),
])
def test_options_the_machine_or_flowcheck_lacks_exit_2_before_loading(tmp_path, args, message):
    p = run_cli("run", "--out", str(tmp_path / "run"), *args)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "run" / "run.json").exists()


def test_claim_specs_with_impossible_windows_or_ranges_are_refused(tmp_path):
    import yaml

    from flowcheck.claims.spec import LIBRARY, parse_spec
    from flowcheck.errors import SpecError
    base = yaml.safe_load((LIBRARY / "image_to_question_early.yaml").read_text())
    for change, message in [({"window": 0}, "window must be a positive integer"),
                            ({"layers": {"lower": [0.8, 0.2]}}, "0 <= lo <= hi <= 1"),
                            ({"layers": {"lower": [0.0, 1.5]}}, "0 <= lo <= hi <= 1")]:
        with pytest.raises(SpecError, match=message):
            parse_spec({**base, **change}, "c.yaml")


def test_a_row_whose_image_size_differs_from_the_image_is_named(reference_handle, eval_samples):
    s = eval_samples[0]
    with pytest.raises(DataError, match=r"image_w x image_h 640x480 differ from the image's size 64x64"):
        reference_handle.encode(Sample(dict(s.row, image_w=640, image_h=480), s.image, s.scene))
