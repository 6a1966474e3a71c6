"""pytest plugin (thin): ``--flowcheck-*`` options, claim x task parametrisation, one
session run of exactly the selected experiments, header line and verdict summary.

Any test that takes the ``flowcheck_verdict`` fixture is parametrised over the selected
claims x task types (ids like ``image_to_question_early-ChooseAttr``; ``-all`` is the
verdict pooled over tasks). With no such test in the session, ``--flowcheck-model`` (or the
ini key ``flowcheck_collect = true`` that ``flowcheck init`` writes) adds the built-in
claims (and ``--flowcheck-claims-dir``'s) as items ``test_claim[<claim>-<task>]``: no test
file to copy. The experiments run once per session, for the claims and tasks of the
tests left after ``-k``/deselection, through ``flowcheck.suite.run_suite``.

The hooks only delegate: the session's state and logic live in ``flowcheck.testing.session``
(``FlowcheckSession``, on the config's stash), testable without pytest.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .testing import session as fc_session  # light: torch, numpy, PIL load when claims run

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
_SESSION = pytest.StashKey[fc_session.FlowcheckSession]()
_GPU_MISSING = pytest.StashKey[str]()
RUN_OPTIONS = ("model", "dataset", "device", "dtype", "max_samples", "tasks", "window", "claims_dir",
               "engine", "noise", "uncertain")  # the RunSettings fields a session can set


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
    """Check every setting once (a bad value is one usage error naming the option, before
    collection) and put the session on the stash."""
    config.addinivalue_line("markers", "flowcheck_gpu(n=1): needs n visible CUDA GPUs (skipped without "
                            "them; failed under --flowcheck-require-gpu)")
    from .errors import FlowcheckError
    from .runs.settings import RunSettings
    values = {n: setting(config, n) for n in RUN_OPTIONS}
    values["out"] = setting(config, "report_dir")
    names = {n: option_name(config, n) for n in RUN_OPTIONS}  # errors name what the user typed
    names["out"] = option_name(config, "report_dir")
    try:
        settings = RunSettings.from_strings(values, options=names)
        collect = _collect_builtin(config)
    except FlowcheckError as e:
        raise pytest.UsageError(f"flowcheck: {e}") from None
    folders = {f"{name}_dir": setting(config, name) for name in ("expectations", "baselines")}
    session = fc_session.FlowcheckSession(
        settings, Path(config.rootpath), collect_builtin=collect,
        **{k: v for k, v in folders.items() if v is not None},  # empty ini key: the default
        updating=bool(config.getoption("flowcheck_update_baselines")
                      or getattr(config.option, "update_snapshots", False)))
    config.stash[_SESSION] = session
    fc_session._ACTIVE.append(session)


def pytest_unconfigure(config):
    session = config.stash.get(_SESSION, None)
    if session in fc_session._ACTIVE:
        fc_session._ACTIVE.remove(session)


def session_of(config) -> fc_session.FlowcheckSession:
    return config.stash[_SESSION]


def setting(config, name: str):
    """Command-line option, else ini key, else default."""
    value = config.getoption(f"flowcheck_{name}")
    if value is None:
        value = config.getini(OPTIONS[name][0])
    return value if value not in ("", None) else None


def option_name(config, name: str) -> str:
    """How the user gave setting ``name``: '--flowcheck-x' on the command line, else the
    ini key (a bad value's message names the place to fix)."""
    if config.getoption(f"flowcheck_{name}") is not None:
        return f"--flowcheck-{name.replace('_', '-')}"
    return f"ini key {OPTIONS[name][0]}"


def _collect_builtin(config) -> bool:
    """Collect the built-in claims: with --flowcheck-model, or ini ``flowcheck_collect`` true."""
    from .errors import UsageError
    if config.getoption("flowcheck_model") is not None:
        return True
    value = str(config.getini("flowcheck_collect") or "").strip().lower()
    if value not in ("true", "1", "yes", "on", "false", "0", "no", "off", ""):
        raise UsageError(f"ini key flowcheck_collect must be true or false, got {value!r}; write "
                         "flowcheck_collect = true to collect the built-in claims")
    return value in ("true", "1", "yes", "on")


def pytest_generate_tests(metafunc):
    if "flowcheck_verdict" not in metafunc.fixturenames:
        return
    params = session_of(metafunc.config).cases()
    metafunc.parametrize("flowcheck_case", params, ids=[f"{c}-{t}" for c, t in params],
                         indirect=False)


class ClaimItem(pytest.Item):
    """One built-in claim on one task, collected without a test file."""

    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self):
        session = session_of(self.config)
        session.check(_verdict(session, *self.case))

    def repr_failure(self, excinfo, style=None):
        from .testing import ClaimFailed
        if isinstance(excinfo.value, ClaimFailed):
            return str(excinfo.value)  # the verdict says it all; no traceback into flowcheck
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"claim {self.case[0]} on {self.case[1]}"


class BaselineItem(ClaimItem):
    """One (claim, task) verdict against the model's recorded baseline (``flowcheck.testing.baselines``):
    float noise never fails it, a verdict moved paired beyond the gate's smallest change does, a
    borderline one passes with a warning, a changed claim says so."""

    def runtest(self):
        from .errors import FlowcheckError
        from .testing import ClaimFailed
        session = session_of(self.config)
        try:
            problem, note = session.check_baseline(_verdict(session, *self.case))
        except FlowcheckError as e:  # an unreadable baseline file: the user's to fix (exit 2)
            pytest.exit(f"flowcheck: {e}", returncode=2)
        if problem:
            raise ClaimFailed(problem)
        if note:  # moved, but not by a change worth a gate: passes, said in the warnings summary
            import warnings
            warnings.warn(f"flowcheck baseline borderline: {note}", UserWarning, stacklevel=1)

    def reportinfo(self):
        return self.path, None, f"baseline of {self.case[0]} on {self.case[1]}"


