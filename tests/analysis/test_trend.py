"""`flowcheck trend`: each claim's statistics across a series of stored runs, in the order
given, with intervals, thresholds and statuses; accuracy per task; no model."""
import json
import shutil

import pytest

from flowcheck.analysis.trend import TREND_HTML, TREND_JSON, build_trend, write_trend
from flowcheck.cli.main import main

REF = "reports/reference"


def test_two_runs(tmp_path, capsys):
    runs = {"natural": f"{REF}/natural", "paper-route": f"{REF}/paper-route"}
    trend = write_trend(runs, tmp_path)
    assert trend["runs"] == ["natural", "paper-route"]
    for i, run in enumerate(runs.values()):
        stored = json.loads(open(f"{run}/verdicts.json").read())
        assert set(trend["claims"]) == set(stored)
        for claim, v in stored.items():
            assert trend["claims"][claim]["verdicts"]["all"][i] == v["tasks"]["all"]["status"]
            for name, c in v["tasks"]["all"]["conditions"].items():
                point = trend["claims"][claim]["conditions"][name][i]
                assert (point["observed"], point["ci"], point["threshold"], point["status"]) == \
                    (c["observed"], c["ci95"], c["threshold"], c["status"])
    assert trend["accuracy"]["ChooseAttr"] == [round(103 / 120, 4), 1.0]
    names = {p.name for p in tmp_path.iterdir()}
    assert {TREND_HTML, TREND_JSON, "accuracy.png"} | {f"trend_{c}.png" for c in trend["claims"]} <= names
    assert json.loads((tmp_path / TREND_JSON).read_text()) == trend
    page = (tmp_path / TREND_HTML).read_text()
    assert "natural → paper-route" in page
    assert page.index("<h2>Accuracy") < page.index("<h2 id='question_to_last_middle'>")
    assert main(["trend", *(f"{k}={v}" for k, v in runs.items()), "--out", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "question_to_last_middle" in out and "fails" in out and "holds" in out


def series(tmp_path, n: int):
    """``n`` copies of the paper-route run, question_to_last_middle's middle_drop moving from
    -90 to +10 (its threshold: <= -20), status as the interval says."""
    runs = {}
    for i in range(n):
        folder = tmp_path / f"run-{i}"
        folder.mkdir()
        for name in ("run.json", "results.jsonl"):
            shutil.copy(f"{REF}/paper-route/{name}", folder / name)
        verdicts = json.loads(open(f"{REF}/paper-route/verdicts.json").read())
        c = verdicts["question_to_last_middle"]["tasks"]["all"]["conditions"]["middle_drop"]
        observed = -90 + 100 * i / (n - 1)
        c["observed"], c["ci95"] = round(observed, 3), [round(observed - 4, 3), round(observed + 4, 3)]
        c["status"] = "holds" if observed + 4 <= -20 else "fails" if observed - 4 > -20 else "uncertain"
        (folder / "verdicts.json").write_text(json.dumps(verdicts))
        runs[f"step-{n - i:02d}"] = folder  # labels that do not sort in series order
    return runs


def test_twelve_runs_in_the_order_given(tmp_path):
    runs = series(tmp_path, 12)
    trend = write_trend(runs, tmp_path / "out")
    assert trend["runs"] == list(runs)  # as given, not sorted
    points = trend["claims"]["question_to_last_middle"]["conditions"]["middle_drop"]
    observed = [p["observed"] for p in points]
    assert observed == sorted(observed) and observed[0] == -90 and observed[-1] == 10
    statuses = [p["status"] for p in points]
    assert statuses[0] == "holds" and statuses[-1] == "fails" and "uncertain" in statuses
    assert all(p["threshold"] == -20 for p in points)
    page = (tmp_path / "out" / TREND_HTML).read_text()
    assert page.index("step-12") < page.index("step-01")
    assert (tmp_path / "out" / "trend_question_to_last_middle.png").stat().st_size > 10_000


def test_bad_series_are_usage_errors(tmp_path, capsys):
    assert main(["trend", f"a={REF}/natural", f"a={REF}/paper-route", "--out", str(tmp_path)]) == 2
    assert "label 'a' is given to more than one run" in capsys.readouterr().err
    assert main(["trend", f"a={REF}/natural", f"b={tmp_path}", "--out", str(tmp_path / "o")]) == 2
    assert "b:" in capsys.readouterr().err
    with pytest.raises(Exception):
        build_trend({"x": tmp_path / "missing"})


def test_a_new_claim_version_in_the_series_is_marked(tmp_path):
    """Points judged under another version of a claim are not silently joined: trend.json
    keeps each point's version and the plot breaks its line there (the PNG differs)."""
    runs = series(tmp_path, 4)
    last = list(runs.values())[-1]
    verdicts = json.loads((last / "verdicts.json").read_text())
    verdicts["question_to_last_middle"]["version"] += 1
    (last / "verdicts.json").write_text(json.dumps(verdicts))
    trend = write_trend(runs, tmp_path / "out")
    versions = [p["version"] for p in trend["claims"]["question_to_last_middle"]["conditions"]["middle_drop"]]
    assert versions[-1] == versions[0] + 1 and len(set(versions[:-1])) == 1
    (tmp_path / "again").mkdir()
    same = write_trend(series(tmp_path / "again", 4), tmp_path / "out2")
    assert same["claims"]["question_to_last_middle"]["conditions"]["middle_drop"][-1]["version"] == \
        versions[0]
    png = "trend_question_to_last_middle.png"
    assert (tmp_path / "out" / png).read_bytes() != (tmp_path / "out2" / png).read_bytes()
