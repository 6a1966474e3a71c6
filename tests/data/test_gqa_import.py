"""flowcheck data import-gqa: the paper's task files + GQA images -> a dataset; one test per
kind of bad input, each naming the kind, the count and the first question ids."""
import csv
import shutil
from pathlib import Path

import pytest

from flowcheck.data import dataset
from flowcheck.data.gqa import TASK_FILES, import_gqa
from flowcheck.errors import DataError, NotFoundError
from flowcheck.paths import FIXTURES

GQA_MINI = FIXTURES / "data" / "gqa-mini"


@pytest.fixture
def gqa(tmp_path):
    """A writable copy of the fixture: (csv dir, images dir)."""
    shutil.copytree(GQA_MINI, tmp_path / "src")
    return tmp_path / "src" / "csv", tmp_path / "src" / "images"


def edit_rows(csv_dir: Path, task: str, change):
    path = csv_dir / TASK_FILES[task]
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    change(rows)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return rows


def test_the_fixture_imports_and_loads_like_any_dataset(gqa, tmp_path):
    report = import_gqa(*gqa, tmp_path / "ds", progress=False)
    assert report["rows_imported"] == {t: 4 for t in TASK_FILES} and report["skipped_rows"] == 0
    samples = dataset.load(tmp_path / "ds")
    assert len(samples) == 24 and {s.task for s in samples} == set(TASK_FILES)
    assert samples[0].row["question_id"] == "00000000"  # a string, leading zeros kept
    assert isinstance(samples[0].source, Path)  # images are opened when used, not held
    assert samples[0].image.size == (int(samples[0].row["image_w"]), int(samples[0].row["image_h"]))
    rel = {s.task: len(s.related_boxes()) for s in samples}
    assert rel["QueryAttr"] == 1 and rel["ChooseRel"] == 2  # the paper's related objects
    first = [s.row["question_id"] for s in dataset.load(tmp_path / "ds", max_per_task=2)]
    assert first == [s.row["question_id"] for s in dataset.load(tmp_path / "ds", max_per_task=2)]
    assert first[:2] == [s.row["question_id"] for s in samples if s.task == "ChooseAttr"][:2]


def _refused(gqa, tmp_path, match):
    with pytest.raises(DataError, match=match):
        import_gqa(*gqa, tmp_path / "ds", progress=False)
    assert not (tmp_path / "ds").exists()  # nothing half-written
    assert not list(tmp_path.glob(".ds-*"))


def test_missing_images(gqa, tmp_path):
    (gqa[1] / "2300000.jpg").unlink()
    (gqa[1] / "2300005.jpg").unlink()
    _refused(gqa, tmp_path, r"missing images: 2 \(00000000 in GQA_\w+_ChooseAttr.csv line 2, 00000005 in "
                               r"GQA_\w+_ChooseCat.csv line 3\)")


def test_missing_columns(gqa, tmp_path):
    path = gqa[0] / TASK_FILES["ChooseRel"]
    path.write_text(path.read_text().replace("object2 x", "object2 xx", 1))
    _refused(gqa, tmp_path, "missing columns: .*ChooseRel.csv lacks 1 column.*: object2 x")


def test_unknown_task_file_names(gqa, tmp_path):
    shutil.copy(gqa[0] / TASK_FILES["QueryAttr"], gqa[0] / "my_QueryAttr.csv")
    _refused(gqa, tmp_path, r"unknown task file names .*: 1 \(my_QueryAttr.csv\)")


def test_the_paper_quirks_import_every_row(gqa, tmp_path):
    """Built like the paper's files: LogicalObj rows naming an object2 that is not in the image
    (id and box '-') keep object1 alone, as the paper's code does; boxes one pixel past the
    edge are clipped, as the paper's mask clips them, and listed."""
    report = import_gqa(*gqa, tmp_path / "ds", progress=False)
    assert report["skipped_rows"] == 0 and sum(report["rows_imported"].values()) == 24
    assert report["clipped"] == {"00000011": [{"object": "object2", "clipped_px": 1}],
                                 "00000015": [{"object": "object2", "clipped_px": 1}]}
    by_id = {s.row["question_id"]: s for s in dataset.load(tmp_path / "ds")}
    logical = [s for s in by_id.values() if s.task == "LogicalObj" and s.row["object2 x"] == "-"]
    assert len(logical) == 3 and all(s.row["object2 name"] != "-" for s in logical)
    assert all(len(s.related_boxes()) == 1 for s in logical)  # object1 alone
    s = by_id["00000011"]
    (x, y, w, h), _ = s.painted_boxes()[1]
    assert x + w == int(s.row["image_w"])  # clipped at the edge: padding is never related