class BuiltinClaims(pytest.Collector):
    """The claims as a collector of their own (node ids ``flowcheck::test_claim[...]``); the
    model's expected findings are strict expected failures. With baselines (recorded or being
    recorded) also ``flowcheck::test_baseline[...]`` per case."""

    def collect(self):
        session = session_of(self.config)
        items = []
        for c, t in session.cases():
            item = ClaimItem.from_parent(self, name=f"test_claim[{c}-{t}]", case=(c, t))
            entry = session.expectation(c, t)
            if entry:
                item.add_marker(pytest.mark.xfail(strict=True, reason=entry["reason"]))
            items.append(item)
        if session.has_baselines():
            items += [BaselineItem.from_parent(self, name=f"test_baseline[{c}-{t}]", case=(c, t))
                      for c, t in session.cases()]
        return items


@pytest.fixture
def flowcheck_expectation(request, flowcheck_case):
    """This case's entry in the model's expectations file (an expected finding), or None."""
    return session_of(request.config).expectation(*flowcheck_case)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Add the claims as items when no collected test asks for ``flowcheck_verdict`` (before
    ``-k`` and markers deselect)."""
    if not session_of(config).collect_builtin:
        return
    if any("flowcheck_verdict" in getattr(item, "fixturenames", ()) for item in items):
        return  # the repository writes its own claim tests
    from _pytest.reports import CollectReport  # pinned pytest range; tests/testing covers it
    collector = BuiltinClaims.from_parent(session, name="flowcheck", nodeid="flowcheck")
    claims = collector.collect()
    items.extend(claims)
    # reported like any collected file, so counts and --collect-only show the claims
    config.hook.pytest_collectreport(report=CollectReport(collector.nodeid, "passed", None, claims))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Remember which (claim, task) cases survived selection (only those are measured), and
    apply the GPU lane to tests marked flowcheck_gpu."""
    config, items = session.config, session.items
    selected = set()
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is not None and "flowcheck_case" in spec.params:
            selected.add(spec.params["flowcheck_case"])
        if isinstance(item, ClaimItem):
            selected.add(item.case)
    session_of(config).selected = selected
    _apply_gpu_lane(config, items)


def _apply_gpu_lane(config, items) -> None:
    """Skip a flowcheck_gpu test without its GPUs; under --flowcheck-require-gpu, fail it."""
    require = config.getoption("flowcheck_require_gpu")
    gpu_items = [item for item in items if item.get_closest_marker("flowcheck_gpu")]
    for item in gpu_items:
        marker = item.get_closest_marker("flowcheck_gpu")
        missing = fc_session.gpus_missing(int(marker.kwargs.get("n", marker.args[0] if marker.args else 1)))
        if missing and require:
            item.stash[_GPU_MISSING] = f"--flowcheck-require-gpu: {missing}"
        elif missing:
            item.add_marker(pytest.mark.skip(reason=missing))
    if require and not gpu_items:
        raise pytest.UsageError("--flowcheck-require-gpu: no test marked flowcheck_gpu was selected; "
                                "run the GPU lane (pytest -m flowcheck_gpu) or drop the switch")


def pytest_runtest_setup(item):
    """A GPU runner without a visible GPU fails every GPU test loudly, before its fixtures."""
    missing = item.stash.get(_GPU_MISSING, "")
    if missing:
        pytest.fail(missing, pytrace=False)


def pytest_report_header(config):
    """One line of what the claims run on, in a session where flowcheck is in use (an option
    or ini key set); silent in every other pytest session."""
    if not any(setting(config, n) is not None for n in OPTIONS if n not in ("expectations", "baselines")):
        return None
    s = session_of(config).settings
    return (f"flowcheck: model={s.model} dataset={s.dataset or 'synthetic-eval'} device={s.device} "
            f"max_samples={s.max_samples or 'all'}")


@pytest.fixture(scope="session")
def flowcheck_session(request) -> fc_session.FlowcheckSession:
    """The session's flowcheck state: ``.settings`` (the checked RunSettings), ``.cases()``."""
    return session_of(request.config)


@pytest.fixture(scope="session")
def flowcheck_result(request):
    """The session's SuiteResult: experiments for the selected cases, run once."""
    return _result(session_of(request.config))


def _result(session):
    """The session's run; an error in the user's model, data or files stops the session
    (exit 2) instead of becoming one failure - or one expected failure - per test."""
    from .errors import FlowcheckError
    try:
        return session.result()
    except FlowcheckError as e:
        pytest.exit(f"flowcheck: {e}", returncode=2)


@pytest.fixture
def flowcheck_verdict(request, flowcheck_case):
    """The Verdict of this test's (claim, task); assert it with ``flowcheck.assert_claim``
    (which follows --flowcheck-uncertain, as the built-in items do)."""
    return _verdict(session_of(request.config), *flowcheck_case)


def _verdict(session, claim: str, task: str):
    verdict = _result(session).verdict(claim, task)
    if verdict.status == "not applicable":
        pytest.skip(f"{claim}: {verdict.reason}")
    return verdict


def explain(verdict) -> str:
    """The verdict as an assertion message (``flowcheck.testing.claim_message``)."""
    from .testing import claim_message
    return claim_message(verdict)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = config.stash.get(_SESSION, None)
    if session is None or session._result is None:
        return
    from .report.summary import terminal_lines
    terminalreporter.section("flowcheck verdicts")
    for line in terminal_lines(session._result, session.selected):
        terminalreporter.write_line(line)
