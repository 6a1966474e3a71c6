"""Fuzzing what a user controls: random and adversarial claim specs, dataset rows, GQA task
files and boxes give only flowcheck's documented errors (never a crash), and the region
mapping keeps its invariants on any image size and box."""
import json
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowcheck.claims.spec import LIBRARY, parse_spec
from flowcheck.errors import DataError, FlowcheckError, SpecError

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
                    | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                                inner, max_size=4),
                    max_leaves=12)
BASE = yaml.safe_load((LIBRARY / "image_to_question_two_stage.yaml").read_text())


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), JSON, max_size=8) | JSON)
def test_random_specs_give_only_spec_errors(data):
    try:
        parse_spec(data, "fuzz.yaml")
    except SpecError:
        pass


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))
    yield prefix


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_one_mutation_of_a_valid_spec_gives_a_spec_or_a_spec_error(data):
    import copy
    spec = copy.deepcopy(BASE)
    path = data.draw(st.sampled_from([p for p in _paths(spec) if p]))
    parent = spec
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        parent[path[-1]] = data.draw(JSON)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    try:
        parse_spec(spec, "fuzz.yaml")
    except SpecError:
        pass


ROW = st.fixed_dictionaries({"question_id": JSON, "task": st.sampled_from(["QueryAttr", "x", ""]) | JSON,
                             "img_id": st.text(max_size=10) | JSON, "question": JSON, "answer": JSON},
                            optional={"image_w": JSON, "image_h": JSON, "central object name": JSON,
                                      "central object x": JSON, "central object y": JSON,
                                      "central object w": JSON, "central object h": JSON})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(ROW.map(json.dumps) | st.text(max_size=30), min_size=1, max_size=4))
def test_random_dataset_rows_give_only_data_errors(tmp_path, lines):
    from flowcheck.data.dataset import _read_rows
    q = tmp_path / "questions.jsonl"
    q.write_text("\n".join(line.replace("\n", " ") for line in lines) + "\n")
    try:
        for row in _read_rows(q):
            assert isinstance(row["question_id"], str) and row["question"].strip()
    except DataError:
        pass


@pytest.fixture(scope="module")
def gqa_copy(tmp_path_factory):
    from flowcheck.paths import FIXTURES
    root = tmp_path_factory.mktemp("gqa")
    shutil.copytree(FIXTURES / "data" / "gqa-mini", root / "src")
    return root


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_cell_values_in_gqa_files_give_only_flowcheck_errors(gqa_copy, data):
    import csv

    from flowcheck.data.gqa import TASK_FILES, import_gqa
    task = data.draw(st.sampled_from(list(TASK_FILES)))
    src = gqa_copy / "src" / "csv" / TASK_FILES[task]
    work = gqa_copy / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(gqa_copy / "src" / "csv", work / "csv")
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    row = data.draw(st.sampled_from(rows))
    column = data.draw(st.sampled_from(list(row)))
    row[column] = data.draw(st.text(max_size=12) | st.sampled_from(["-", "0", "-1", "1e9", "nan", ""]))
    with open(work / "csv" / TASK_FILES[task], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    try:
        import_gqa(work / "csv", gqa_copy / "src" / "images", work / "ds", progress=False)
    except FlowcheckError:
        assert not (work / "ds").exists()


SIZES = st.tuples(st.integers(16, 1400), st.integers(16, 1400))


@st.composite
def box_in(draw, w, h):
    x, y = draw(st.integers(0, w - 1)), draw(st.integers(0, h - 1))
    return x, y, draw(st.integers(1, w - x)), draw(st.integers(1, h - y))


@settings(max_examples=400, deadline=None)
@given(data=st.data(), size=SIZES, kind=st.sampled_from(["crop", "pad", "squash", "anyres"]))
def test_region_mapping_invariants(data, size, kind):
    from flowcheck.models.adapters.llava_next import anyres_layout
    from flowcheck.models.fixtures.checkpoints import NEXT_PINPOINTS
    from flowcheck.models.image_layout import single_grid
    w, h = size
    layout = anyres_layout(w, h, NEXT_PINPOINTS, 336, 14) if kind == "anyres" else \
        single_grid(kind, 336, (336, 336), 14, w, h)
    covered = layout.covered()
    assert len(covered) == len(set(covered)) and set(covered) | set(layout.uncovered()) == \
        set(range(layout.n_tokens))
    boxes = data.draw(st.lists(box_in(w, h), min_size=1, max_size=3))
    related = layout.related(boxes)
    assert set(related) <= set(covered)
    if kind != "crop":  # nothing is cut off: every box holds a pixel centre of some cell...
        big = [b for b in boxes if b[2] * 336 / max(w, h) >= 1 and b[3] * 336 / max(w, h) >= 1]
        assert not big or related  # ...at least when it is a processed pixel wide
    whole = layout.related([(0, 0, w, h)])
    if kind in ("squash", "anyres"):
        assert set(layout.segment("base" if kind == "anyres" else "grid").offsets()) <= set(whole)
