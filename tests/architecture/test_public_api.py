"""The public Python API: flowcheck.run(...) and flowcheck.testing.assert_claim."""
import pytest

import flowcheck
from flowcheck.testing import ClaimFailed, assert_claim


def test_run_returns_verdicts_and_assert_claim_explains_a_failure(tmp_path):
    result = flowcheck.run("reference", claims=["question_to_last_middle", "last_to_last_negligible"],
                           tasks=["ChooseAttr"], max_samples=4, out=tmp_path / "run", progress=False)
    pooled = {v.claim: v for v in result.pooled()}
    assert set(pooled) == {"question_to_last_middle", "last_to_last_negligible"}
    failing = [v for v in result.verdicts if not v.passed]
    assert failing  # question_to_last_middle fails on the reference model's ChooseAttr samples
    with pytest.raises(ClaimFailed) as e:
        assert_claim(failing[0], result)
    message = str(e.value)
    assert message.startswith(f"claim {failing[0].claim} v{failing[0].version} on {failing[0].task}: fails")
    assert "paper: Zhang et al. 2025" in message and "95% CI" in message and "-> margin" in message
    assert "evidence: " in message and message.rstrip().endswith(".png")
    assert isinstance(e.value, AssertionError)
    print("\n" + message)
