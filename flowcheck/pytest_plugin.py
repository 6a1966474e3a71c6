"""pytest plugin (thin): ``--flowcheck-*`` options, claim x task parametrisation, one
session run of exactly the selected experiments, header line and verdict summary.

Any test that takes the ``flowcheck_verdict`` fixture is parametrised over the selected
claims x task types (ids like ``image_to_question_early-ChooseAttr``; ``-all`` is the
verdict pooled over tasks). With no such test in the session, ``--flowcheck-model`` (or the
ini key ``flowcheck_collect = true`` that ``flowcheck init`` writes) adds the built-in
claims (and ``--flowcheck-claims-dir``'s) as items ``test_claim[<claim>-<task>]``: no test
file to copy. The experiments run once per session, for the claims and tasks of the
tests left after ``-k``/deselection, through ``flowcheck.suite.run_suite``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .claims.names import POOLED  # light: numpy, PIL and torch load when the claims are used

OPTIONS = {  # option -> (ini key, default, help)
    "model": ("flowcheck_model", "reference",
              "model folder or a shipped model name (reference, paper-route, direct-route)"),
    "dataset": ("flowcheck_dataset", None, "dataset folder (default: the synthetic eval split)"),
    "device": ("flowcheck_device", "cpu", "torch device, e.g. cuda:0"),
    "dtype": ("flowcheck_dtype", "float32", "float32 | float16 | bfloat16"),
    "max_samples": ("flowcheck_max_samples", None, "at most N samples per task type"),
    "tasks": ("flowcheck_tasks", None, "comma-separated task types (default: all six)"),
    "window": ("flowcheck_window", None, "window size k (default: the model depth's)"),
    "report_dir": ("flowcheck_report_dir", "reports/pytest", "run folder for results and report"),
    "claims_dir": ("flowcheck_claims_dir", None, "a folder of extra claim specs"),
    "engine": ("flowcheck_engine", "fast", "fast | exact"),
    "expectations": ("flowcheck_expectations", "flowcheck-expectations",
                     "folder of expectations files, <model>.yaml (written by `flowcheck expect`)"),
    "baselines": ("flowcheck_baselines", "flowcheck-baselines",
                  "folder of verdict baselines, <model>/<claim>-<task>.json (recorded with "
                  "--snapshot-update or --flowcheck-update-baselines)"),
    "collect": ("flowcheck_collect", None, "true: collect the claims as tests without a test file "
                "(implied by --flowcheck-model)"),
    "noise": ("flowcheck_noise", None, "float-noise bound PP[,LENS] of the stored numbers "
              "(default: measured for float32; measure yours with `flowcheck compare --noise`)"),
    "uncertain": ("flowcheck_uncertain", "fail", "fail | allow: an uncertain verdict (its 95 percent "
                  "interval straddles the threshold) fails its test, or is skipped with the reason"),
}
_STATE_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("flowcheck", "flowcheck: cross-modal information-flow claims")
    for name, (ini, default, help_) in OPTIONS.items():
        group.addoption(f"--flowcheck-{name.replace('_', '-')}", dest=f"flowcheck_{name}",
                        default=None, help=f"{help_} (ini: {ini})")
        parser.addini(ini, help=help_, default=default)
    group.addoption("--flowcheck-require-gpu", action="store_true", default=False,
                    help="a GPU runner: tests marked flowcheck_gpu fail, not skip, when no CUDA GPU "
                         "is visible (and the session fails when none is selected)")
    group.addoption("--flowcheck-update-baselines", action="store_true", default=False,
                    help="record the model's verdicts as its baselines (as --snapshot-update does)")


def pytest_configure(config):
    config.addinivalue_line("markers", "flowcheck_gpu(n=1): needs n visible CUDA GPUs (skipped without "
                            "them; failed under --flowcheck-require-gpu)")
    config.stash[_STATE_KEY] = {"result": None, "selected": None, "settings": None}
    run_settings(config)  # a bad value is one usage error now, before collection


def run_settings(config):
    """The session's ``RunSettings``, checked once: a bad value stops pytest with one usage
    error naming the option (not an error in every test)."""
    state = config.stash[_STATE_KEY]
    if state["settings"] is None:
        from .errors import FlowcheckError
        from .runs.settings import RunSettings
        names = ("model", "dataset", "device", "dtype", "max_samples", "tasks", "window",
                 "report_dir", "claims_dir", "engine", "noise", "uncertain")
        try:
            state["settings"] = RunSettings.from_strings({n: setting(config, n) for n in names})
        except FlowcheckError as e:
            raise pytest.UsageError(f"flowcheck: {e}") from None
    return state["settings"]


def setting(config, name: str):
    """Command-line option, else ini key, else default."""
    value = config.getoption(f"flowcheck_{name}")
    if value is None:
        value = config.getini(OPTIONS[name][0])
    return value if value not in ("", None) else None


def _tasks(config) -> list[str]:
    from .data.tasks import TASKS
    return list(run_settings(config).tasks or TASKS)


def _specs(config) -> list:
    """The claims of the session: the library, then ``--flowcheck-claims-dir`` (read once)."""
    state = config.stash[_STATE_KEY]
    if "specs" not in state:
        from .claims.spec import claim_dirs, load_claims
        state["specs"] = load_claims(claim_dirs(run_settings(config).claims_dir))
    return state["specs"]


def _cases(config) -> list[tuple[str, str]]:
    """Every (claim, task) of the session's claims: tasks + pooled."""
    return [(s.id, t) for s in _specs(config) for t in [*_tasks(config), POOLED]]


