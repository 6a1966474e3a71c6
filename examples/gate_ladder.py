"""How far to trust the gate: an edit ladder on the paper-route control model.

Each edit is applied to ``paper-route`` (the shipped model on which the paper's claims hold)
and saved as a model folder (or run as it is: another thread count, the direct-route control),
measured once on every sample of the frozen evaluation split (120 per task), and compared
with the committed run of the unedited model (``reports/reference/paper-route``) the way
``flowcheck compare`` does, on disjoint draws of N samples per task: the first N per task,
the next N, ... (12 draws of 10, 6 of 20, 2 of 50). A cell says in how many draws the gate
failed. A no-op edit that fails the gate is a false alarm; a breaking edit that passes it
is a miss.

    make gate-ladder          # about 30 minutes on 2 CPU cores; runs are kept in runs/ladder

writes ``reports/reference/gate-ladder.md`` and ``gate-ladder.json`` and the same table into
the README between the ``gate-ladder`` markers.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE_RUN = ROOT / "reports" / "reference" / "paper-route"
SIZES = (10, 20, 50)
PER_TASK = 120  # samples per task in the frozen evaluation split
EDITS = [  # (name, kind, what was done)
    ("bfloat16 round trip", "no-op", "every weight rounded to bfloat16 and back"),
    ("int8 weight-only", "no-op", "torchao int8 weight-only quantisation (a quantised checkpoint, CPU)"),
    ("1 thread", "no-op", "the same model measured on 1 CPU thread (the base: 2)"),
    ("1% noise", "no-op", "language-model weights + Gaussian noise of 1% of each tensor's std"),
    ("10% noise", "mild", "the same at 10%"),
    ("small LoRA", "mild", "a random rank-4 LoRA (alpha 1) on the language model's q/v projections"),
    ("silenced middle attention", "breaking", "attention output of layers 4-7 (of 12) set to zero"),
    ("planted route removed", "breaking", "the direct-route control in place of paper-route"),
]
SHOULD_FAIL = {"no-op": "no", "mild": "arguable", "breaking": "yes"}


def slug(name: str) -> str:
    return name.replace(" ", "-").replace("%", "pct")


def _shipped(name: str) -> Path:
    from flowcheck.models.source import read_source
    return read_source(name).path


def _save(model, processor, out: Path) -> Path:
    """A model folder as ``save_pretrained`` leaves it, with paper-route's flowcheck files."""
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    for f in _shipped("paper-route").iterdir():
        if f.name.startswith("flowcheck_"):
            shutil.copy(f, out / f.name)
    return out


def build(name: str, work: Path) -> tuple[str, list[str]]:
    """(the --model to run, extra run options) for one edit."""
    import torch

    from flowcheck.models.loading import load_model
    folder = work / "models" / slug(name)
    if name == "1 thread":
        return "paper-route", ["--threads", "1"]
    if name == "planted route removed":
        return "direct-route", []
    if name == "int8 weight-only":
        from torchao.quantization import Int8WeightOnlyConfig
        from transformers import TorchAoConfig
        model, processor = load_model("paper-route")
        quantised = type(model).from_pretrained(_shipped("paper-route"), dtype=torch.float32,
                                                quantization_config=TorchAoConfig(Int8WeightOnlyConfig()))
        return str(_save(quantised, processor, folder)), []
    model, processor = load_model("paper-route")
    torch.manual_seed(0)
    if name == "small LoRA":
        from peft import LoraConfig, get_peft_model
        config = LoraConfig(r=4, lora_alpha=1, init_lora_weights=False,
                            target_modules=r".*language_model.*\.(q_proj|v_proj)")
        shutil.rmtree(folder, ignore_errors=True)
        get_peft_model(model, config).save_pretrained(folder)
        data = json.loads((folder / "adapter_config.json").read_text())
        data["base_model_name_or_path"] = "paper-route"
        (folder / "adapter_config.json").write_text(json.dumps(data, indent=1))
        return str(folder), []
    with torch.no_grad():
        if name == "bfloat16 round trip":
            for p in model.parameters():
                p.copy_(p.to(torch.bfloat16).to(p.dtype))
        elif name.endswith("noise"):
            scale = 0.01 if name.startswith("1%") else 0.1
            for p in model.model.language_model.parameters():
                if p.numel() > 1:
                    p.add_(torch.randn_like(p) * p.std() * scale)
        elif name == "silenced middle attention":
            for layer in model.model.language_model.layers[4:8]:
                layer.self_attn.o_proj.weight.zero_()
        else:
            raise ValueError(f"unknown edit {name!r}")
    return str(_save(model, processor, folder)), []


