"""Claim specs: strict YAML -> frozen ``ClaimSpec`` (unknown keys and names are errors).

A claim is a list of conditions; each condition computes one statistic from the evidence
(knockout curves or logit-lens curves) and compares it with a threshold written per model
family. The claim holds when every condition holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecError
from ..measure.flows import flow_registry
from ..measure.lens import LENS_VARIANTS
from ..registry import did_you_mean
from .statistics import STATISTICS

LIBRARY = Path(__file__).parent / "library"


# The paper's four main knockout claims: what sensitivity and power tables study by default
MAIN_CLAIMS = ("image_to_question_early", "question_to_last_middle", "image_to_last_small",
               "other_patches_early_related_middle")


def claim_dirs(claims_dir=None) -> list[Path]:
    """The folders claims are read from: the built-in library, then the user's own folder."""
    return [LIBRARY] + ([Path(claims_dir)] if claims_dir else [])


ANALYSES = ("knockout", "lens", "knockout+lens")
OPERATORS = ("<=", ">=")
SPEC_KEYS = {"id", "version", "paper", "summary", "analysis", "flows", "window", "lens_variant",
             "layers", "conditions", "thresholds", "applies_to"}
REQUIRED = {"id", "version", "paper", "summary", "analysis", "layers", "conditions", "thresholds",
            "applies_to"}
CONDITION_KEYS = {"name", "statistic", "args", "op"}
DEFAULT_ROW = "default"  # thresholds row for a family without its own (the project's reading)
ALL_FAMILIES = "all"  # applies_to: all -> every model family


def _unknown(where: str, got, allowed) -> None:
    extra = sorted(set(got) - set(allowed))
    if extra:
        hint = did_you_mean(extra[0], allowed)
        raise SpecError(f"{where}: unknown key {extra[0]!r}{hint}; allowed: {', '.join(sorted(allowed))}")


@dataclass(frozen=True)
class Condition:
    name: str
    statistic: str
    args: tuple  # ((key, value), ...) sorted, hashable
    op: str

    def kwargs(self) -> dict:
        return dict(self.args)


@dataclass(frozen=True)
class ClaimSpec:
    id: str
    version: int
    paper: str
    summary: str
    analysis: str
    flows: tuple[str, ...]
    window: int | None  # None: the model depth's default k
    lens_variant: str | None
    layers: tuple  # ((range name, (lo, hi)), ...) depth fractions
    conditions: tuple[Condition, ...]
    thresholds: tuple  # ((family, ((condition name, value), ...)), ...)
    applies_to: tuple[str, ...]
    source: str = ""

    def layer_range(self, name: str) -> tuple[float, float]:
        return dict(self.layers)[name]

    def applies(self, family: str) -> bool:
        """``applies_to: all`` (every family), or the family is listed."""
        return ALL_FAMILIES in self.applies_to or family in self.applies_to

    def uses_default(self, family: str) -> bool:
        """The family has no thresholds row of its own: the project's ``default`` row is used."""
        table = dict(self.thresholds)
        return family not in table and DEFAULT_ROW in table

    def thresholds_for(self, family: str) -> dict[str, float]:
        """The family's row, else the ``default`` row (not read off the paper for it)."""
        table = dict(self.thresholds)
        row = table.get(family, table.get(DEFAULT_ROW))
        if row is None:
            raise SpecError(f"claim {self.id!r} has no thresholds for model family {family!r}; "
                            f"it has: {', '.join(table)}. Add a 'thresholds: {family}:' block "
                            f"(or a '{DEFAULT_ROW}:' one for every family without its own)")
        return dict(row)


