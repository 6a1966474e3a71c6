"""The core never imports the reference/control-model factory (``flowcheck.reference``):
importing the CLI, the models, the suite and the pytest plugin, and running a core command,
loads none of it. Checked in a fresh interpreter."""
import subprocess
import sys

import pytest

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

CORE = ["flowcheck.cli.main", "flowcheck.models", "flowcheck.models.handle", "flowcheck.models.loading",
        "flowcheck.models.fixtures.bench_layouts", "flowcheck.models.fixtures.tiny",
        "flowcheck.pytest_plugin", "flowcheck.suite", "flowcheck.runs.execute", "flowcheck.analysis.noise",
        "flowcheck.claims.equivalence", "flowcheck.measure.fast", "flowcheck.measure.exact",
        "flowcheck.report.html"]


def _reference_modules_after(code: str) -> list[str]:
    probe = code + ("\nimport sys\n"
                    "print(sorted(m for m in sys.modules if m.startswith('flowcheck.reference')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return eval(out.stdout.strip().splitlines()[-1])


def test_importing_the_core_loads_no_reference_module():
    assert _reference_modules_after("\n".join(f"import {m}" for m in CORE)) == []


def test_a_core_command_loads_no_reference_module():
    code = "from flowcheck.cli.main import main\nmain(['ls', 'claims'])"
    assert _reference_modules_after(code) == []


def test_the_reference_commands_are_still_there():
    code = ("from flowcheck.cli.main import main\ntry:\n    main(['reference', '-h'])\n"
            "except SystemExit:\n    pass")
    assert "flowcheck.reference.cli" in _reference_modules_after(code)


def test_the_plugins_baselines_work_without_the_test_extras():
    """syrupy is a test extra; the comparison rule the plugin's baselines use is core (it
    imported syrupy at module level, so `pytest --flowcheck-model` in a repository without
    syrupy crashed in every test_baseline item)."""
    code = ("import sys\nsys.modules['syrupy'] = None  # not installed\n"
            "from flowcheck.testing.baselines import check\n"
            "from flowcheck.claims.equivalence import verdict_mismatches\n"
            "print(verdict_mismatches({'status': 'holds', 'version': 2}, {'status': 'holds', 'version': 1}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "claim changed" in out.stdout
