"""The paper's GQA task files as a flowcheck dataset (``flowcheck data import-gqa``).

The paper's data are six CSV files, one per task type, by these names, plus the GQA images
folder (``{img_id}.jpg``). Importing checks every row and every image once and writes a
dataset folder: ``questions.jsonl`` (the CSV columns, ``question_id`` kept as the string it is,
leading zeros included, plus ``task`` and ``image_file``), ``dataset.json`` (where the images
are: they are read in place, not copied) and ``import_report.json`` (what was read, what was
skipped and why). The rows keep the files' order, task by task in the order of ``TASK_FILES``,
so ``--max-samples N`` takes the first N rows of each task file on every run.

Related objects (the paper's rule): ChooseAttr, ChooseCat, QueryAttr: the central object;
ChooseRel, CompareAttr, LogicalObj: object1, plus object2 where its box is given (LogicalObj
often names an object2 that is not in the image: its id and box are "-", and the row keeps
object1 alone). A box that runs past the image edge (mostly by one pixel) is clipped, as the
paper's mask clips it; such rows are imported and listed in ``import_report.json``
(``clipped``), with those whose box has no pixel inside the image at all (``outside``).

Why import rather than read the CSVs in place: the checks (every box against the image's
real size, every image decodable) read all images once, which should not happen on every
run; the imported folder is fingerprinted like any dataset, so a changed file is noticed.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, NotFoundError

TASK_FILES = {
    "ChooseAttr": "GQA_val_correct_question_with_choose_ChooseAttr.csv",
    "ChooseCat": "GQA_val_correct_question_with_categoryThatThisChoose_objThisChoose_ChooseCat.csv",
    "ChooseRel": "GQA_val_correct_question_with_relChooser_ChooseRel.csv",
    "CompareAttr": "GQA_val_correct_question_with_twoCommon_CompareAttr.csv",
    "LogicalObj": "GQA_val_correct_question_with_existThatOr_LogicalObj.csv",
    "QueryAttr": "GQA_val_correct_question_with_positionQuery_QueryAttr.csv",
}
COMMON = ("question_id", "img_id", "question", "answer", "type_detailed", "type_semantic",
          "type_structural", "image_w", "image_h")
BOX = ("w", "h", "x", "y")
OBJECTS = {"ChooseAttr": ("central object",), "ChooseCat": ("central object",),
           "QueryAttr": ("central object",), "ChooseRel": ("object1", "object2"),
           "CompareAttr": ("object1", "object2"), "LogicalObj": ("object1", "object2")}
OPTIONS = ("true option", "false option")  # the Choose* tasks
SHOW = 3  # question ids shown per kind of problem


def required_columns(task: str) -> tuple[str, ...]:
    cols = list(COMMON) + [f"{o} {k}" for o in OBJECTS[task] for k in ("name", *BOX)]
    return tuple(cols + (list(OPTIONS) if task.startswith("Choose") else []))


@dataclass
class Problems:
    """Problems by kind (how many, the first question ids) and the ids that have any."""

    found: dict = field(default_factory=dict)  # kind -> list of ids
    ids: set = field(default_factory=set)
    where: dict = field(default_factory=dict)  # id -> "<task file> line N", for the messages

    def add(self, kind: str, what: str) -> None:
        """Row ``what`` has a problem of ``kind`` (counted once per row, however many boxes)."""
        ids = self.found.setdefault(kind, [])
        if not ids or ids[-1] != what:
            ids.append(what)
        self.ids.add(what)

    def lines(self) -> list[str]:
        def named(i):
            return f"{i} in {self.where[i]}" if i in self.where else str(i)
        return [f"{kind}: {len(ids)} ({', '.join(map(named, ids[:SHOW]))}"
                f"{', ...' if len(ids) > SHOW else ''})" for kind, ids in self.found.items()]

    def __bool__(self) -> bool:
        return bool(self.found)


def _check_boxes(row: dict, task: str, size: tuple[int, int] | None, problems: Problems,
                 clipped: dict) -> None:
    """The row's image size (its image_w/h, and the file's real size) and its related boxes
    (``dataset.box_problems``: finite numbers, positive area); the central object and object1
    must be there, object2 only where its box is given. Boxes past the image edge are clipped
    (as the paper's mask is): noted in ``clipped`` {question id: [facts]}, not refused."""
    from .boxes import box_problems, related_objects
    from .dataset import Sample
    qid = row["question_id"]
    for kind, _ in box_problems(row, ()):  # the image size first: boxes are checked against it
        problems.add(kind, qid)
        return
    if size is not None and (int(float(row["image_w"])), int(float(row["image_h"]))) != size:
        problems.add("image_w/image_h differ from the image file's size", qid)
        return
    related = related_objects(row)
    for obj in OBJECTS[task]:
        if obj != "object2" and obj not in related:
            problems.add(f"no {obj} (the related object)", qid)
    found = box_problems(row, related)
    for kind, _ in found:
        problems.add(kind, qid)
    if found or qid in problems.ids:
        return
    painted = {facts["object"]: facts for _, facts in Sample(row, None).painted_boxes()}
    notes = [{"object": obj, "outside": True} if obj not in painted else
             {"object": obj, "clipped_px": _tidy(painted[obj]["clipped"])}
             for obj in related if obj not in painted or "clipped" in painted[obj]]
    if notes:
        clipped[qid] = notes


def _tidy(x: float):
    """1.0 -> 1 (pixel counts read as the integers they are), else rounded."""
    return int(x) if float(x).is_integer() else round(x, 3)


def _image_size(path: Path, qid: str, problems: Problems) -> tuple[int, int] | None:
    """The decoded image's (w, h); None (and a problem) when missing, unreadable or truncated."""
    from PIL import Image, UnidentifiedImageError
    if not path.is_file():
        problems.add("missing images", qid)
        return None
    try:
        with Image.open(path) as im:
            im.load()  # decodes it: a truncated file fails here
            return im.size
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        problems.add("unreadable or truncated images", qid)
        return None


def read_task_files(csv_dir: Path, images: Path, skip_bad_rows: bool = False,
                    progress: bool = True) -> tuple[list[dict], dict]:
    """Rows of every official task file in ``csv_dir`` (checked), and the import report."""
    csv_dir, images = Path(csv_dir), Path(images)
    if not csv_dir.is_dir():
        raise NotFoundError(f"--csv-dir {str(csv_dir)!r} is not a folder" +
                            (" (it is a file: pass the folder that holds the six task files)"
                             if csv_dir.exists() else " (it does not exist)"))
    if not images.is_dir():
        raise NotFoundError(f"GQA images folder {str(images)!r} does not exist; pass the folder "
                            "holding {img_id}.jpg (GQA images.zip, unpacked)")
    by_name = {v: k for k, v in TASK_FILES.items()}
    files = sorted(p.name for p in csv_dir.glob("*.csv"))
    unknown = [f for f in files if f not in by_name]
    if unknown:
        raise DataError(f"unknown task file names in {str(csv_dir)!r}: {len(unknown)} "
                        f"({', '.join(unknown[:SHOW])}); the task files are named "
                        f"{', '.join(TASK_FILES.values())}. Move other CSV files out of the folder")
    if not files:
        raise NotFoundError(f"no task files in {str(csv_dir)!r}; expected some of "
                            f"{', '.join(TASK_FILES.values())}")
    tasks = [t for t in TASK_FILES if TASK_FILES[t] in files]
    header_problems = []
    for task in tasks:
        header = _header(csv_dir / TASK_FILES[task])
        missing = [c for c in required_columns(task) if c not in header]
        if missing:
            header_problems.append(f"{TASK_FILES[task]} lacks {len(missing)} column(s): "
                                   f"{', '.join(missing[:SHOW])}{', ...' if len(missing) > SHOW else ''}")
    if header_problems:
        raise DataError("missing columns: " + "; ".join(header_problems))

    problems, rows, seen, clipped = Problems(), [], {}, {}
    total = {t: 0 for t in tasks}
    it = [(t, r) for t in tasks for r in _rows(csv_dir / TASK_FILES[t], problems)]
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="checking GQA rows and images", unit="row", dynamic_ncols=True)
    for task, row in it:
        total[task] += 1
        qid = row["question_id"]
        if qid in seen:
            problems.add("duplicate question ids", qid)
        seen[qid] = task
        if not row["question"].strip() or not row["answer"].strip():
            problems.add("empty question or answer", qid)
        image_file = f"{row['img_id'].strip()}.jpg"
        if not row["img_id"].strip() or Path(image_file).name != image_file:
            problems.add("img_id that is not a GQA image id", qid)
        else:
            size = _image_size(images / image_file, qid, problems)
            _check_boxes(row, task, size, problems, clipped)
        if qid in problems.ids:  # a duplicate id is always a problem of its own row too
            continue
        rows.append({**row, "task": task, "image_file": image_file})
    if problems and not skip_bad_rows:
        raise DataError(f"{len(problems.ids)} of {sum(total.values())} rows have problems, nothing was "
                        "written:\n  " + "\n  ".join(problems.lines()) +
                        "\nfix the files, or pass --skip-bad-rows to import the other rows (the "
                        "skipped ones are listed in import_report.json)")
    report = {"csv_dir": str(csv_dir.resolve()), "images_dir": str(images.resolve()),
              "files": {t: TASK_FILES[t] for t in tasks},
              "rows_read": total, "rows_imported": {t: sum(r["task"] == t for r in rows) for t in tasks},
              "skipped": {k: ids for k, ids in problems.found.items()}, "skipped_rows": len(problems.ids),
              "box_painting": "paper", "clipped": {q: c for q, c in clipped.items() if q not in problems.ids}}
    return rows, report