def parse_spec(data: dict, source: str = "<spec>") -> ClaimSpec:
    """Validate one claim's YAML mapping and freeze it."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a claim spec must be a mapping, got {type(data).__name__}")
    _unknown(source, data, SPEC_KEYS)
    missing = sorted(REQUIRED - set(data))
    if missing:
        raise SpecError(f"{source}: missing required key {missing[0]!r} (every claim needs "
                        f"{', '.join(sorted(REQUIRED))})")
    cid = data["id"]
    where = f"{source} (claim {cid!r})"
    _check_shape(data, where)
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SpecError(f"{where}: version must be a positive integer, got {version!r}")
    analysis = data["analysis"]
    if analysis not in ANALYSES:
        raise SpecError(f"{where}: unknown analysis {analysis!r}{did_you_mean(analysis, ANALYSES)}; "
                        f"use one of {', '.join(ANALYSES)}")
    flows = tuple(data.get("flows") or ())
    known_flows = flow_registry()
    for f in flows:
        if f not in known_flows:
            raise SpecError(f"{where}: unknown flow {f!r}{did_you_mean(f, known_flows)}")
    window = data.get("window")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise SpecError(f"{where}: window must be a positive integer or absent, got {window!r}")
    variant = data.get("lens_variant")
    if variant is not None and variant not in LENS_VARIANTS:
        raise SpecError(f"{where}: unknown lens_variant {variant!r}{did_you_mean(variant, LENS_VARIANTS)}")
    layers = {}
    for name, rng in (data["layers"] or {}).items():
        if (not isinstance(rng, (list, tuple)) or len(rng) != 2
                or not all(isinstance(x, (int, float)) and 0 <= x <= 1 for x in rng) or rng[0] > rng[1]):
            raise SpecError(f"{where}: layer range {name!r} must be [lo, hi] depth fractions with "
                            f"0 <= lo <= hi <= 1, got {rng!r}")
        layers[name] = (float(rng[0]), float(rng[1]))
    conditions = tuple(_parse_condition(c, where, layers, flows) for c in data["conditions"] or ())
    if not conditions:
        raise SpecError(f"{where}: a claim needs at least one condition")
    names = [c.name for c in conditions]
    thresholds = []
    for family, values in (data["thresholds"] or {}).items():
        if not isinstance(values, dict):
            raise SpecError(f"{where}: thresholds for {family!r} must map condition -> number")
        _unknown(f"{where} thresholds[{family}]", values, names)
        missing = [n for n in names if n not in values]
        if missing:
            raise SpecError(f"{where}: thresholds for {family!r} miss condition {missing[0]!r}")
        for c in conditions:
            _check_reachable(c, float(values[c.name]), family, where)
        thresholds.append((family, tuple(sorted((n, float(values[n])) for n in names))))
    if not thresholds:
        raise SpecError(f"{where}: thresholds need at least one model family")
    applies_to = data["applies_to"]
    if applies_to == ALL_FAMILIES:
        applies_to = [ALL_FAMILIES]
    if isinstance(applies_to, str) or not applies_to:
        raise SpecError(f"{where}: applies_to must be 'all' or a non-empty list of model families")
    if ALL_FAMILIES in applies_to and DEFAULT_ROW not in dict(thresholds):
        raise SpecError(f"{where}: applies_to: all needs a '{DEFAULT_ROW}:' thresholds row (used for "
                        "every family without its own)")
    unthresholded = [f for f in applies_to if f not in dict(thresholds) and f != ALL_FAMILIES
                     and DEFAULT_ROW not in dict(thresholds)]
    if unthresholded:
        raise SpecError(f"{where}: applies_to lists {unthresholded[0]!r} but thresholds have no "
                        f"block for it; add 'thresholds: {unthresholded[0]}: {{...}}' or drop it "
                        "from applies_to (the claim is then reported 'not applicable' for it)")
    return ClaimSpec(id=str(cid), version=version, paper=str(data["paper"]),
                     summary=str(data["summary"]).strip(), analysis=analysis, flows=flows,
                     window=window, lens_variant=variant, layers=tuple(sorted(layers.items())),
                     conditions=conditions, thresholds=tuple(sorted(thresholds)),
                     applies_to=tuple(applies_to), source=source)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_shape(data: dict, where: str) -> None:
    """The YAML types of every key, before any value is used (a list where a name belongs, a
    string where a mapping belongs ...): one message naming the key and what it must be."""
    def fail(key, must, got):
        raise SpecError(f"{where}: {key} must be {must}, got {got!r}")

    for key in ("id", "paper", "summary", "analysis"):
        if not isinstance(data[key], str) or not data[key].strip():
            fail(key, "a non-empty string", data[key])
    if data.get("lens_variant") is not None and not isinstance(data["lens_variant"], str):
        fail("lens_variant", "a string", data["lens_variant"])
    for key, must in (("flows", "a list of flow names"),
                      ("applies_to", "a non-empty list of model families")):
        value = data.get(key)
        if key == "applies_to" and value == ALL_FAMILIES:
            continue
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            fail(key, must, value)
    for key in ("layers", "thresholds"):
        if data[key] is not None and not isinstance(data[key], dict):
            fail(key, "a mapping", data[key])
    for family, values in (data["thresholds"] or {}).items():
        if not isinstance(values, dict) or not all(_is_number(v) for v in values.values()):
            fail(f"thresholds[{family}]", "a mapping of condition name -> number", values)
    if data["conditions"] is not None and not isinstance(data["conditions"], list):
        fail("conditions", "a list of conditions", data["conditions"])
    for c in data["conditions"] or ():
        if not isinstance(c, dict):
            fail("each condition", "a mapping", c)
        for key in ("name", "statistic", "op"):
            if key in c and not isinstance(c[key], str):
                fail(f"condition {key}", "a string", c[key])
        args = c.get("args")
        if args is not None and (not isinstance(args, dict) or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool)
                or (isinstance(v, list) and all(isinstance(x, str) for x in v)) for v in args.values())):
            fail(f"condition {c.get('name', '?')!r} args", "a mapping of name -> name, number or "
                 "list of names", args)


def _check_reachable(c, threshold: float, family: str, where: str) -> None:
    """Refuse a threshold the statistic can never meet (e.g. max_abs_mean <= -5)."""
    lo, hi = STATISTICS[c.statistic].bounds
    if (c.op == "<=" and threshold < lo) or (c.op == ">=" and threshold > hi):
        raise SpecError(f"{where}: thresholds[{family}][{c.name}] = {threshold:g} can never be met: "
                        f"{c.statistic} {c.op} {threshold:g}, but {c.statistic} lies in "
                        f"[{lo:g}, {hi:g}]")


def _parse_condition(c, where: str, layers: dict, flows: tuple) -> Condition:
    if not isinstance(c, dict):
        raise SpecError(f"{where}: each condition must be a mapping, got {c!r}")
    _unknown(f"{where} condition", c, CONDITION_KEYS)
    for key in ("name", "statistic", "op"):
        if key not in c:
            raise SpecError(f"{where}: condition {c.get('name', '?')!r} misses {key!r}")
    stat = c["statistic"]
    if stat not in STATISTICS:
        raise SpecError(f"{where}: unknown statistic {stat!r}{did_you_mean(stat, STATISTICS)}; "
                        f"known: {', '.join(sorted(STATISTICS))}")
    if c["op"] not in OPERATORS:
        raise SpecError(f"{where}: condition {c['name']!r} op must be one of {OPERATORS}, got {c['op']!r}")
    args = dict(c.get("args") or {})
    try:
        STATISTICS[stat].check_args(args, layers, flows)
    except ValueError as e:
        raise SpecError(f"{where}: condition {c['name']!r}: {e}") from None
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))
    return Condition(name=str(c["name"]), statistic=stat, args=frozen, op=c["op"])


def load_spec(path: Path) -> ClaimSpec:
    import yaml
    path = Path(path)
    from ..paths import read_text
    text = read_text(path, "the claim spec", "a claim spec is YAML text (see `flowcheck ls claims`)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML ({e})") from None
    spec = parse_spec(data, str(path))
    if spec.id != path.stem:
        raise SpecError(f"{path}: claim id {spec.id!r} must match the file name {path.stem!r}")
    return spec


def load_claims(dirs=(LIBRARY,), ids=None) -> list[ClaimSpec]:
    """All claims in ``dirs`` (the library first, then user folders), optionally only ``ids``."""
    specs: dict[str, ClaimSpec] = {}
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise SpecError(f"claims folder {str(d)!r} does not exist; pass a folder of *.yaml specs")
        for path in sorted([*d.glob("*.yaml"), *d.glob("*.yml")]):
            spec = load_spec(path)
            if spec.id in specs:
                raise SpecError(f"{path}: claim id {spec.id!r} is already defined in {specs[spec.id].source}")
            specs[spec.id] = spec
    if ids is None:
        return list(specs.values())
    for i in ids:
        if i not in specs:
            raise SpecError(f"unknown claim {i!r}{did_you_mean(i, specs)}; known: {', '.join(specs)}")
    return [specs[i] for i in ids]


def check_family(family: str, specs) -> str:
    """A threshold family the run can judge with: a registered adapter's, flowcheck's own
    models' ('reference'), or one a claim spec names (a typo would make every claim "not
    applicable" and the gate green with nothing judged)."""
    from ..errors import UsageError
    from ..models.adapters import ADAPTERS
    from ..registry import did_you_mean
    known = {"reference", "generic", *(a.family for a in ADAPTERS.values())}
    known |= {f for spec in specs for f, _ in spec.thresholds}
    known |= {f for spec in specs for f in spec.applies_to}
    known -= {DEFAULT_ROW, ALL_FAMILIES}
    if family not in known:
        raise UsageError(f"unknown threshold family {family!r}{did_you_mean(family, known)}; known: "
                         f"{', '.join(sorted(known))} (leave --family out for the model's own)")
    return family


