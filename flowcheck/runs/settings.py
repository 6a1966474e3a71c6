"""Run settings, checked once: what a `flowcheck run` or a pytest session measures with.

``RunSettings.from_strings`` takes the raw values (command-line options or ini keys, all
strings or None) and checks every one before anything runs, so a bad value is one usage
error naming the option, not an error in every test. ``run_kwargs()`` is what
``flowcheck.suite.run_suite`` takes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UsageError

DTYPES = ("float32", "float16", "bfloat16")


def _positive_int(name: str, value) -> int | None:
    if value in (None, ""):
        return None
    try:
        n = int(str(value))
    except ValueError:
        raise UsageError(f"{name} must be a positive integer, got {value!r}") from None
    if n < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return n


@dataclass(frozen=True)
class RunSettings:
    model: str = "reference"
    dataset: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    max_samples: int | None = None
    tasks: tuple[str, ...] | None = None
    window: int | None = None
    report_dir: str = "reports/pytest"
    claims_dir: str | None = None
    engine: str = "fast"
    noise: str | None = None
    uncertain: str = "fail"  # what the gate does with an uncertain verdict: fail | allow

    @classmethod
    def from_strings(cls, values: dict, prefix: str = "--flowcheck-") -> "RunSettings":
        """Check raw values ({name: str or None}); errors name the option (``prefix`` + name)."""
        from ..claims.noise import parse_noise
        from ..data.tasks import check_tasks
        from ..measure.configs import ENGINES

        def opt(name):
            return prefix + name.replace("_", "-")

        v = {k: (None if val in ("", None) else str(val)) for k, val in values.items()}
        dtype = v.get("dtype") or "float32"
        if dtype not in DTYPES:
            raise UsageError(f"{opt('dtype')} must be one of {', '.join(DTYPES)}, got {dtype!r}")
        engine = v.get("engine") or "fast"
        if engine not in ENGINES:
            raise UsageError(f"{opt('engine')}: {ENGINES.unknown(engine)}")
        tasks = v.get("tasks")
        tasks = tuple(check_tasks(t.strip() for t in tasks.split(","))) if tasks else None
        if v.get("noise"):
            parse_noise(v["noise"])
        from ..claims.names import UNCERTAIN_POLICIES
        uncertain = v.get("uncertain") or "fail"
        if uncertain not in UNCERTAIN_POLICIES:
            raise UsageError(f"{opt('uncertain')} must be one of {', '.join(UNCERTAIN_POLICIES)}, "
                             f"got {uncertain!r} (fail: an uncertain verdict fails the gate; allow: "
                             "it is reported but does not)")
        return cls(model=v.get("model") or "reference", dataset=v.get("dataset"),
                   device=v.get("device") or "cpu", dtype=dtype,
                   max_samples=_positive_int(opt("max_samples"), v.get("max_samples")),
                   tasks=tasks, window=_positive_int(opt("window"), v.get("window")),
                   report_dir=v.get("report_dir") or "reports/pytest", claims_dir=v.get("claims_dir"),
                   engine=engine, noise=v.get("noise"), uncertain=uncertain)

    def run_kwargs(self, tasks=None, claims=None) -> dict:
        """Keyword arguments of ``run_suite`` (``tasks``/``claims``: a session's selection)."""
        d = asdict(self)
        return dict(model=d["model"], dataset=d["dataset"], tasks=tasks or d["tasks"], claims=claims,
                    claims_dir=d["claims_dir"], max_samples=d["max_samples"], engine=d["engine"],
                    k=d["window"], out=Path(d["report_dir"]), device=d["device"], dtype=d["dtype"],
                    noise=d["noise"])
