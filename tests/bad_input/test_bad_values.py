"""Bad input found by trying the tool as a new user (issue: reliability and safety, point 5):
each is refused before any model loads, with what was wrong, the value, and what to do."""
import json
import shutil

import pytest

from flowcheck.data.dataset import load
from flowcheck.errors import DataError, NotFoundError, UsageError
from flowcheck.paths import EVAL_SPLIT

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


@pytest.fixture
def small_dataset(tmp_path):
    """The first 2 rows of the frozen split, with their images."""
    rows = [json.loads(line) for line in (EVAL_SPLIT / "questions.jsonl").read_text().splitlines()[:2]]
    (tmp_path / "images").mkdir()
    for r in rows:
        shutil.copy(EVAL_SPLIT / "images" / f"{r['img_id']}.png", tmp_path / "images")

    def write(rows_or_lines):
        lines = [r if isinstance(r, str) else json.dumps(r) for r in rows_or_lines]
        (tmp_path / "questions.jsonl").write_text("\n".join(lines) + "\n")
        return tmp_path
    return rows, write


def test_duplicate_question_ids_are_refused_with_their_lines(small_dataset):
    rows, write = small_dataset
    with pytest.raises(DataError, match=r"1 question id\(s\) appear more than once: .* \(lines 1, 2\)"):
        load(write([rows[0], rows[0]]))


@pytest.mark.parametrize("img_id", ["../secret", "/etc/passwd", "a/b", ".."])
def test_an_img_id_cannot_leave_the_dataset_folder(small_dataset, img_id):
    rows, write = small_dataset
    with pytest.raises(DataError, match="must be a plain file name inside the dataset's images/ folder"):
        load(write([dict(rows[0], img_id=img_id)]))


def test_a_missing_column_names_the_line_the_question_and_the_column(small_dataset):
    rows, write = small_dataset
    row = dict(rows[1])
    del row["answer"]
    with pytest.raises(DataError, match=r"line 2 \(question '.*'\): missing column 'answer'"):
        load(write([rows[0], row]))


def test_a_malformed_line_names_the_file_and_the_line(small_dataset):
    rows, write = small_dataset
    with pytest.raises(DataError, match=r"questions.jsonl, line 2: not valid JSON"):
        load(write([rows[0], '{"question_id": 1,']))


@pytest.mark.parametrize("field, value", [("question", "  "), ("answer", ""), ("answer", 3)])
def test_an_empty_question_or_answer_is_named(small_dataset, field, value):
    rows, write = small_dataset
    with pytest.raises(DataError, match=f"{field} must be a non-empty string"):
        load(write([dict(rows[0], **{field: value})]))


def test_an_unknown_task_and_a_missing_image_are_named(small_dataset):
    rows, write = small_dataset
    with pytest.raises(DataError, match=r"unknown task type 'ChoseAttr' \(did you mean 'ChooseAttr'\?\)"):
        load(write([dict(rows[0], task="ChoseAttr")]))
    with pytest.raises(NotFoundError, match="needs image .*nothere.png"):
        load(write([dict(rows[0], img_id="nothere")]))


@pytest.mark.parametrize("n", [0, -3])
def test_max_samples_below_one_names_the_option(small_dataset, n):
    _, write = small_dataset
    with pytest.raises(UsageError, match=r"--max-samples\) must be a positive integer, got " + str(n)):
        load(EVAL_SPLIT, max_per_task=n)


@pytest.mark.parametrize("k", [0, -1])
def test_a_window_below_one_is_refused_before_the_model_loads(tmp_path, k, monkeypatch):
    import flowcheck.models.handle
    from flowcheck import run as run_suite

    def no_load(*a, **kw):
        raise AssertionError("the model was loaded")
    monkeypatch.setattr(flowcheck.models.handle, "load_handle", no_load)
    with pytest.raises(UsageError, match=rf"window must be a positive integer, got {k}"):
        run_suite("reference", k=k, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_device_this_machine_lacks_is_a_usage_error():
    import torch

    from flowcheck.models.loading import check_device
    assert check_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        message = r"device 'cuda' is not available on this machine.*available: cpu"
        with pytest.raises(UsageError, match=message):
            check_device("cuda")
    with pytest.raises(UsageError, match="is not a torch device"):
        check_device("gpu0")


def test_the_lens_tokens_come_from_the_stripped_answer():
    """'  Orange ' is scored correct (stripped, lower-cased); its lens tokens must be those of
    'orange' / 'Orange', not of '  orange ' (which changed lowercase_before_capitalised)."""
    from flowcheck.measure.lens import answer_tokens
    from flowcheck.models.fixtures.tiny import build_tokenizer
    from flowcheck.models.prompts import PROMPTS
    tok, plain = build_tokenizer(), PROMPTS["plain"]
    assert answer_tokens(tok, plain, "What color?", "  Orange ") == \
        answer_tokens(tok, plain, "What color?", "orange")
    assert answer_tokens(tok, plain, "What color?", "orange")["capitalised"] == \
        tok.convert_tokens_to_ids("Orange")


@pytest.mark.parametrize("change, message", [
    ({"x": "abc"}, "box must be four finite numbers x, y, w, h"),
    ({"w": 0}, "box has zero area"),
    ({"x": "inf"}, "box must be four finite numbers x, y, w, h"),
])
def test_a_bad_box_is_named_when_the_dataset_is_read(small_dataset, change, message):
    rows, write = small_dataset
    row = dict(rows[0])
    prefix = "central object" if row.get("central object name", "-") != "-" else "object1"
    row.update({f"{prefix} {k}": v for k, v in change.items()})
    with pytest.raises(DataError, match=rf"line 1 \(question '.*'\): the {prefix} {message}"):
        load(write([row]))


def test_a_box_past_the_image_edge_is_clipped_not_refused(small_dataset):
    """As the paper's mask clips it: the related pixels stop at the edge."""
    rows, write = small_dataset
    row = dict(rows[0])
    prefix = "central object" if row.get("central object name", "-") != "-" else "object1"
    row.update({f"{prefix} x": 60, f"{prefix} w": 10, f"{prefix} y": -1})
    (box, facts), *_ = load(write([row]))[0].painted_boxes()
    assert facts == {"object": prefix, "clipped": 6} and box[0] + box[2] == 64 and box[1] == 0


def test_a_non_positive_image_size_is_named(small_dataset):
    rows, write = small_dataset
    with pytest.raises(DataError, match="image_w must be a positive number, got 'x'"):
        load(write([dict(rows[0], image_w="x")]))
