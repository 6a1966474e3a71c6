"""flowcheck: test the cross-modal information-flow claims of Zhang et al. (CVPR 2025)
against a multimodal model, as pytest assertions with snapshot reports."""

__version__ = "0.1.0"


def run(model="reference", **options):
    """Run the claims on a model and return its ``SuiteResult`` (``.verdicts``, ``.pooled()``,
    ``.run_dir``, ``.all_hold``). ``options``: those of ``flowcheck.suite.run_suite`` (dataset,
    tasks, claims, claims_dir, max_samples, engine, k, out, device, dtype, ...)."""
    from .suite import run_suite
    return run_suite(model=model, **options)
