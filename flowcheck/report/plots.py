"""Paper-style plots: knockout curves (change in p(answer) % vs layer, mean with a 95% CI
band, one panel per task) and logit-lens curves (lower-case vs capitalised answer)."""
from __future__ import annotations

from pathlib import Path

PANELS = {  # file stem -> (title, flows overlaid), as the paper's figure groups
    "knockout_to_last": ("to Last", ("question->last", "image->last", "last->last")),
    "knockout_image_to_question": ("image -> question", ("image->question",)),
    "knockout_patches_to_question": ("patches -> question", ("related->question", "other->question")),
}
COLORS = {"question->last": "tab:blue", "image->last": "tab:orange", "last->last": "tab:green",
          "image->question": "tab:purple", "related->question": "tab:red",
          "other->question": "tab:gray", "lens:lower": "tab:blue", "lens:capitalised": "tab:red"}
LABELS = {"lens:lower": "lower-case answer", "lens:capitalised": "capitalised answer"}
LENS_PANEL = ("logit lens at the last position", ("lens:lower", "lens:capitalised"))


def mean_ci(rows):
    """(mean, half-width of the normal 95% CI) per layer over the rows (NaN rows ignored)."""
    import numpy as np
    rows = rows[~np.isnan(rows).all(axis=1)]
    if len(rows) == 0:
        return None, None
    m = rows.mean(0)
    half = 1.96 * rows.std(0, ddof=1) / np.sqrt(len(rows)) if len(rows) > 1 else np.zeros_like(m)
    return m, half


def _grid(n):
    cols = min(3, n)
    return (n + cols - 1) // cols, cols


def panel_keys(evidence=None) -> dict[str, tuple]:
    """{file stem: curve keys} of every panel (the lens one when the evidence has lens curves,
    or when no evidence is given)."""
    groups = {stem: keys for stem, (_, keys) in PANELS.items()}
    if evidence is None or "lens:lower" in evidence.curves:
        groups["lens"] = LENS_PANEL[1]
    return groups


def plot_panels(evidence, out_dir: Path, model_name: str = "", specs=(),
                family: str | None = None) -> list[Path]:
    """One PNG per panel group (and one for the lens) with a subplot per task type; with the
    claims' ``specs`` and the run's threshold ``family``, each panel also shows what the claims
    read on it (``claim_marks``: layer ranges shaded, thresholds dashed)."""
    try:
        import matplotlib
    except ImportError:
        from ..errors import UsageError
        raise UsageError("the report's plots need matplotlib, which is not installed: pip install "
                         f"matplotlib. The measurements are stored in {str(out_dir)!r}: then run "
                         f"`flowcheck report {out_dir}` (nothing is measured again)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out_dir = Path(out_dir)
    tasks = sorted(set(evidence.tasks.tolist()))
    if not tasks:
        return []
    written = []
    from .claim_marks import condition_marks, draw_marks, legend_handles
    groups = dict(PANELS)
    if "lens:lower" in evidence.curves:
        groups["lens"] = LENS_PANEL
    for stem, (title, keys) in groups.items():
        keys = [k for k in keys if k in evidence.curves]
        if not keys:
            continue
        marks = [m for s in specs for m in condition_marks(s, family, evidence.n_layers, keys)] \
            if family else []
        rows, cols = _grid(len(tasks))
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False,
                                 sharex=True)
        x = np.arange(evidence.n_layers)
        for ax, task in zip(axes.flat, tasks):
            ev = evidence.select(task)
            for k in keys:
                m, half = mean_ci(ev.curves[k] * (100.0 if stem == "lens" else 1.0))
                if m is None:
                    continue
                ax.plot(x, m, color=COLORS[k], label=LABELS.get(k, k), lw=1.6)
                ax.fill_between(x, m - half, m + half, color=COLORS[k], alpha=0.2, lw=0)
            draw_marks(ax, marks, COLORS)
            ax.set_title(f"{task} (n={len(ev.tasks)})", fontsize=10)
            ax.axhline(0, color="black", lw=0.5)
            ax.grid(alpha=0.3)
        for ax in axes.flat[len(tasks):]:
            ax.axis("off")
        for ax in axes[-1]:
            ax.set_xlabel("layer (window centre)" if stem != "lens" else "layer")
        for ax in axes[:, 0]:
            ax.set_ylabel("change in probability (%)" if stem != "lens" else "probability (%)")
        handles = axes.flat[0].get_legend_handles_labels()[0] + (legend_handles() if marks else [])
        axes.flat[0].legend(handles=handles, fontsize=8, loc="lower left" if stem != "lens" else "upper left")
        fig.suptitle(f"{model_name}: {title}", fontsize=11)
        fig.tight_layout()
        path = out_dir / f"{stem}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written
