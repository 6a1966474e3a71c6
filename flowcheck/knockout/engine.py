"""Knockout sweeps: (flow, window) configs -> p(answer) per config, by either engine."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..metrics import relative_change
from ..windows import windows
from .clean import clean_run
from .flows import parse_flow

ENGINES = ("fast", "exact")


@dataclass(frozen=True)
class KnockoutConfig:
    flow: str
    centre: int
    layers: range


@dataclass
class SampleResult:
    """One sample's clean answer and the knockout effect of every config."""

    question_id: str
    task: str
    answer: str
    answer_text: str
    correct: bool
    p_base: float
    configs: list = field(default_factory=list)
    p_knockout: list = field(default_factory=list)

    @property
    def relative_change(self) -> list[float]:
        return [relative_change(p, self.p_base) for p in self.p_knockout]


def plan_configs(flows, n_layers: int, k: int | None = None) -> list[KnockoutConfig]:
    """Every flow x every window centre 0..L-1."""
    names = [parse_flow(f).name for f in flows]
    return [KnockoutConfig(f, c, w) for f in names for c, w in enumerate(windows(n_layers, k))]


def run_sample(handle, sample, configs, engine: str = "fast", only_correct: bool = True) -> SampleResult:
    """Clean run, then the knockouts (skipped for a wrong answer when ``only_correct``)."""
    from .exact import exact_probabilities
    from .fast import fast_probabilities
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    enc = handle.encode(sample)
    clean = clean_run(handle, enc, sample.answer)
    res = SampleResult(sample.row["question_id"], sample.task, sample.answer, clean.answer_text,
                       clean.correct, clean.p_base, list(configs))
    if clean.correct or not only_correct:
        fn = fast_probabilities if engine == "fast" else exact_probabilities
        res.p_knockout = fn(handle, enc, clean, configs)
    return res


@dataclass
class SweepResult:
    """All samples of a sweep; only correctly answered samples count in curves."""

    configs: list
    samples: list  # list[SampleResult]

    @property
    def correct(self) -> list:
        return [s for s in self.samples if s.correct]

    @property
    def n_correct(self) -> int:
        return len(self.correct)

    def curves(self) -> dict:
        """flow -> list over centres of the mean relative change (%); {} when n_correct is 0."""
        import numpy as np
        if not self.correct:
            return {}
        changes = np.array([s.relative_change for s in self.correct])  # (n, configs)
        out: dict = {}
        for j, cfg in enumerate(self.configs):
            out.setdefault(cfg.flow, []).append(float(changes[:, j].mean()))
        return out


def sweep(handle, samples, configs, engine: str = "fast", progress: bool = False) -> SweepResult:
    """Run every config on every sample (knockouts only for correctly answered ones)."""
    it = samples
    if progress:
        from tqdm import tqdm
        it = tqdm(samples, desc=f"knockout ({engine})", unit="sample")
    return SweepResult(list(configs), [run_sample(handle, s, configs, engine) for s in it])
