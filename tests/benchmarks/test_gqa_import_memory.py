"""Peak memory of importing (and loading) a 5,000-row GQA-format set: images are checked one at
a time and opened only when used, so memory stays flat in the number of rows.
Run: .venv/bin/pytest tests/benchmarks/test_gqa_import_memory.py --benchmark-enable -s"""
import csv
import shutil
import subprocess
import sys

import pytest

from flowcheck.data.gqa import TASK_FILES
from flowcheck.paths import FIXTURES

ROWS, IMAGES = 5000, 500


def make_big_set(root, rows=ROWS, images=IMAGES):
    """The fixture's rows repeated to ``rows`` (new question ids), over ``images`` distinct JPEGs."""
    src = FIXTURES / "data" / "gqa-mini"
    (root / "csv").mkdir(parents=True)
    (root / "images").mkdir()
    jpgs = sorted((src / "images").glob("*.jpg"))
    n = 0
    for t, name in enumerate(TASK_FILES.values()):
        per_task = rows // len(TASK_FILES) + (t < rows % len(TASK_FILES))
        with open(src / "csv" / name, newline="") as f:
            base = list(csv.DictReader(f))
        with open(root / "csv" / name, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(base[0]))
            w.writeheader()
            i = written = 0
            while written < per_task:
                row = dict(base[i % len(base)])
                i += 1
                img = n % images
                src_img = next(p for p in jpgs if p.stem == row["img_id"])
                if not (root / "images" / f"{5000000 + img}.jpg").exists():
                    shutil.copy(src_img, root / "images" / f"{5000000 + img}.jpg")
                    sizes = (row["image_w"], row["image_h"])
                    (root / "images" / f"{5000000 + img}.size").write_text(",".join(sizes))
                w_, h_ = (root / "images" / f"{5000000 + img}.size").read_text().split(",")
                if (w_, h_) != (row["image_w"], row["image_h"]):
                    continue  # keep each image's rows consistent with its size
                row.update(question_id=f"{n:09d}", img_id=str(5000000 + img))
                w.writerow(row)
                n += 1
                written += 1
    for p in (root / "images").glob("*.size"):
        p.unlink()
    return n


PEAK = """
import resource, sys
from flowcheck.data.gqa import import_gqa
from flowcheck.data import dataset
root = sys.argv[1]
report = import_gqa(root + "/csv", root + "/images", root + "/ds", progress=False)
after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
samples = dataset.load(root + "/ds")
sizes = sum(s.image.size[0] for s in samples)  # every image opened once, one at a time
lazy = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
held = [s.image for s in samples]  # what loading did before: every image decoded and kept
print(sum(report["rows_imported"].values()), after_import // 1024, lazy // 1024,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.benchmark(group="gqa-import")
def test_import_5000_rows_peak_memory(tmp_path, benchmark):
    n = make_big_set(tmp_path)
    out = benchmark.pedantic(lambda: subprocess.run([sys.executable, "-c", PEAK, str(tmp_path)],
                                                    capture_output=True, text=True, check=True).stdout,
                             rounds=1, iterations=1)
    rows, rss_import, rss_load, rss_held = map(int, out.split())
    print(f"\n{rows} rows, {IMAGES} distinct images: peak RSS {rss_import} MB after import, "
          f"{rss_load} MB after loading the set and opening every image once; {rss_held} MB when "
          "every image is decoded and kept (what loading did before)")
    assert rows == n == ROWS and rss_load < rss_held / 4
