"""Expected findings per model, as data (``flowcheck expect RUN_DIR``).

A model's expectations file lists the (claim, task) cases it is known not to pass, each
with the claim's version, the verdict, the measured reason and the run it was measured in.
The pytest plugin turns them into strict expected failures: a case that starts to hold is
reported (XPASS fails the session), so a file never hides a change. A case whose claim
version has changed since is not expected any more (the claim is not the one measured).
"""
from __future__ import annotations

from pathlib import Path

from ..errors import NotFoundError, SpecError


def reason(verdict) -> str:
    """'condition: statistic = observed, needs op threshold' of the binding condition."""
    if not verdict.conditions:
        return verdict.reason or verdict.status
    c = verdict.binding
    ci = (f", 95% interval [{round(c.ci[0], 3):g}, {round(c.ci[1], 3):g}]"
          if verdict.status == "uncertain" else "")
    return f"{c.name}: {c.statistic} = {round(c.observed, 3):g}{ci}, needs {c.op} {c.threshold:g}"


def from_run(run_dir: Path) -> dict:
    """The expectations a run's verdicts give: every case that does not pass."""
    from ..errors import RunFolderError
    from ..runs.stored import load_run
    run = load_run(Path(run_dir))
    if run.incomplete:
        raise RunFolderError(f"{run_dir}: {run.incomplete}; expectations are written from a "
                             "complete run only")
    verdicts = run.judge()
    return {"model": run.meta.get("model_name"), "weights": run.meta.get("weights"),
            "run": str(run_dir), "flowcheck_version": run.meta.get("flowcheck_version"),
            "expected": [{"claim": v.claim, "version": v.version, "task": v.task, "verdict": v.status,
                          "reason": reason(v)} for v in verdicts if not v.passed]}


def write(data: dict, path: Path) -> Path:
    import yaml
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Written by `flowcheck expect`; edit by re-running it, not by hand.\n"
                    + yaml.safe_dump(data, sort_keys=False, width=100))
    return path


def path_for(folder: Path, model: str) -> Path:
    """A model's expectations file in ``folder``: named after the model (a folder's name)."""
    return Path(folder) / f"{Path(str(model).rstrip('/')).name}.yaml"


def load(path: Path, claims=None, tasks=None) -> dict:
    """{(claim, task): entry} of an expectations file ({} when there is none), every entry
    checked (claim ids and tasks against ``claims``/``tasks`` when given); the file's
    ``model`` and ``weights`` are under the key ``None``."""
    import yaml
    path = Path(path)
    if not path.exists():
        return {}
    from ..paths import read_text
    text = read_text(path, "the expectations file",
                     f"re-write it with `flowcheck expect RUN_DIR --out {path}`")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML ({str(e).splitlines()[0]}); re-write it with "
                        "`flowcheck expect RUN_DIR --out {path}`") from None
    entries = data.get("expected") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SpecError(f"{path}: not an expectations file (an 'expected' list of entries with "
                        "claim, version, task, reason); write it with `flowcheck expect RUN_DIR`")
    table = {None: {"model": data.get("model"), "weights": data.get("weights")}}
    for i, e in enumerate(entries, 1):
        where = f"{path}: entry {i}"
        if not isinstance(e, dict) or not {"claim", "task", "version", "reason"} <= set(e):
            raise SpecError(f"{where} needs claim, version, task and reason, got {e!r}; re-write "
                            "the file with `flowcheck expect RUN_DIR`")
        if isinstance(e["version"], bool) or not isinstance(e["version"], int):
            raise SpecError(f"{where}: version must be an integer, got {e['version']!r}")
        if claims is not None and e["claim"] not in claims:
            raise SpecError(f"{where}: unknown claim {e['claim']!r}; known: {', '.join(claims)}")
        if tasks is not None and e["task"] not in tasks:
            raise SpecError(f"{where}: unknown task {e['task']!r}; known: {', '.join(tasks)}")
        table[(e["claim"], e["task"])] = e
    return table


def check_owner(table: dict, path: Path, model: str, weights: str | None = None) -> None:
    """The file was written for this model (its name) and, when known, these weights."""
    owner = table.get(None) or {}
    written = owner.get("model")
    if written is not None and Path(str(written).rstrip("/")).name != Path(str(model).rstrip("/")).name:
        raise SpecError(f"{path} was written for model {written!r}, not {model!r}; write this "
                        f"model's with `flowcheck expect RUN_DIR --out {path}`")
    if weights and owner.get("weights") and owner["weights"] != weights:
        raise SpecError(f"{path} was written for weights {owner['weights']} of {written!r}, but this "
                        f"run measured weights {weights}: the model changed since. Re-write it "
                        f"from this run: `flowcheck expect RUN_DIR --out {path}`")


def expected(table: dict, claim: str, version: int, task: str) -> dict | None:
    """The entry of a case, if it is expected for this claim version."""
    entry = table.get((claim, task)) if claim is not None else None
    return entry if entry is not None and int(entry["version"]) == int(version) else None


def check_run_dir(run_dir: Path) -> Path:
    if not (Path(run_dir) / "run.json").is_file():
        raise NotFoundError(f"{str(run_dir)!r} is not a run folder (no run.json); pass the --out "
                            "folder of a `flowcheck run`")
    return Path(run_dir)
