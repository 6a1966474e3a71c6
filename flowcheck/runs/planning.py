"""Plan a run before it runs: samples, token counts, knockout configs and forward-equivalents
from the config, processor and dataset alone (no weights), and, when asked, a short
calibration on the device that turns them into wall time and peak memory.

Forward-equivalents count work in units of one full forward of the sample:

- exact engine: 1 clean forward + one full forward per knockout config;
- fast engine: 1 clean forward + per config the rows it recomputes (from the flow's first
  destination position to the end) times the layers it runs (from the window's first layer
  to the top), as a fraction of the clean forward's rows x layers. The fast engine's
  prefix cache and packed ->last rows make the real cost close to this; attention's
  quadratic share is ignored.

Every sample is counted as answered correctly (only those get knockouts): an upper bound.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field


@dataclass
class Plan:
    model: str
    family: str
    n_layers: int
    k: int
    flows: tuple[str, ...]
    n_samples: int
    per_task: dict
    tokens: dict  # min / median / max sequence length, image tokens (min / max)
    configs_per_sample: int
    forward_equivalents: dict  # engine -> {"per_sample": mean, "total": sum}
    weights: dict = field(default_factory=dict)  # per question id: fast-engine forward-equivalents
    calibration: dict | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("weights")
        return d


def fast_cost(seq_len: int, question: list[int], n_layers: int, configs) -> float:
    """Forward-equivalents of the fast engine's knockouts of one sample (module doc)."""
    from ..measure.flows import parse_flow
    total = 0.0
    for cfg in configs:
        dst = parse_flow(cfg.flow).dst
        first = seq_len - 1 if dst == "last" else min(question)
        rows = seq_len - first
        total += rows / seq_len * (n_layers - cfg.layers.start) / n_layers
    return total


def sample_work(fast_fe: float, engine: str, n_configs: int) -> float:
    """Forward-equivalents of one sample on ``engine``: the fast engine's (``sample_costs``),
    or 1 clean + one full forward per config for the exact engine."""
    return fast_fe if engine == "fast" else 1.0 + n_configs


def sample_costs(handle, samples, configs) -> dict:
    """{question_id: (seq_len, n_image, fast-engine forward-equivalents incl. the clean one)}."""
    out = {}
    for s in samples:
        seq, n_image, question = handle.token_layout(s)
        out[s.row["question_id"]] = (seq, n_image, 1.0 + fast_cost(seq, question, handle.n_layers, configs))
    return out


def make_plan(handle, samples, flows, k: int | None, family: str) -> Plan:
    """The plan of measuring ``flows`` with window ``k`` on ``samples`` (no weights needed)."""
    from ..measure.configs import plan_configs
    from ..measure.windows import check_k, default_k
    k = default_k(handle.n_layers) if k is None else check_k(k, handle.n_layers)
    configs = plan_configs(flows, handle.n_layers, k)
    costs = sample_costs(handle, samples, configs)
    seqs = [c[0] for c in costs.values()]
    images = [c[1] for c in costs.values()]
    per_task: dict = {}
    for s in samples:
        per_task[s.task] = per_task.get(s.task, 0) + 1
    fast = [c[2] for c in costs.values()]
    exact = sample_work(0.0, "exact", len(configs))
    return Plan(model=handle.name, family=family, n_layers=handle.n_layers, k=k, flows=tuple(flows),
                n_samples=len(samples), per_task=dict(sorted(per_task.items())),
                tokens={"min": min(seqs), "median": statistics.median(seqs), "max": max(seqs),
                        "image_min": min(images), "image_max": max(images)},
                configs_per_sample=len(configs),
                forward_equivalents={"exact": {"per_sample": exact, "total": exact * len(samples)},
                                     "fast": {"per_sample": sum(fast) / len(fast), "total": sum(fast)}},
                weights={q: c[2] for q, c in costs.items()})


