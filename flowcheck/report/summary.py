"""Markdown summary of a run: pooled verdicts, per-task verdict matrix, sample counts."""
from __future__ import annotations

from ..claims.judge import BOOTSTRAP_SEED, N_BOOTSTRAP, POOLED
from .flags import MIN_CORRECT, flag_names, flags, task_counts

MARK = {"holds": "holds", "fails": "FAILS", "uncertain": "UNCERTAIN", "inconclusive": "INCONCLUSIVE",
        "not applicable": "not applicable"}


def settle_note(v, short: bool = False) -> str:
    """How many samples would likely settle an uncertain verdict."""
    if v.status != "uncertain":
        return ""
    if v.samples_needed is None:
        return " (on the threshold)" if short else \
            " (observed on the threshold: more samples alone will not settle it)"
    return f" (n~{v.samples_needed})" if short else \
        f" (about {v.samples_needed} samples would likely settle it)"


def mark(v, short: bool = False) -> str:
    """The verdict word (uncertain: with the samples that would likely settle it), flagged
    when float noise alone could flip it."""
    return (MARK[v.status] + settle_note(v, short)
            + (" (within float noise)" if v.within_noise else ""))


def _num(x, fmt="{:+.3g}") -> str:
    return "-" if x is None else fmt.format(x)


def binding_condition(v) -> str:
    if not v.conditions:
        return v.reason or "-"
    c = v.binding
    return f"{c.name} ({c.statistic} {c.op} {c.threshold:g})"


def _layout_lines(meta: dict) -> list[str]:
    """Samples whose image layout is worth knowing about (run.json ``layout_notes``)."""
    notes, adapter = meta.get("layout_notes") or {}, meta.get("adapter") or {}
    lines = [f"- prompt template: `{adapter['prompt']}`; image preprocessing: `{adapter['preprocess']}`"
             ] if adapter else []
    for name, how in (meta.get("box_painting") or {}).items():
        lines.append(f"- related image tokens: the cells holding a pixel of a question object's box, "
                     f"box painting `{name}`: {how}; a processed pixel belongs to the box when its "
                     "centre maps inside it")
    if notes.get("object_cut_off"):
        lines.append(f"- {len(notes['object_cut_off'])} samples lost their question's object to the "
                     "image preprocessing (no related image token); their related flows are not measured")
    bad = meta.get("non_finite") or {}
    if bad:
        where = "; ".join(f"{q}: " + ", ".join(
            e["what"] + (f" centre {e['centre']}" if "centre" in e else "")
            + (f" layer {e['layer']}" if "layer" in e else "") for e in entries[:3])
            for q, entries in list(bad.items())[:5])
        lines.append(f"- **{len(bad)} samples gave non-finite numbers (overflow or NaN, dtype "
                     f"{meta.get('dtype')}) and are left out of every verdict**: {where}"
                     + (" ..." if len(bad) > 5 else "") + " (all in run.json `non_finite`)")
    texts = _note_texts(adapter.get("family"))
    for name, ids in notes.items():  # the notes an adapter records, in its own words
        if name != "object_cut_off":
            lines.append(f"- {len(ids)} samples {texts.get(name, f'have layout note `{name}`')}")
    return lines


def _note_texts(family) -> dict:
    from ..models.adapters import ADAPTERS
    return next((a.note_texts for a in ADAPTERS.values() if a.family == family), {})


def _accuracy_lines(counts: dict) -> list[str]:
    """Accuracy per task first: a model that stopped answering shows before any verdict."""
    lines = ["", "## Answered correctly (the claims judge only these samples)", "",
             "| task | answered correctly | accuracy | always the most common answer | flag |",
             "|---|---|---|---|---|"]
    for task in [*sorted(counts), POOLED]:
        c = task_counts(counts, task)
        acc = f"{c['n_correct'] / c['n']:.0%}" if c["n"] else "-"
        base = f"{c['majority']:.0%}" if "majority" in c and c["n"] else "-"
        lines.append(f"| {task} | {c['n_correct']}/{c['n']} | {acc} | {base} | "
                     f"{'; '.join(flags(counts, task)) or '-'} |")
    return lines


def _uncertain_count(verdicts) -> str:
    n = sum(v.status == "uncertain" for v in verdicts)
    return f"; {n} uncertain (the interval straddles the threshold)" if n else ""


