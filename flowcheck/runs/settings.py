"""Run settings, checked once: the one object a `flowcheck run`, a pytest session and
``flowcheck.run(...)`` measure with.

``RunSettings.create(**values)`` (Python values, as ``flowcheck.run`` takes them) and
``RunSettings.from_strings(values, names)`` (command-line options or ini keys, all strings
or None) check every value before anything loads, so a bad value is one usage error naming
the option as the user typed it, not an error deep in a run. ``flowcheck.suite.run_suite``
takes the object.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import UsageError

DTYPES = ("float32", "float16", "bfloat16")
ATTENTION = ("eager", "sdpa")
DEVICE_MAPS = ("auto",)
PREPROCESS = ("paper", "checkpoint")


@dataclass(frozen=True)
class RunSettings:
    """What one run measures and how (every field checked; defaults are the project's)."""

    model: str = "reference"  # a shipped model name, a model folder, a Hub id or a LoRA adapter folder
    base: str | None = None  # a LoRA adapter's base model; None: its adapter_config.json's
    dataset: str | None = None  # None: the frozen synthetic evaluation split
    tasks: tuple[str, ...] | None = None  # None: all six task types
    claims: tuple[str, ...] | None = None  # None: every claim (library + claims_dir)
    claims_dir: str | None = None
    max_samples: int | None = None  # per task type
    engine: str = "fast"
    window: int | None = None  # knockout window size k; None: the paper's for the depth
    out: str = "reports/latest"  # the run folder
    device: str = "cpu"
    dtype: str = "float32"
    family: str | None = None  # threshold family; None: the model's
    attn: str | None = None  # None: sdpa for the fast engine, eager for the exact one
    threads: int | None = None  # torch CPU threads; None: torch's
    noise: str | None = None  # float-noise bound "PP[,LENS]"; None: measured for the dtype
    prompt: str | None = None  # a template name; None: the checkpoint's
    preprocess: str = "paper"
    allow_pickle: bool = False
    batch_size: int | None = None  # knockout configs per forward; None: the engine's default
    device_map: str | None = None  # 'auto': accelerate spreads the model over the GPUs
    uncertain: str = "fail"  # what the gate does with an uncertain verdict: fail | allow
    shard: str | None = None  # "I/N"; None: the launcher's RANK/WORLD_SIZE, else the whole run

    @classmethod
    def create(cls, names: dict | None = None, **values) -> "RunSettings":
        """Settings from Python values (``k`` is accepted for ``window``); each error names
        the setting as ``names`` maps it (default: the keyword itself)."""
        if "k" in values:
            values["window"] = values.pop("k")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            from ..registry import did_you_mean
            raise UsageError(f"unknown run setting {unknown[0]!r}{did_you_mean(unknown[0], known)}; "
                             f"valid: {', '.join(sorted(known))}")
        names = names or {}
        checked = {k: _CHECKS.get(k, _text)(names.get(k, k), v) for k, v in values.items()}
        return cls(**{k: v for k, v in checked.items() if v is not None})  # None: the default

    @classmethod
    def from_strings(cls, values: dict, prefix: str = "--flowcheck-",
                     options: dict | None = None) -> "RunSettings":
        """Settings from raw text ({name: str or None}; '' and None mean the default); errors
        name the option: ``prefix`` + the name with dashes, or ``options[name]``."""
        options = options or {}
        names = {k: options.get(k, prefix + k.replace("_", "-")) for k in values}
        given = {k: v for k, v in values.items() if v not in ("", None)}
        if "allow_pickle" in given:
            given["allow_pickle"] = str(given["allow_pickle"]).strip().lower() in ("1", "true", "yes")
        return cls.create(names, **given)

    def with_(self, **changes) -> "RunSettings":
        """A copy with ``changes`` (checked like ``create``)."""
        return RunSettings.create(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})



def _positive_int(name: str, value) -> int | None:
    """A count the user gave: a positive integer (0 and negatives are refused, never read as
    'the default')."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    try:
        n = int(str(value).strip())
    except ValueError:
        raise UsageError(f"{name} must be a positive integer, got {value!r}") from None
    if n < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}; leave it out for "
                         "the default")
    return n


def _choice(choices):
    def check(name: str, value):
        if value is None:
            return None
        if value not in choices:
            from ..registry import did_you_mean
            raise UsageError(f"{name} must be one of {', '.join(choices)}, got {value!r}"
                             f"{did_you_mean(value, choices)}")
        return value
    return check


def _text(name: str, value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{name} must be a non-empty text, got {value!r}")
    return value


def _names(name: str, value) -> tuple[str, ...] | None:
    """A comma-separated text or a list of names -> a tuple, blanks dropped."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    out = tuple(str(x).strip() for x in items if str(x).strip())
    if not out:
        raise UsageError(f"{name} names nothing, got {value!r}; leave it out for all")
    return out


def _tasks(name: str, value):
    from ..data.tasks import check_tasks
    names = _names(name, value)
    if names is None:
        return None
    try:
        return tuple(check_tasks(names))
    except (UsageError, ValueError) as e:
        raise UsageError(f"{name}: {e}") from None


def _engine(name: str, value):
    from ..measure.configs import ENGINES
    if value is not None and value not in ENGINES:
        raise UsageError(f"{name}: {ENGINES.unknown(value)}")
    return value


def _noise(name: str, value):
    """'PP' or 'PP,LENS' (text) or a (pp, lens) pair -> the text form, checked."""
    from ..claims.noise import parse_noise
    if value is None:
        return None
    try:
        bound = parse_noise(value)
    except UsageError as e:
        raise UsageError(f"{name}: {e}") from None
    return f"{bound.pp:g},{bound.lens:g}" if not isinstance(value, str) else value


def _uncertain(name: str, value):
    from ..claims.names import UNCERTAIN_POLICIES
    if value is not None and value not in UNCERTAIN_POLICIES:
        raise UsageError(f"{name} must be one of {', '.join(UNCERTAIN_POLICIES)}, got {value!r} "
                         "(fail: an uncertain verdict fails the gate; allow: it is reported but "
                         "does not)")
    return value


def _prompt(name: str, value):
    from ..models.prompts import prompt_names
    return _choice(prompt_names())(name, value)


def _shard(name: str, value):
    if value is None:
        return None
    from .shards import Shard, parse_shard
    if isinstance(value, Shard):
        return f"{value.index}/{value.count}"
    parse_shard(str(value))  # its error names --shard and the form
    return str(value)


def _flag(name: str, value):
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be true or false, got {value!r}")
    return value


_CHECKS = {"max_samples": _positive_int, "window": _positive_int, "threads": _positive_int,
           "batch_size": _positive_int, "dtype": _choice(DTYPES), "attn": _choice(ATTENTION),
           "preprocess": _choice(PREPROCESS), "device_map": _choice(DEVICE_MAPS),
           "engine": _engine, "tasks": _tasks, "claims": _names, "noise": _noise,
           "uncertain": _uncertain, "prompt": _prompt, "shard": _shard, "allow_pickle": _flag}