def calibrate(model, samples, plan: Plan, engine: str, n: int, device: str = "cpu",
              dtype: str = "float32", attn: str | None = None, **adapter_options) -> dict:
    """Load the model for real, measure ``n`` samples (nothing stored), and extrapolate the
    whole run's wall time from their forward-equivalents; peak memory of the device."""
    import resource

    import torch

    from ..measure.configs import plan_configs
    from ..models.handle import load_handle
    from .execute import DEFAULT_ATTN, RunPlan, measure_sample, store_key
    handle = load_handle(model, device=device, dtype=dtype, attn_implementation=attn or DEFAULT_ATTN[engine],
                         **adapter_options)
    run_plan = RunPlan(plan.flows, (), plan.k, engine)
    key = store_key(run_plan, handle.n_layers, handle=handle)
    configs = plan_configs(plan.flows, handle.n_layers, plan.k)
    picked = samples[::max(1, len(samples) // n)][:n]  # spread over the tasks
    cuda = torch.device(device).type == "cuda"
    # every sample gets its knockouts, answered correctly or not (the plan counts them all)
    measure_sample(handle, picked[0], run_plan, key, configs, always=True)  # warm-up
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for s in picked:
        measure_sample(handle, s, run_plan, key, configs, always=True)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    units = sum(sample_work(plan.weights[s.row["question_id"]], engine, plan.configs_per_sample)
                for s in picked)
    per_unit = seconds / units
    total_units = plan.forward_equivalents[engine]["total"]
    peak = (torch.cuda.max_memory_allocated() if cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"engine": engine, "device": device, "dtype": dtype, "samples": len(picked),
            "seconds": round(seconds, 3), "seconds_per_forward_equivalent": per_unit,
            "expected_seconds": per_unit * total_units,
            "peak_memory_bytes": int(peak), "peak_memory_of": "GPU (allocated)" if cuda
            else "this process (max resident set)"}


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} hours"


def render_plan(plan: Plan, engine: str) -> str:
    t = plan.tokens
    fe = plan.forward_equivalents
    lines = [f"flowcheck run --dry-run: {plan.model} (family {plan.family}, {plan.n_layers} layers, "
             f"window k = {plan.k}); nothing was loaded but the config, processor and dataset",
             f"samples: {plan.n_samples} ({', '.join(f'{k} {v}' for k, v in plan.per_task.items())})",
             f"tokens per sample: min {t['min']}, median {t['median']:g}, max {t['max']} "
             f"(image tokens {t['image_min']}"
             + (f"-{t['image_max']}" if t['image_max'] != t['image_min'] else "") + ")",
             f"knockout configs per correctly answered sample: {plan.configs_per_sample} "
             f"({len(plan.flows)} flows x {plan.n_layers} window centres)",
             "forward-equivalents (every sample counted as answered correctly: an upper bound):",
             f"  exact engine: {fe['exact']['per_sample']:.0f} per sample, "
             f"{fe['exact']['total']:,.0f} in all",
             f"  fast engine:  {fe['fast']['per_sample']:.1f} per sample, {fe['fast']['total']:,.0f} in all "
             "(rows recomputed x layers run)"]
    c = plan.calibration
    if c is None:
        lines.append("wall time: not calibrated (add --calibrate N to time N samples on the device)")
    else:
        lines.append(f"calibrated on {c['samples']} samples on {c['device']} ({c['dtype']}, {engine} "
                     f"engine): {c['seconds']:.2f} s -> about {_duration(c['expected_seconds'])} for "
                     f"the whole run ({c['expected_seconds'] / 3600:.2f} hours); peak memory "
                     f"{c['peak_memory_bytes'] / 2**30:.2f} GiB ({c['peak_memory_of']})")
    return "\n".join(lines)


def plan_run(settings, calibrate_n: int = 0) -> Plan:
    """What ``run_suite(settings)`` would do, without loading weights (and with
    ``calibrate_n`` > 0: timed on that many samples on the settings' device)."""
    from ..claims.spec import check_family, claim_dirs, load_claims, unmeasurable
    from ..data.dataset import select_samples
    from ..models.handle import load_skeleton_handle
    from ..models.loading import check_device
    from .execute import RunPlan
    s = settings
    specs = load_claims(claim_dirs(s.claims_dir), s.claims)
    run_plan = RunPlan.for_claims(specs, s.window, s.engine)
    check_device(s.device)
    samples = select_samples(s.dataset, s.tasks, s.max_samples)
    handle = load_skeleton_handle(s.model, prompt=s.prompt, preprocess=s.preprocess)
    source = handle.source
    unmeasured = unmeasurable(specs, source.adapter_class, source.architecture)
    run_plan = RunPlan.for_claims([c for c in specs if c.id not in unmeasured], s.window,
                                  s.engine if source.adapter_class.fast_engine else "exact")
    plan = make_plan(handle, samples, run_plan.flows, run_plan.k,
                     check_family(s.family or handle.source.family, specs))
    if calibrate_n:
        plan.calibration = calibrate(s.model, samples, plan, s.engine, calibrate_n, s.device, s.dtype,
                                     s.attn, prompt=s.prompt, preprocess=s.preprocess)
    return plan