@contextmanager
def _reading(path: Path):
    """Open a task file for csv (UTF-8, a BOM dropped); a file that is not UTF-8 text or not
    CSV is a DataError naming it and the line, never a traceback."""
    if path.exists() and not path.is_file():
        raise DataError(f"task file {str(path)!r} is not a regular file (a folder, pipe or device); "
                        "pass a folder of the paper's task files")
    csv.field_size_limit(2**31 - 1)  # legal CSV fields can be long (captions, scene graphs)
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            yield reader
    except UnicodeDecodeError as e:
        raise DataError(f"task file {str(path)!r} is not UTF-8 text (byte 0x{e.object[e.start]:02x} near "
                        f"line {(reader.line_num if reader else 0) + 1}); save it as UTF-8") from None
    except csv.Error as e:
        raise DataError(f"task file {str(path)!r}, line {reader.line_num if reader else 1}: not valid "
                        f"CSV ({e}); fix the file") from None


def _header(path: Path) -> list[str]:
    """The task file's column names; an empty file or another delimiter is named."""
    with _reading(path) as reader:
        header = next(reader, [])
    if not header:
        raise DataError(f"task file {str(path)!r} is empty; expected a header row "
                        f"({', '.join(COMMON[:4])}, ...) and one row per question")
    for sep in (";", "\t", "|"):
        if len(header) == 1 and sep in header[0]:
            raise DataError(f"task file {str(path)!r} separates its columns with {sep!r}; the task "
                            "files are comma-separated: save it as CSV with commas")
    return header