def unmeasurable(specs, adapter_class, architecture: str) -> dict[str, str]:
    """{claim id: reason} of the claims whose flows the model's adapter cannot measure (the
    generic path has no related/other groups): reported 'not applicable' with the reason."""
    from ..measure.flows import flows_for
    measurable = set(flows_for(adapter_class.group_names()))
    out = {}
    for s in specs:
        missing = sorted(set(s.flows) - measurable)
        if missing:
            out[s.id] = (f"no image layout for {architecture}: related and other patches need a family "
                         f"adapter (the generic path measures image, question and last; this claim "
                         f"needs {', '.join(missing)})")
    return out


def check_applicable(specs, family: str, unmeasured: dict | None = None) -> None:
    """At least one selected claim applies to ``family`` (and can be measured on the model):
    a run that can judge nothing is a usage error, not a green run."""
    if unmeasured and specs and all(s.id in unmeasured for s in specs):
        from ..errors import UsageError
        raise UsageError(f"none of the selected claims can be measured on this model: "
                         f"{next(iter(unmeasured.values()))}; select claims about image, question and "
                         "last")
    if specs and not any(s.applies(family) for s in specs):
        from ..errors import UsageError
        raise UsageError(f"none of the selected claims ({', '.join(s.id for s in specs)}) applies to "
                         f"model family {family!r} (their applies_to: "
                         f"{'; '.join(f'{s.id}: {list(s.applies_to)}' for s in specs)}); select claims "
                         "that apply, or give the claim a thresholds row and applies_to for it")
