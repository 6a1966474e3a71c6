"""Assertions for your own tests: ``assert_claim(verdict)`` raises ``ClaimFailed`` (an
AssertionError) whose message is the whole verdict, so a failing claim reads like a report:

    from flowcheck import run
    from flowcheck.testing import assert_claim

    def test_question_to_last(tmp_path):
        result = run(model="/models/llava-1.5-7b-hf", claims=["question_to_last_middle"], out=tmp_path)
        for verdict in result.pooled():
            assert_claim(verdict, result)
"""
from __future__ import annotations

from pathlib import Path


class ClaimFailed(AssertionError):
    """A claim does not hold (fails, is uncertain, or could not be judged) on the model."""


def _evidence_plot(spec, run_dir) -> Path | None:
    """The report's plot that shows the claim's curves, if the run wrote it."""
    from ..report.plots import PANELS
    if run_dir is None:
        return None
    if spec is not None and spec.analysis == "lens":
        path = Path(run_dir) / "lens.png"
        return path if path.is_file() else None
    flows = set(spec.flows) if spec is not None else set()
    for stem, (_, shown) in PANELS.items():
        if flows & set(shown) and (Path(run_dir) / f"{stem}.png").is_file():
            return Path(run_dir) / f"{stem}.png"
    return None


def claim_message(verdict, spec=None, run_dir=None) -> str:
    """Claim id and version, the paper reference, every condition (observed, threshold, margin,
    95% interval), the reason when it could not be judged, and the evidence plot."""
    lines = [f"claim {verdict.claim} v{verdict.version} on {verdict.task}: {verdict.status} "
             f"(n={verdict.n} correctly answered samples)"]
    if spec is not None:
        lines.append(f"  paper: {spec.paper}")
        lines.append(f"  says: {spec.summary}")
    if verdict.within_noise:
        lines.append("  within float noise: a run on another machine could give the other verdict")
    if verdict.reason:
        lines.append(f"  reason: {verdict.reason}")
    if verdict.status == "uncertain":
        from ..report.summary import settle_note
        lines.append("  uncertain: a 95% interval straddles its threshold" + settle_note(verdict))
    for c in verdict.conditions:
        mark = {"holds": "ok  ", "fails": "FAIL", "uncertain": "??  "}.get(
            c.status, "ok  " if c.holds else "FAIL")
        lines.append(f"  {mark} {c.name}: {c.statistic} = {c.observed:+.4g} {c.op} {c.threshold:g} "
                     f"-> margin {c.margin:+.4g}, 95% CI [{c.ci[0]:.4g}, {c.ci[1]:.4g}]")
    plot = _evidence_plot(spec, run_dir)
    if plot is not None:
        lines.append(f"  evidence: {plot}")
    return "\n".join(lines)


def assert_claim(verdict, result=None, uncertain: str | None = None, spec=None) -> None:
    """Raise ``ClaimFailed`` unless the verdict passes (holds, or does not apply to the family).
    ``result``: the ``run`` result it came from (adds the paper reference and the plot);
    ``spec``: the claim's spec, if at hand. ``uncertain``: 'fail' or 'allow' (an uncertain
    verdict skips the test with its message under pytest, or returns elsewhere); default: the
    running pytest session's ``--flowcheck-uncertain``, else 'fail'."""
    __tracebackhide__ = True  # pytest shows the message, not flowcheck's frames
    if verdict.passed:
        return
    if uncertain is None:
        from .session import active_policy
        uncertain = active_policy() or "fail"
    if verdict.status == "uncertain" and uncertain == "allow":
        import sys
        if "pytest" in sys.modules:
            import pytest
            pytest.skip(claim_message(verdict))
        return
    if spec is None and result is not None:
        from ..claims.spec import load_claims
        spec = next((s for s in load_claims(_claim_dirs(result)) if s.id == verdict.claim), None)
    raise ClaimFailed(claim_message(verdict, spec, getattr(result, "run_dir", None)))


def _claim_dirs(result) -> list:
    from ..claims.spec import claim_dirs
    return claim_dirs((getattr(result, "meta", None) or {}).get("claims_dir"))