def _rows(path: Path, problems: Problems):
    """CSV rows as dicts of strings (``question_id`` stays a string: leading zeros matter).
    A row with more or fewer fields than the header is a problem of that row (named with its
    line); one that runs over several lines with the wrong field count (a stray quote that
    swallowed the rows after it) stops the import, naming the lines."""
    with _reading(path) as reader:
        header = next(reader, [])
        line = reader.line_num
        for fields in reader:
            first, line = line + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            row = dict(zip(header, fields))
            row = {k: row.get(k, "") for k in header}
            if len(fields) != len(header):
                if line > first:
                    raise DataError(
                        f"task file {str(path)!r}, lines {first}-{line}: one quoted field runs over "
                        f"{line - first + 1} lines, swallowing the rows in them (a stray quote \" on "
                        f"line {first}?); fix the quote, nothing was imported")
                qid = row.get("question_id") or f"line {first}"
                problems.where[qid] = f"{path.name} line {first}"
                problems.add(f"rows with {len(fields)} fields where the header has {len(header)}", qid)
                continue
            problems.where[row["question_id"]] = f"{path.name} line {first}"
            yield row


def import_gqa(csv_dir: Path, images: Path, out: Path, skip_bad_rows: bool = False,
               progress: bool = True) -> dict:
    """Check the task files and images, then write the dataset folder ``out`` at once (written
    beside it and renamed: an error leaves nothing half-written). Returns the import report."""
    from .dataset import DATASET_FILE, QUESTIONS_FILE
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{str(out)!r} exists and is not empty; import into a new folder")
    rows, report = read_task_files(csv_dir, images, skip_bad_rows, progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        with open(tmp / QUESTIONS_FILE, "w") as f:
            for row in rows:
                f.write(json.dumps(row, sort_keys=True) + "\n")
        images_path = Path(report["images_dir"])
        (tmp / DATASET_FILE).write_text(json.dumps(
            {"format": "gqa", "images_dir": str(images_path)}, indent=2) + "\n")
        (tmp / "import_report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report