def _bootstrap_line(meta: dict) -> str:
    b = meta.get("bootstrap") or {}
    return (f"- intervals: bootstrap 95% percentile, {b.get('resamples', N_BOOTSTRAP)} resamples, "
            f"seed {b.get('seed', BOOTSTRAP_SEED)}")


def lens_token_line(rows, shown: int = 6) -> list[str]:
    """What the logit lens measured: the answer tokens (lower / capitalised, each the first
    token of the answer as written after the prompt) of the correctly answered rows, most
    common first. Rows stored before flowcheck recorded them give no line."""
    from collections import Counter
    pairs = Counter(f"'{r['lens_tokens']['lower']}' / '{r['lens_tokens']['capitalised']}'"
                    for r in rows or () if r.get("correct") and r.get("lens_tokens"))
    if not pairs:
        return []
    listed = ", ".join(f"{p} ({n})" for p, n in pairs.most_common(shown))
    more = f", and {len(pairs) - shown} more" if len(pairs) > shown else ""
    return ["", f"Lens tokens (lower / capitalised, as written after the prompt; samples): "
            f"{listed}{more}. Each row's are in results.jsonl `lens_tokens`."]


def _threshold_line(meta: dict, specs) -> list[str]:
    """Which claims judge this family on the project's ``default`` thresholds row."""
    family = meta.get("family")
    default = [s.id for s in specs or () if s.applies(family) and s.uses_default(family)]
    if not default:
        return []
    return [f"- thresholds: the project's default, not read off the paper for `{family}` "
            f"({len(default)} of {len(specs)} claims: {', '.join(default)})"]


def _lora_lines(meta: dict) -> list[str]:
    """The LoRA adapter a run measured, on its base (run.json ``lora``)."""
    lora = meta.get("lora")
    if not lora:
        return []
    return [f"- LoRA adapter `{lora['adapter']}` on `{lora['base']}` (r={lora.get('r')}, alpha="
            f"{lora.get('lora_alpha')}, merged into the weights; adapter weights sha256 "
            f"{lora['weights_sha256']})"]


def _quantization_lines(meta: dict) -> list[str]:
    """The quantisation of the checkpoint a run measured (run.json ``quantization``)."""
    q = meta.get("quantization")
    if not q:
        return []
    kind = q.get("quant_type") or {k: q[k] for k in ("load_in_8bit", "load_in_4bit", "format") if q.get(k)}
    if isinstance(kind, dict) and "default" in kind:  # torchao: the config class name
        kind = kind["default"].get("_type", kind)
    return [f"- quantised: {q.get('quant_method', '?')} {kind} (run.json quantization); float noise "
            "is larger than in float32: compare with a bound measured for it (flowcheck compare --noise)"]


def _unmeasured_lines(meta: dict) -> list[str]:
    """The claims the model cannot be measured for, with the reason (once, not per claim)."""
    missing = meta.get("not_applicable") or {}
    if not missing:
        return []
    reasons = sorted(set(missing.values()))
    return [f"- not measured on this model ({', '.join(sorted(missing))}): {reasons[0]}"
            + (f" (and {len(reasons) - 1} other reasons)" if len(reasons) > 1 else "")]