def pytest_generate_tests(metafunc):
    if "flowcheck_verdict" not in metafunc.fixturenames:
        return
    params = _cases(metafunc.config)
    metafunc.parametrize("flowcheck_case", params, ids=[f"{c}-{t}" for c, t in params],
                         indirect=False)


class ClaimItem(pytest.Item):
    """One built-in claim on one task, collected without a test file."""

    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self):
        from .testing import assert_claim
        result = _session_result(self.config)
        assert_claim(_verdict(result, *self.case), result,
                     uncertain=run_settings(self.config).uncertain)

    def repr_failure(self, excinfo, style=None):
        from .testing import ClaimFailed
        if isinstance(excinfo.value, ClaimFailed):
            return str(excinfo.value)  # the verdict says it all; no traceback into flowcheck
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"claim {self.case[0]} on {self.case[1]}"


class BaselineItem(ClaimItem):
    """One (claim, task) verdict against the model's recorded baseline (``flowcheck.testing.baselines``):
    float noise never fails it, a moved verdict does, a changed claim says so."""

    def runtest(self):
        from .testing import ClaimFailed, baselines
        result = _session_result(self.config)
        verdict = _verdict(result, *self.case)
        folder, model = _baselines_folder(self.config), run_settings(self.config).model
        if _updating(self.config):
            baselines.record(folder, model, verdict)
            return
        found = baselines.check(folder, model, verdict)
        if not found.ok:
            raise ClaimFailed(found.message(model))

    def reportinfo(self):
        return self.path, None, f"baseline of {self.case[0]} on {self.case[1]}"


def _baselines_folder(config) -> Path:
    return Path(config.rootpath) / setting(config, "baselines")


def _updating(config) -> bool:
    return bool(config.getoption("flowcheck_update_baselines")
                or getattr(config.option, "update_snapshots", False))


def _has_baselines(config) -> bool:
    """Baseline items are collected when recording, or when the model has baselines."""
    from .testing.baselines import model_folder
    if _updating(config):
        return True
    return model_folder(_baselines_folder(config), run_settings(config).model).is_dir()


class BuiltinClaims(pytest.Collector):
    """The claims as a collector of their own (node ids ``flowcheck::test_claim[...]``); the
    model's expected findings are strict expected failures. With baselines (recorded or being
    recorded) also ``flowcheck::test_baseline[...]`` per case."""

    def collect(self):
        items = []
        for c, t in _cases(self.config):
            item = ClaimItem.from_parent(self, name=f"test_claim[{c}-{t}]", case=(c, t))
            entry = _expectation(self.config, c, t)
            if entry:
                item.add_marker(pytest.mark.xfail(strict=True, reason=entry["reason"]))
            items.append(item)
        if _has_baselines(self.config):
            items += [BaselineItem.from_parent(self, name=f"test_baseline[{c}-{t}]", case=(c, t))
                      for c, t in _cases(self.config)]
        return items


def _expectation(config, claim: str, task: str) -> dict | None:
    """The model's expectations-file entry for a case of the current claim version, or None."""
    from .testing.expectations import expected, load, path_for
    state = config.stash[_STATE_KEY]
    if "expectations" not in state:
        folder = Path(config.rootpath) / setting(config, "expectations")
        state["expectations"] = load(path_for(folder, run_settings(config).model))
    version = next((s.version for s in _specs(config) if s.id == claim), 0)
    return expected(state["expectations"], claim, version, task)


@pytest.fixture
def flowcheck_expectation(request, flowcheck_case):
    """This case's entry in the model's expectations file (an expected finding), or None."""
    return _expectation(request.config, *flowcheck_case)


