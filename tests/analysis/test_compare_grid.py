"""The compare grid: one cell per (claim, task), A -> B with the gate's class, the deciding
statistic with its paired interval; colours and symbols that survive grey-scale printing."""
import re

import pytest

from flowcheck.analysis.grid import CLASSES, build_grid, cell_class, format_grid, grid_markdown

REF = "reports/reference"


@pytest.mark.fast
@pytest.mark.parametrize("a,b,flip,expected", [
    ("holds", "fails", "changed", "newly failing"),
    ("holds", "uncertain", "changed", "newly failing"),
    ("uncertain", "fails", "changed", "newly failing"),
    ("fails", "holds", "changed", "newly holding"),
    ("uncertain", "holds", "changed", "newly holding"),
    ("holds", "uncertain", "borderline", "borderline in both"),
    ("holds", "holds", None, "unchanged"),
    ("holds", "inconclusive", "changed", "other change"),
    (None, "holds", None, "not in both"),
])
def test_cell_classes(a, b, flip, expected):
    assert cell_class(a, b, flip) == expected


def verdict(status: str, observed: float) -> dict:
    return {"status": status, "margin": 1.0, "conditions": {
        "c": {"status": status, "margin": 1.0, "observed": observed, "statistic": "min_mean",
              "op": "<=", "threshold": -20}}}


@pytest.mark.fast
def test_the_grid_has_every_case_with_its_class_and_statistic():
    va = {"k1": {"version": 1, "tasks": {"T1": verdict("holds", -30), "all": verdict("holds", -30)}},
          "k2": {"version": 1, "tasks": {"T1": verdict("holds", -21), "all": verdict("holds", -21)}},
          "old": {"version": 1, "tasks": {"T1": verdict("holds", -30)}}}
    vb = {"k1": {"version": 1, "tasks": {"T1": verdict("fails", -2), "all": verdict("holds", -29)}},
          "k2": {"version": 1, "tasks": {"T1": verdict("uncertain", -20.5), "all": verdict("holds", -21)}},
          "old": {"version": 2, "tasks": {"T1": verdict("holds", -30)}}}
    flips = [{"claim": "k1", "task": "T1", "condition": "c",
              "paired": {"diff": 28.0, "ci": [25.0, 31.0], "n": 20, "significant": True}}]
    borderline = [{"claim": "k2", "task": "T1", "condition": "c"}]
    grid = build_grid(va, vb, flips, borderline)
    cells = {(c["claim"], c["task"]): c for c in grid["cells"]}
    assert grid["tasks"] == ["T1", "all"] and grid["claims"] == ["k1", "k2", "old"]
    assert cells["k1", "T1"]["class"] == "newly failing" and cells["k1", "T1"]["paired"]["diff"] == 28.0
    assert (cells["k1", "T1"]["observed_a"], cells["k1", "T1"]["observed_b"]) == (-30, -2)
    assert cells["k2", "T1"]["class"] == "borderline in both"
    assert cells["k1", "all"]["class"] == cells["k2", "all"]["class"] == "unchanged"
    assert cells["old", "T1"]["class"] == "not in both"  # another claim version: not compared
    text = format_grid(grid)
    assert re.search(r"k1 +H>F v +H =", text) and re.search(r"k2 +H>U ~", text)
    md = grid_markdown(grid)
    assert "**▼ holds → fails**" in md and "paired B - A +28 [+25, +31] over 20" in md


@pytest.mark.fast
def test_the_classes_survive_grey_scale():
    """Each class differs from the others in grey (the luminance of its background, or a
    hatched pattern) and in its symbol."""
    def grey(style: str):
        if "repeating-linear-gradient" in style:
            return "hatched"
        rgb = re.search(r"background:#([0-9a-f]{3,6})", style).group(1)
        rgb = "".join(c * 2 for c in rgb) if len(rgb) == 3 else rgb
        r, g, b = (int(rgb[i:i + 2], 16) / 255 for i in (0, 2, 4))
        return round(0.2126 * r + 0.7152 * g + 0.0722 * b, 1)
    greys = [grey(style) for _, _, style in CLASSES.values()]
    numbers = sorted(g for g in greys if g != "hatched")
    assert greys.count("hatched") == 1, greys
    assert all(b - a >= 0.05 for a, b in zip(numbers, numbers[1:])), greys
    symbols, text_symbols = {s for s, _, _ in CLASSES.values()}, {t for _, t, _ in CLASSES.values()}
    assert len(symbols) == len(text_symbols) == len(CLASSES)


def test_natural_vs_paper_route_grid_leads_the_page(tmp_path):
    from flowcheck.analysis.compare import compare_curves
    from flowcheck.analysis.compare_page import write_compare_html, write_compare_markdown
    result, curves = compare_curves(f"{REF}/natural", f"{REF}/paper-route", paired_all=True)
    grid = result["grid"]
    classes = [c["class"] for c in grid["cells"]]
    assert len(grid["cells"]) == 8 * 7  # 8 claims x (6 tasks + pooled)
    changed = classes.count("newly failing") + classes.count("newly holding")
    assert changed == len(result["flips"])
    assert classes.count("borderline in both") == len(result["borderline"])
    assert all("paired" in c for c in grid["cells"] if c["a"] and c["b"])  # every cell, when asked
    page = write_compare_html(result, curves, tmp_path / "c.html").read_text()
    assert page.index("class='grid'") < page.index("Answered correctly") < page.index("Verdicts that changed")
    md = write_compare_markdown(result, tmp_path / "c.md").read_text()
    assert md.index("| claim |") < md.index("## Verdicts that changed")


@pytest.mark.fast
def test_claims_judged_in_one_run_only_are_named_not_passed_over():
    from flowcheck.analysis.compare import format_comparison
    result = {"run_a": "a", "run_b": "b", "accuracy": [], "grid": {"claims": [], "tasks": [], "cells": []},
              "flips": [], "borderline": [], "curve_changes": [], "only_in_a": ["stage_order"],
              "only_in_b": [], "claim_changed": [], "tolerance": 5.0}
    text = format_comparison(result)
    assert "judged in run A only (not compared, the gate says nothing of them): stage_order" in text
    assert "no verdict in both runs" in text
    assert "No verdict in both runs" in grid_markdown(result["grid"])