def measure(model: str, out: Path, extra=()) -> Path:
    """``flowcheck run`` on every sample (resumes a run folder left by an earlier call)."""
    proc = subprocess.run([sys.executable, "-m", "flowcheck", "run", "--model", model, "--threads", "2",
                           *extra, "--out", str(out)], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"flowcheck run --model {model} failed:\n{proc.stderr[-3000:]}")
    return out


def draws(question_ids: list[str], n: int) -> list[list[str]]:
    """Disjoint draws of ``n`` samples per task: the first n of each task, the next n, ..."""
    by_task: dict[str, list[str]] = {}
    for q in sorted(question_ids):
        by_task.setdefault(q.rsplit("-", 1)[0], []).append(q)
    count = min(len(v) for v in by_task.values()) // n
    return [[q for v in by_task.values() for q in v[d * n:(d + 1) * n]] for d in range(count)]


def gate(base: Path, edited: Path, n: int) -> dict:
    """The gate on every draw of ``n`` per task: how often it failed, and the changed,
    borderline and moved-curve counts summed over draws."""
    from flowcheck.analysis.compare import changed, compare_runs
    from flowcheck.runs.folder import RunFolder
    ids = RunFolder(base).meta()["question_ids"]
    out = {"draws": 0, "failed": 0, "changed": 0, "borderline": 0, "curves": 0}
    for draw in draws(ids, n):
        result = compare_runs(base, edited, samples=draw)
        out["draws"] += 1
        out["failed"] += changed(result)
        out["changed"] += len(result["flips"])
        out["borderline"] += len(result["borderline"])
        out["curves"] += len(result["curve_changes"])
    return out


def table(rows: list[dict]) -> str:
    """The Markdown table: one row per edit, one column per samples-per-task size."""
    head = ("| edit | kind | should the gate fail? | "
            + " | ".join(f"{n} per task: failed in" for n in SIZES) + " |\n"
            + "|---|---|---|" + "---|" * len(SIZES) + "\n")
    body = ""
    for r in rows:
        cells = []
        for n in SIZES:
            c = r["sizes"][str(n)]
            cells.append(f"{'**' if c['failed'] else ''}{c['failed']} of {c['draws']} draws"
                         f"{'**' if c['failed'] else ''} ({c['changed']} changed, {c['borderline']} "
                         f"borderline, {c['curves']} curves)")
        body += (f"| {r['edit']}: {r['what']} | {r['kind']} | {SHOULD_FAIL[r['kind']]} | "
                 + " | ".join(cells) + " |\n")
    foot = ("\nChanged, borderline and curves are summed over the draws: verdicts counted as changed, "
            "flips judged borderline in both runs (not a change), curves moved beyond tolerance and "
            "interval. Defaults: `--tolerance 5`.\n")
    return head + body + foot


def write_readme(text: str, readme: Path = ROOT / "README.md") -> None:
    start, end = "<!-- gate-ladder: start -->\n", "<!-- gate-ladder: end -->"
    doc = readme.read_text()
    if start in doc and end in doc:
        readme.write_text(doc[:doc.index(start) + len(start)] + text + doc[doc.index(end):])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "ladder")
    p.add_argument("--out", type=Path, default=ROOT / "reports" / "reference")
    p.add_argument("--only", default=None, help="comma-separated edit names (default: all)")
    args = p.parse_args(argv)
    chosen = [e for e in EDITS if args.only is None or e[0] in args.only.split(",")]
    rows = []
    for name, kind, what in chosen:
        model, extra = build(name, args.work)
        edited = measure(model, args.work / "runs" / slug(name), extra)
        sizes = {str(n): gate(BASE_RUN, edited, n) for n in SIZES}
        rows.append({"edit": name, "kind": kind, "what": what, "sizes": sizes})
        print(name, json.dumps(sizes), flush=True)
    if args.only is None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gate-ladder.json").write_text(json.dumps(rows, indent=1) + "\n")
        text = table(rows)
        (args.out / "gate-ladder.md").write_text(text)
        write_readme(text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
