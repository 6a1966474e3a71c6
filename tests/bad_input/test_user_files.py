"""Every problem in a file the user gave is exit 2 naming the file (and the line or key where
there is one) with a fix; exit 3 (a traceback) is only ever flowcheck's own bug. One case per
file kind x damage: truncated, empty, wrong encoding, wrong shape (issue: reliability round 3,
part B). Each case runs the command a user would, in-process, and reads its stderr."""
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

import flowcheck
from flowcheck.cli.main import main
from flowcheck.data.gqa import TASK_FILES
from flowcheck.paths import EVAL_SPLIT, FIXTURES, REFERENCE_MODEL

GQA_MINI = FIXTURES / "data" / "gqa-mini"
LATIN1 = "Café".encode("latin-1")  # not UTF-8


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "base"
    flowcheck.run("reference", tasks=["ChooseAttr"], max_samples=2, claims=["last_to_last_negligible"],
                  out=out, progress=False)
    return out


class Hung(BaseException):
    """Raised in a command that ran past its time (not an OSError: flowcheck must not catch it)."""


def cli(capsys, *args, timeout=120):
    """(exit status, stderr, stdout) of ``flowcheck ARGS`` run in this process; a hang fails
    the test."""
    def hang(*_):
        raise Hung(f"flowcheck {' '.join(map(str, args))} hung for {timeout} s")
    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(timeout)
    try:
        rc = main([str(a) for a in args])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out = capsys.readouterr()
    return rc, out.err, out.out


def refused(capsys, names, *args, rc=2):
    """Assert ``flowcheck ARGS`` exits ``rc`` with a message naming each of ``names``."""
    code, err, _ = cli(capsys, *args)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == rc, err
    for name in names:
        assert str(name) in err, f"{name!r} not named in: {err}"
    return err


