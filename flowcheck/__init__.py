"""flowcheck: test the cross-modal information-flow claims of Zhang et al. (CVPR 2025)
against a multimodal model, as pytest assertions with snapshot reports."""

from ._version import __version__

__all__ = ["__version__", "assert_claim", "run"]


def run(model="reference", progress: bool = True, **options):
    """Run the claims on a model and return its ``SuiteResult`` (``.verdicts``, ``.pooled()``,
    ``.verdict(claim, task)``, ``.run_dir``, ``.gate()``). ``options``: the fields of
    ``flowcheck.runs.settings.RunSettings`` (dataset, tasks, claims, claims_dir, max_samples,
    engine, window (or k), out, device, dtype, ...), each checked before anything loads."""
    from .runs.settings import RunSettings
    from .suite import run_suite
    return run_suite(RunSettings.create(model=model, **options), progress=progress)


def assert_claim(*args, **kwargs):
    """``flowcheck.testing.assert_claim`` (imported when used: the package stays light)."""
    from .testing import assert_claim as _assert_claim
    __tracebackhide__ = True
    return _assert_claim(*args, **kwargs)