def _collect_builtin(config) -> bool:
    if config.getoption("flowcheck_model") is not None:
        return True
    return str(config.getini("flowcheck_collect")).strip().lower() in ("true", "1", "yes")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Add the claims as items when no collected test asks for ``flowcheck_verdict`` (before
    ``-k`` and markers deselect)."""
    if not _collect_builtin(config):
        return
    if any("flowcheck_verdict" in getattr(item, "fixturenames", ()) for item in items):
        return  # the repository writes its own claim tests
    from _pytest.reports import CollectReport
    collector = BuiltinClaims.from_parent(session, name="flowcheck", nodeid="flowcheck")
    claims = collector.collect()
    items.extend(claims)
    # reported like any collected file, so counts and --collect-only show the claims
    config.hook.pytest_collectreport(report=CollectReport(collector.nodeid, "passed", None, claims))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Remember which (claim, task) cases survived selection: only those are measured."""
    config, items = session.config, session.items
    selected = set()
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is not None and "flowcheck_case" in spec.params:
            selected.add(spec.params["flowcheck_case"])
        if isinstance(item, ClaimItem):
            selected.add(item.case)
    gpu_items = [item for item in items if item.get_closest_marker("flowcheck_gpu")]
    for item in gpu_items:
        missing = _gpus_missing(item.get_closest_marker("flowcheck_gpu"))
        if missing and config.getoption("flowcheck_require_gpu"):
            item.stash[_GPU_MISSING] = f"--flowcheck-require-gpu: {missing}"
        elif missing:
            item.add_marker(pytest.mark.skip(reason=missing))
    if config.getoption("flowcheck_require_gpu") and not gpu_items:
        raise pytest.UsageError("--flowcheck-require-gpu: no test marked flowcheck_gpu was selected; "
                                "run the GPU lane (pytest -m flowcheck_gpu) or drop the switch")
    config.stash[_STATE_KEY]["selected"] = selected


def _gpus_missing(marker) -> str:
    """Why a flowcheck_gpu test cannot run here ('' when it can)."""
    import torch
    need = int(marker.kwargs.get("n", marker.args[0] if marker.args else 1))
    have = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if have >= need:
        return ""
    return (f"needs {need} CUDA GPU{'s' if need > 1 else ''}, {have} visible (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'none'})")


_GPU_MISSING = pytest.StashKey[str]()


def pytest_runtest_setup(item):
    """A GPU runner without a visible GPU fails every GPU test loudly, before its fixtures."""
    missing = item.stash.get(_GPU_MISSING, "")
    if missing:
        pytest.fail(missing, pytrace=False)


def pytest_report_header(config):
    return (f"flowcheck: model={setting(config, 'model')} dataset="
            f"{setting(config, 'dataset') or 'synthetic-eval'} device={setting(config, 'device')} "
            f"max_samples={setting(config, 'max_samples') or 'all'}")


@pytest.fixture(scope="session")
def flowcheck_result(request):
    """The session's SuiteResult: experiments for the selected cases, run once."""
    return _session_result(request.config)


def _session_result(cfg):
    state = cfg.stash[_STATE_KEY]
    if state["result"] is None:
        from .suite import run_suite
        cases = state["selected"] or set()
        claims = sorted({c for c, _ in cases}) or None
        tasks = sorted({t for _, t in cases if t != POOLED}) or _tasks(cfg)
        if any(t == POOLED for _, t in cases):
            tasks = _tasks(cfg)  # the pooled verdict needs every task
        state["result"] = run_suite(progress=True, **run_settings(cfg).run_kwargs(tasks, claims))
    return state["result"]


@pytest.fixture
def flowcheck_verdict(flowcheck_result, flowcheck_case):
    """The Verdict of this test's (claim, task)."""
    return _verdict(flowcheck_result, *flowcheck_case)


def _verdict(result, claim: str, task: str):
    for v in result.verdicts:
        if v.claim == claim and v.task == task:
            if v.status == "not applicable":
                pytest.skip(f"{claim}: {v.reason}")
            return v
    raise LookupError(f"no verdict for {claim!r} on {task!r}; the run measured tasks "
                      f"{sorted(result.counts)}")


def explain(verdict) -> str:
    """The verdict as an assertion message (``flowcheck.testing.claim_message``)."""
    from .testing import claim_message
    return claim_message(verdict)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    result = config.stash.get(_STATE_KEY, {}).get("result")
    if result is None:
        return
    tr = terminalreporter
    tr.section("flowcheck verdicts")
    selected = config.stash[_STATE_KEY]["selected"] or set()
    from .report.flags import flags
    for v in result.verdicts:
        if (v.claim, v.task) in selected:
            margin = "" if v.margin is None else f" margin {v.margin:+.3g}"
            warn = "; ".join(flags(result.counts, v.task))
            tr.write_line(f"{v.status:<12} {v.claim:<36} {v.task:<12} n={v.n:<4}{margin}"
                          + (f"  [{warn}]" if warn else ""))
    tr.write_line(f"report: {result.run_dir / 'report.html'}")
