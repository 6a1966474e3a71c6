"""flowcheck ls: list the claims, the shipped models or the datasets."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_OK, command

EXAMPLES = ["flowcheck ls claims", "flowcheck ls claims --claims-dir my_claims/", "flowcheck ls models",
            "flowcheck ls models --json"]


def add_parser(sub) -> None:
    p = command(sub, "ls", "list claims, models or datasets", EXAMPLES)
    p.add_argument("what", choices=["claims", "models", "datasets"])
    p.add_argument("--claims-dir", type=Path, default=None)
    p.add_argument("--json", action="store_true", help="models: one JSON object (families, models)")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    if args.what == "claims":
        from ..claims.spec import LIBRARY, load_claims
        for s in load_claims([LIBRARY] + ([args.claims_dir] if args.claims_dir else [])):
            print(f"{s.id:<36} v{s.version}  {s.analysis:<13} {s.summary[:70]}")
    elif args.what == "models":
        _models(args.json)
    else:
        from ..paths import FIXTURES
        for path in sorted((FIXTURES / "data").glob("*")):
            if path.is_dir():
                print(f"{path.name:<16} {path}")
    return EXIT_OK


GENERIC_CLASS = "other image-text-to-text models"  # the generic path


def family_table() -> list[dict]:
    """Every supported family, then the generic path: HF class, prompt templates, default
    window k per checkpoint depth, threshold family, token groups, flows, engines, attention
    implementations, and which claims apply (or why not)."""
    from ..claims.spec import LIBRARY, load_claims, unmeasurable
    from ..measure.attention import SUPPORTED
    from ..measure.flows import flows_for
    from ..measure.windows import default_k
    from ..models.adapters import ADAPTERS
    from ..models.adapters.generic import GenericAdapter
    from ..models.fixtures.checkpoints import CHECKPOINTS
    specs = load_claims([LIBRARY])
    out = []
    paper_first = sorted(ADAPTERS.items(), key=lambda item: (item[1].family not in ("llava", "llava_next"),
                                                              item[1].family))
    for architecture, cls in [*paper_first, (GENERIC_CLASS, GenericAdapter)]:
        shapes = [s for s in CHECKPOINTS.values() if s.architecture == architecture]
        missing = unmeasurable(specs, cls, architecture)
        out.append({
            "family": cls.family, "hf_class": architecture, "threshold_family": cls.family,
            "checkpoints": {s.hf_id: {"prompt_template": s.prompt, "layers": s.text_layers,
                                      "default_k": default_k(s.text_layers)} for s in shapes},
            "image_preprocessing": list(cls.preprocess_modes), "token_groups": list(cls.group_names()),
            "flows": list(flows_for(cls.group_names())), "knockout_attention": list(SUPPORTED),
            "engines": ["fast", "exact"] if cls.fast_engine else ["exact"], "note": cls.family_note or None,
            "claims": {s.id: ("not applicable: " + missing[s.id]) if s.id in missing else
                       "applies" if s.applies(cls.family) else "not applicable" for s in specs}})
    return out


def _models(as_json: bool) -> None:
    import json

    from ..models.source import NAMED_MODELS
    from ..paths import FIXTURES
    shipped = {name: str(path) for name, path in NAMED_MODELS.items()}
    for path in sorted((FIXTURES / "models").glob("*")):
        if path.is_dir() and path not in NAMED_MODELS.values():
            shipped[path.name] = str(path)
    from ..models.adapters import CANNOT_MEASURE
    families = family_table()
    if as_json:
        print(json.dumps({"families": families, "refused": CANNOT_MEASURE, "shipped_models": shipped},
                         indent=2))
        return
    print("families (flowcheck run --model FOLDER loads any checkpoint of these):")
    w = max(len(f["family"]) for f in families)
    for f in families:
        ckpts = ", ".join(f"{k} ({v['prompt_template']}, k={v['default_k']})"
                          for k, v in f["checkpoints"].items()) or "- (the checkpoint's own chat template)"
        applies = [c for c, a in f["claims"].items() if a == "applies"]
        print(f"  {f['family']:<{w}} {f['hf_class']:<39} groups: {', '.join(f['token_groups'])}")
        print(f"  {'':<{w}} engines: {', '.join(f['engines'])}; claims that apply: {len(applies)} of "
              f"{len(f['claims'])}" + (f" (not: {', '.join(c for c in f['claims'] if c not in applies)})"
                                       if len(applies) < len(f["claims"]) else ""))
        print(f"  {'':<{w}} checkpoints: {ckpts}")
        if f["note"]:
            print(f"  {'':<{w}} note: {f['note']}")
    print("refused, with the reason:")
    for architecture, reason in CANNOT_MEASURE.items():
        print(f"  {architecture}: {reason}")
    print("shipped models (flowcheck run --model NAME):")
    for name, path in shipped.items():
        print(f"  {name:<16} {path}{'' if Path(path).is_dir() else '  (missing)'}")
