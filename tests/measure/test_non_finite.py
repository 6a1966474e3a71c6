"""Overflow or NaN (half precision) is reported with its sample, flow and window, and the
sample is left out of every verdict: never averaged in."""
import json
import math

import flowcheck.measure.configs as configs
from flowcheck import run as run_suite


def test_a_nan_in_one_config_is_reported_and_the_sample_left_out(tmp_path, monkeypatch):
    real = configs.engine_probabilities
    poisoned = {}

    def with_a_nan(engine):
        probabilities = real(engine)

        def run(handle, enc, clean, cfgs, **kw):
            p = probabilities(handle, enc, clean, cfgs, **kw)
            if not poisoned:  # the first sample that gets knockouts: one config overflows
                poisoned["at"] = (cfgs[5].flow, cfgs[5].centre)
                p[5] = math.nan
            return p
        return run
    monkeypatch.setattr(configs, "engine_probabilities", with_a_nan)
    result = run_suite("reference", tasks=["ChooseAttr"], max_samples=4, out=tmp_path / "run",
                       claims=["question_to_last_middle"], progress=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    bad = [r for r in rows if r.get("non_finite")]
    assert len(bad) == 1
    flow, centre = poisoned["at"]
    entry = bad[0]["non_finite"][0]
    assert entry["what"] == flow and entry["centre"] == centre and entry["value"] == "nan"
    assert bad[0]["changes"][flow][centre] is None  # JSON holds no NaN
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert list(meta["non_finite"]) == [bad[0]["question_id"]]
    used = sum(r["correct"] for r in rows) - 1
    assert all(v.n == used for v in result.verdicts)  # left out, not averaged in
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "1 samples gave non-finite numbers" in summary and f"{flow} centre {centre}" in summary