def test_a_box_wholly_outside_the_image_is_imported_with_no_related_pixel(gqa, tmp_path):
    """1594913 of the paper's files has x = 503 on a 500-wide image: its mask is empty."""
    edit_rows(gqa[0], "QueryAttr", lambda rows: rows[0].update(
        {"central object x": str(int(rows[0]["image_w"]) + 3)}))
    report = import_gqa(*gqa, tmp_path / "ds", progress=False)
    qid = next(iter(q for q, notes in report["clipped"].items() if notes[0].get("outside")))
    sample = next(s for s in dataset.load(tmp_path / "ds") if s.row["question_id"] == qid)
    assert sample.related_boxes() == []


def test_boxes_of_zero_area_or_not_numbers_are_counted_by_row(gqa, tmp_path):
    def change(rows):
        rows[0]["object1 w"] = rows[0]["object2 w"] = "0"  # one row, two bad boxes: counted once
        rows[1]["object1 x"] = "nan"
    edit_rows(gqa[0], "ChooseRel", change)
    _refused(gqa, tmp_path, r"2 of 24 rows have problems[\s\S]*boxes of zero area: 1 "
                            r"\(000000\d\d in \S+ line \d\)"
             r"[\s\S]*box values that are not numbers: 1")


def test_image_size_must_match_the_row(gqa, tmp_path):
    edit_rows(gqa[0], "ChooseCat", lambda rows: rows[0].update(image_w="501"))
    _refused(gqa, tmp_path, r"image_w/image_h differ from the image file's size: 1")


def test_unreadable_or_truncated_images(gqa, tmp_path):
    data = (gqa[1] / "2300001.jpg").read_bytes()
    (gqa[1] / "2300001.jpg").write_bytes(data[: len(data) // 2])  # truncated
    (gqa[1] / "2300002.jpg").write_text("not an image")
    _refused(gqa, tmp_path, r"unreadable or truncated images: 2 \(00000001 in \S+ line 3, "
                               r"00000002 in \S+ line 4\)")


def test_duplicate_question_ids(gqa, tmp_path):
    edit_rows(gqa[0], "LogicalObj", lambda rows: rows[1].update(question_id=rows[0]["question_id"]))
    _refused(gqa, tmp_path, r"duplicate question ids: 1")


def test_skip_bad_rows_imports_the_rest_and_reports_them(gqa, tmp_path):
    import json
    (gqa[1] / "2300000.jpg").unlink()
    report = import_gqa(*gqa, tmp_path / "ds", skip_bad_rows=True, progress=False)
    assert report["skipped"] == {"missing images": ["00000000"]} and report["skipped_rows"] == 1
    written = json.loads((tmp_path / "ds" / "import_report.json").read_text())
    assert written["skipped"] == report["skipped"] and written["rows_imported"]["ChooseAttr"] == 3
    assert len(dataset.load(tmp_path / "ds")) == 23


def test_missing_folders_and_a_non_empty_target(gqa, tmp_path):
    with pytest.raises(NotFoundError, match="images folder"):
        import_gqa(gqa[0], tmp_path / "nope", tmp_path / "ds", progress=False)
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "x").write_text("keep me")
    with pytest.raises(DataError, match="exists and is not empty"):
        import_gqa(*gqa, tmp_path / "ds", progress=False)
    assert (tmp_path / "ds" / "x").read_text() == "keep me"


def test_the_committed_fixture_is_what_the_generator_writes(tmp_path):
    from PIL import Image

    from flowcheck.data.gqa_fixture import write_gqa_fixture
    write_gqa_fixture(tmp_path / "again")
    for name in TASK_FILES.values():
        assert (tmp_path / "again" / "csv" / name).read_text() == (GQA_MINI / "csv" / name).read_text()
    sizes = {Image.open(p).size for p in (GQA_MINI / "images").glob("*.jpg")}
    assert sizes == {(500, 375), (375, 500), (640, 480), (500, 333)}


def test_a_next_fixture_encodes_gqa_samples_with_anyres_token_counts(gqa, tmp_path):
    from flowcheck.models.adapters.llava_next import anyres_layout
    from flowcheck.models.fixtures.checkpoints import NEXT_PINPOINTS, build_handle
    import_gqa(*gqa, tmp_path / "ds", progress=False)
    h = build_handle("llava-v1.6-vicuna-7b", text_layers=1, vision_layers=1)
    expected = {(500, 375): 2340, (375, 500): 2352, (500, 333): 1464}
    seen = set()
    for s in dataset.load(tmp_path / "ds", max_per_task=2):
        size = (int(s.row["image_w"]), int(s.row["image_h"]))
        enc = h.encode(s)
        assert len(enc.regions.image) == anyres_layout(*size, NEXT_PINPOINTS, 336, 14).n_tokens
        if size in expected:
            assert len(enc.regions.image) == expected[size]
            seen.add(size)
        assert enc.regions.related  # the question's objects are on the grid
    assert len(seen) >= 2