def damage(path: Path, how: str):
    """Write ``path`` damaged ``how``: truncated, empty, latin1, list, text."""
    text = path.read_text() if path.exists() else "{}"
    path.write_bytes({"truncated": text[: max(1, len(text) // 2)].encode(),
                      "empty": b"",
                      "latin1": b'{"name": "' + LATIN1 + b'"}',
                      "list": b"[1, 2]\n",
                      "text": b"not json at all\n"}[how])


HOW = ["truncated", "empty", "latin1", "list"]


# --- run folders: run.json, results.jsonl ------------------------------------------------------
@pytest.mark.parametrize("how", HOW + ["missing key"])
def test_run_json(base_run, tmp_path, capsys, how):
    run = shutil.copytree(base_run, tmp_path / "run")
    if how == "missing key":
        record = json.loads((run / "run.json").read_text())
        del record["claims"]
        (run / "run.json").write_text(json.dumps(record))
    else:
        damage(run / "run.json", how)
    refused(capsys, [run / "run.json"], "report", run)


@pytest.mark.parametrize("how", ["garbage line", "latin1", "list line", "torn line"])
def test_results_jsonl(base_run, tmp_path, capsys, how):
    """A stored line that is not a sample is skipped and named; its sample is missing, so the
    run is incomplete and fails the gate (exit 1) until it is measured again."""
    run = shutil.copytree(base_run, tmp_path / "run")
    path = run / "results.jsonl"
    first, *rest = path.read_bytes().splitlines(keepends=True)
    bad = {"garbage line": b"{oops\n", "latin1": first[:40] + LATIN1 + first[40:], "list line": b"[1]\n",
           "torn line": first[: len(first) // 2] + b"\n"}
    path.write_bytes(bad[how] + b"".join(rest))
    code, err, out = cli(capsys, "report", run)
    assert code == 1 and "Traceback" not in err, err
    assert "incomplete: 1 of 2 samples" in out and "results.jsonl line 1" in out, out


# --- model folders: config.json, card, tokenizer and processor files ---------------------------
@pytest.fixture
def model_copy(tmp_path):
    return shutil.copytree(REFERENCE_MODEL, tmp_path / "model")


@pytest.mark.parametrize("name", ["config.json", "flowcheck_card.json", "tokenizer.json",
                                  "tokenizer_config.json", "processor_config.json"])
@pytest.mark.parametrize("how", HOW)
def test_model_folder_files(model_copy, capsys, name, how):
    damage(model_copy / name, how)
    refused(capsys, [model_copy / name], "run", "--model", model_copy, "--dry-run")


@pytest.mark.parametrize("name", ["config.json", "tokenizer.json"])
def test_model_folder_without_a_file(model_copy, capsys, name):
    (model_copy / name).unlink()
    refused(capsys, [name], "run", "--model", model_copy, "--dry-run")


# --- datasets: dataset.json, questions.jsonl ---------------------------------------------------
@pytest.fixture
def data_copy(tmp_path):
    return shutil.copytree(EVAL_SPLIT, tmp_path / "data")


def _questions(folder: Path, change):
    path = folder / "questions.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    change(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("how", ["latin1", "garbage line", "list line", "empty"])
def test_questions_jsonl(data_copy, capsys, how):
    path = data_copy / "questions.jsonl"
    bad = {"latin1": b'{"q": "' + LATIN1 + b'"}\n', "garbage line": b"{oops\n", "list line": b"[1]\n"}
    path.write_bytes(b"" if how == "empty" else bad[how] + path.read_bytes())
    refused(capsys, [path], "run", "--dataset", data_copy, "--dry-run")


@pytest.mark.parametrize("field, value", [("central object x", float("nan")), ("image_w", float("nan")),
                                          ("image_w", float("inf")), ("image_w", None), ("task", None),
                                          ("question", 7)])
def test_questions_with_bad_values(data_copy, capsys, field, value):
    def change(rows):
        rows[0][field] = value
    path = _questions(data_copy, change)
    refused(capsys, [path, "line 1"], "run", "--dataset", data_copy, "--dry-run")


@pytest.mark.parametrize("how", HOW + ["images_dir number"])
def test_dataset_json(data_copy, capsys, how):
    path = data_copy / "dataset.json"
    if how == "images_dir number":
        path.write_text('{"images_dir": 7}')
    else:
        damage(path, how)
    refused(capsys, [path], "run", "--dataset", data_copy, "--dry-run")


# --- the paper's task CSVs (import-gqa) --------------------------------------------------------
@pytest.fixture
def gqa(tmp_path):
    shutil.copytree(GQA_MINI, tmp_path / "src")
    return tmp_path / "src" / "csv", tmp_path / "src" / "images"


def _csv(csv_dir: Path, task="ChooseAttr") -> Path:
    return csv_dir / TASK_FILES[task]


def _import(gqa, tmp_path, *extra):
    return ("data", "import-gqa", "--csv-dir", gqa[0], "--images", gqa[1], "--out", tmp_path / "ds", *extra)


def _replace_cell(path: Path, column: str, value: str):
    import csv
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0][column] = value
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.mark.parametrize("how", ["latin1", "empty", "bom", "semicolon", "short row", "no image_w column"])
def test_task_csv_files(gqa, tmp_path, capsys, how):
    path = _csv(gqa[0])
    text = path.read_text()
    header, *rows = text.splitlines(keepends=True)
    new = {"latin1": text.encode() + b"x," + LATIN1 + b"\n",
           "empty": b"",
           "bom": None,
           "semicolon": text.replace(",", ";").encode(),
           "short row": (header + "1,2\n" + "".join(rows)).encode(),
           "no image_w column": None}[how]
    if how == "bom":  # Excel's UTF-8: imported as if there were no BOM
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
        code, err, _ = cli(capsys, *_import(gqa, tmp_path))
        assert code == 0, err
        return
    if how == "no image_w column":
        names = header.rstrip("\r\n").split(",")
        drop = names.index("image_w")
        import csv
        import io
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        for row in csv.reader(io.StringIO(text)):
            w.writerow(row[:drop] + row[drop + 1:])
        new = out.getvalue().encode()
    path.write_bytes(new)
    refused(capsys, [path.name], *_import(gqa, tmp_path))


@pytest.mark.parametrize("column, value", [("image_w", "nan"), ("image_w", "inf"), ("image_h", "-3")])
def test_task_csv_bad_numbers_are_named(gqa, tmp_path, capsys, column, value):
    _replace_cell(_csv(gqa[0]), column, value)
    refused(capsys, [TASK_FILES["ChooseAttr"], column], *_import(gqa, tmp_path))


def test_a_nan_box_is_refused_naming_the_question(gqa, tmp_path, capsys):
    _replace_cell(_csv(gqa[0]), "central object x", "nan")
    refused(capsys, ["box values that are not numbers: 1 (", f"in {TASK_FILES['ChooseAttr']} line 2"],
            *_import(gqa, tmp_path))


def test_a_field_over_128_kb_is_read(gqa, tmp_path, capsys):
    path = _csv(gqa[0])
    _replace_cell(path, "captions", "x" * 200_000)
    code, err, _ = cli(capsys, *_import(gqa, tmp_path))
    assert code == 0, err


def test_a_stray_quote_with_skip_bad_rows_lists_what_it_lost(gqa, tmp_path, capsys):
    path = _csv(gqa[0])
    header, first, *rest = path.read_text().splitlines(keepends=True)
    path.write_text(header + first.replace(",", ',"', 1) + "".join(rest))
    code, err, _ = cli(capsys, *_import(gqa, tmp_path, "--skip-bad-rows"))
    assert "Traceback" not in err
    assert code == 2 and path.name in err and "quote" in err, err


def test_csv_dir_pointing_at_a_file(gqa, tmp_path, capsys):
    refused(capsys, ["--csv-dir", "not a folder"], "data", "import-gqa", "--csv-dir", _csv(gqa[0]),
            "--images", gqa[1], "--out", tmp_path / "ds")


def test_a_fifo_task_file_is_refused_not_waited_on(gqa, tmp_path, capsys):
    path = _csv(gqa[0])
    path.unlink()
    os.mkfifo(path)
    refused(capsys, [path.name, "not a regular file"], *_import(gqa, tmp_path))


# --- claim specs -------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["truncated", "latin1", "list", "empty", "text"])
def test_claim_spec_files(tmp_path, capsys, how):
    from flowcheck.claims.spec import LIBRARY
    path = tmp_path / "mine.yaml"
    path.write_text((LIBRARY / "last_to_last_negligible.yaml").read_text())
    text = path.read_text()
    path.write_bytes({"truncated": text[: len(text) // 2].encode() + b"\n  - [",
                      "latin1": b"id: " + LATIN1 + b"\n", "list": b"- 1\n- 2\n", "empty": b"",
                      "text": b"just words\n"}[how])
    refused(capsys, [path], "validate", path)


# --- baselines ---------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["truncated", "empty", "list", "missing key", "latin1", "conditions"])
def test_a_broken_baseline_is_an_error_naming_it_not_a_moved_verdict(base_run, tmp_path, how):
    from flowcheck.errors import FlowcheckError
    from flowcheck.runs.stored import load_run
    from flowcheck.testing import baselines
    verdict = load_run(base_run).judge()[0]
    path = baselines.record(tmp_path, "reference", verdict)
    assert baselines.check(tmp_path, "reference", verdict).ok
    data = json.loads(path.read_text())
    if how in ("missing key", "conditions"):
        if how == "missing key":
            del data["status"]
        else:
            data["conditions"] = [1]
        path.write_text(json.dumps(data))
    else:
        damage(path, how)
    with pytest.raises(FlowcheckError, match="baseline") as e:
        baselines.check(tmp_path, "reference", verdict)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("how", ["truncated", "not an image", "empty"])
def test_a_broken_image_is_named_with_its_question(data_copy, capsys, tmp_path, how):
    row = json.loads((data_copy / "questions.jsonl").read_text().splitlines()[0])
    image = data_copy / "images" / f"{row['img_id']}.png"
    data = image.read_bytes()
    image.write_bytes({"truncated": data[: len(data) // 2], "not an image": b"hello", "empty": b""}[how])
    refused(capsys, [image, repr(row["question_id"])], "run", "--dataset", data_copy, "--tasks", row["task"],
            "--max-samples", "1", "--out", tmp_path / "run")


def test_without_matplotlib_the_report_says_how_to_finish(base_run, tmp_path, capsys, monkeypatch):
    import sys
    run = shutil.copytree(base_run, tmp_path / "run")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    refused(capsys, ["pip install matplotlib", f"flowcheck report {run}"], "report", run)


@pytest.mark.parametrize("error, says", [
    (PermissionError(13, "Permission denied", "/ro"), "permission denied: '/ro'; choose a folder you"),
    (OSError(36, "File name too long", "/x/" + "a" * 300), "file name too long: '/x/aaa"),
    (OSError(28, "No space left on device", "/full"), "no space left on device: '/full'; free some disk"),
    (OSError("flowcheck's own sentence"), "flowcheck's own sentence"),
])
def test_file_system_errors_say_the_path_and_the_fix(error, says):
    from flowcheck.cli.args import os_error_text
    assert os_error_text(error).startswith(says) and "Errno" not in os_error_text(error)