def render_summary(meta: dict, verdicts, counts: dict, rows=None, specs=None, incomplete: str = "") -> str:
    """The Markdown summary; ``rows`` (the stored rows judged) add the lens tokens measured,
    ``specs`` (the claims judged) say where the thresholds come from."""
    tasks = sorted({v.task for v in verdicts if v.task != POOLED})
    pooled = [v for v in verdicts if v.task == POOLED]
    applicable = [v for v in pooled if v.status != "not applicable"]
    hub = meta.get("hub")
    at = f" @ {hub['commit'][:12]} ({hub['revision']})" if hub else ""
    lines = [f"# flowcheck report: {meta.get('model_name', meta.get('model'))}{at}", ""]
    if meta.get("random_weights"):
        lines += [f"> **random weights: engine check only.** This model is a randomly initialised "
                  f"fixture standing for `{meta['random_weights'].get('stands_for', '?')}`; its "
                  "verdicts test flowcheck's machinery and say nothing about any real model.", ""]
    if incomplete:
        lines += [f"> **{incomplete}.**", ""]
    lines += [
             f"- model family: `{meta.get('family')}`; layers: {meta.get('n_layers')}; "
             f"window k: {meta.get('k')}; engine: {meta.get('engine')}; lens: {meta.get('lens_variant')}",
             f"- dataset: `{meta.get('dataset_name', meta.get('dataset'))}`; samples: "
             f"{sum(c['n'] for c in counts.values())}, answered correctly (used): "
             f"{sum(c['n_correct'] for c in counts.values())}",
             f"- result: {sum(v.status == 'holds' for v in applicable)}/{len(applicable)} claims hold "
             f"(pooled over tasks)" + _uncertain_count(applicable)
             + (f"; {len(pooled) - len(applicable)} not applicable to this family"
                if len(applicable) < len(pooled) else ""),
             *_threshold_line(meta, specs), _bootstrap_line(meta), *_layout_lines(meta),
             *([f"- engine: {meta['engine_note']}"] if meta.get("engine_note") else []),
             *_lora_lines(meta), *_quantization_lines(meta),
             *([f"- family note ({meta['family']}): {meta['family_note']}"]
               if meta.get("family_note") else []),
             *_unmeasured_lines(meta),
             *_accuracy_lines(counts),
             "", "## Verdicts, pooled over task types", "",
             "| claim | verdict | binding condition | observed | margin | 95% CI | n |",
             "|---|---|---|---|---|---|---|"]
    pooled_flags = ", ".join(flag_names(counts, POOLED))
    for v in pooled:
        ci = "-" if v.ci is None else f"[{v.ci[0]:.3g}, {v.ci[1]:.3g}]"
        n = f"{v.n} ({pooled_flags})" if pooled_flags and v.conditions else str(v.n)
        lines.append(f"| {v.claim} | {mark(v)} | {binding_condition(v)} | {_num(v.observed)} "
                     f"| {_num(v.margin)} | {ci} | {n} |")
    if meta.get("lens_variant"):  # a lens claim was judged: say which tokens it followed
        lines += lens_token_line(rows)
    lines += ["", "## Verdict per task type (margin of the binding condition)", "",
              "| claim | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    by = {(v.claim, v.task): v for v in verdicts}
    for claim in dict.fromkeys(v.claim for v in verdicts):
        cells = []
        for t in tasks:
            v = by.get((claim, t))
            cells.append("-" if v is None else f"{mark(v, short=True)} ({_num(v.margin)})"
                         if v.margin is not None else mark(v, short=True))
        lines.append(f"| {claim} | " + " | ".join(cells) + " |")
    lines += ["", "n~N after UNCERTAIN: about N correctly answered samples would likely settle it "
              "(80% power if the effect is what was observed).", "",
              "Margins are signed: positive = the condition holds by that much, negative = it "
              "fails by that much (percent for knockout drops, probability for the lens, depth "
              "fraction for layer positions). A condition holds when its whole 95% interval meets "
              "the threshold, fails when none of it does, and is uncertain when the interval "
              "straddles the threshold; a claim holds when all its conditions hold, fails when "
              "any fails, and is otherwise uncertain (a CI gate fails on uncertain unless told "
              "--uncertain allow). Inconclusive (no usable sample or region) counts as a "
              "failure; \"not applicable\" "
              "(the claim's applies_to does not list the model's family) does not. \"Within float "
              "noise\": float noise of the size measured between runs that should agree "
              "(threads, attention kernel, engine, machine) could flip that verdict. Flags: \"few "
              f"samples\" = fewer than {MIN_CORRECT} correctly answered samples; \"near chance\" = "
              "the model answers the task no better than always giving its most common answer.", ""]
    return "\n".join(lines)


def terminal_lines(result, selected) -> list[str]:
    """The pytest session's verdict lines (the selected cases) and where the report is."""
    lines = []
    for v in result.verdicts:
        if (v.claim, v.task) in selected:
            margin = "" if v.margin is None else f" margin {v.margin:+.3g}"
            warn = "; ".join(flags(result.counts, v.task))
            lines.append(f"{v.status:<12} {v.claim:<36} {v.task:<12} n={v.n:<4}{margin}"
                         + (f"  [{warn}]" if warn else ""))
    return [*lines, f"report: {result.run_dir / 'report.html'}"]
