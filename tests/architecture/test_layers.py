"""The package reads as the pipeline: a stage imports only from earlier stages and the
foundation, and no module takes part in an import cycle (function-level imports included).

    foundation  _version errors registry paths
    1 data      samples: synthetic scenes, the paper's GQA files
    2 models    a model, its family, its token groups (adapters, fixtures)
    3 measure   one sample's numbers: clean run, knockout engines, lens, windows
    4 claims    what is asserted and how a verdict is judged, written and compared
    5 runs      many samples into a run folder: settings, plan, execute, folder, shards
    6 report    one run's report
    7 suite     the pipeline on one page
    8 analysis  stored runs, no model: compare, matrix, sensitivity, power, noise
    9 testing   the gate in pytest (pytest_plugin is its entry-point name)
    10 cli      one module per command
    reference   the model factory: may use any stage; only cli.main imports it
"""
import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

PACKAGE = Path(__file__).parents[2] / "flowcheck"
FOUNDATION = {"flowcheck._version", "flowcheck.errors", "flowcheck.registry", "flowcheck.paths"}
STAGES = {"data": 1, "models": 2, "measure": 3, "claims": 4, "runs": 5, "report": 6, "suite": 7,
          "analysis": 8, "testing": 9, "pytest_plugin": 9, "cli": 10, "__main__": 11, "__init__": 11}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str, path: Path, known) -> set[str]:
    """Every flowcheck module ``name`` imports, at module level or inside a function."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "flowcheck":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "flowcheck"}
    return out - {name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def stage(name: str):
    """(stage number, label) of a module; None for the foundation."""
    if name in FOUNDATION:
        return None
    parts = name.split(".")
    top = "__init__" if len(parts) == 1 else parts[1]
    if top == "reference":
        return "reference"
    return STAGES[top]


def violations(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in edges.items():
        s = stage(src)
        for dst in targets:
            d = stage(dst)
            if d is None or dst == "flowcheck":
                continue
            if d == "reference":
                if src != "flowcheck.cli.main" and s != "reference":
                    bad.append(f"{src} imports {dst}: only flowcheck.cli.main may import reference/")
            elif s == "reference":
                if dst.startswith("flowcheck.cli") and dst != "flowcheck.cli.args":
                    bad.append(f"{src} imports {dst}: reference/ may use cli.args only")
            elif s is None:
                bad.append(f"{src} (foundation) imports {dst}")
            elif d > s:
                bad.append(f"{src} (stage {s}) imports {dst} (stage {d}, a later one)")
    return sorted(bad)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_a_stage_imports_only_earlier_stages_and_the_foundation():
    assert violations(graph()) == []


def test_no_import_cycle():
    edges = graph()
    # a package's __init__ that re-exports its own modules is not a cycle of the code
    edges = {k: {d for d in v if not k.startswith(d + ".")} for k, v in edges.items()}
    assert cycles(edges) == []


@pytest.mark.parametrize("edge, message", [
    (("flowcheck.data.dataset", "flowcheck.runs.folder"), "stage 1) imports flowcheck.runs.folder"),
    (("flowcheck.errors", "flowcheck.data.dataset"), "(foundation) imports"),
    (("flowcheck.suite", "flowcheck.reference.train"), "only flowcheck.cli.main may import"),
])
def test_the_rule_fails_on_a_deliberate_violation(edge, message):
    edges = graph()
    edges[edge[0]] = edges[edge[0]] | {edge[1]}
    assert any(message in v for v in violations(edges))


def test_the_cycle_check_fails_on_a_deliberate_cycle():
    edges = graph()
    edges["flowcheck.measure.lens"] = edges["flowcheck.measure.lens"] | {"flowcheck.measure.clean"}
    edges["flowcheck.measure.clean"] = edges["flowcheck.measure.clean"] | {"flowcheck.measure.lens"}
    assert ["flowcheck.measure.clean", "flowcheck.measure.lens"] in cycles(edges)


def test_the_top_level_is_the_pipeline_and_no_module_is_long():
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(top) <= 6, top
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 350}
    assert long == {}
