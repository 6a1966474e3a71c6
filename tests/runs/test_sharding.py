"""Which samples a process measures: the shard from --shard or the launcher's environment,
and a deal that balances work and gives every sample to exactly one shard."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowcheck.errors import UsageError
from flowcheck.runs.shards import (
    SINGLE,
    Shard,
    deal,
    local_device,
    parse_shard,
    resolve_shard,
    shard_from_env,
)

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def test_explicit_shard_wins_and_is_checked():
    assert parse_shard("1/4") == Shard(1, 4)
    assert resolve_shard("0/2", env={"RANK": "1", "WORLD_SIZE": "2"}) == Shard(0, 2)
    for bad in ("4/4", "-1/2", "1", "a/b", "1/0"):
        with pytest.raises(UsageError, match="--shard must be i/n"):
            parse_shard(bad)


@pytest.mark.parametrize("env, shard", [
    ({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}, Shard(1, 2)),       # torchrun, accelerate
    ({"RANK": "0", "WORLD_SIZE": "1"}, None),                                  # one process
    # a SLURM array is often one job per model: never read, pass --shard $ID/$COUNT instead
    ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, None),
    ({}, None)])
def test_the_launchers_environment_gives_the_shard(env, shard):
    assert shard_from_env(env) == shard
    assert resolve_shard(None, env) == (shard or SINGLE)


def test_a_broken_launcher_environment_is_a_usage_error():
    with pytest.raises(UsageError, match="WORLD_SIZE=2 but RANK"):
        shard_from_env({"WORLD_SIZE": "2"})
    with pytest.raises(UsageError, match="not an integer"):
        shard_from_env({"WORLD_SIZE": "two", "RANK": "0"})


def test_a_bare_cuda_device_under_a_launcher_is_the_local_gpu():
    assert local_device("cuda", {"LOCAL_RANK": "3"}) == "cuda:3"
    assert local_device("cuda:1", {"LOCAL_RANK": "3"}) == "cuda:1"
    assert local_device("cpu", {"LOCAL_RANK": "1"}) == "cpu"
    assert local_device("cuda", {}) == "cuda"


@given(weights=st.dictionaries(st.text(min_size=1, max_size=6), st.floats(0.1, 3000.0),
                               min_size=1, max_size=80),
       count=st.integers(1, 8))
def test_every_sample_goes_to_exactly_one_shard_and_loads_differ_by_at_most_the_heaviest(weights, count):
    out = deal(weights, count)
    assert set(out) == set(weights) and all(0 <= i < count for i in out.values())
    loads = [sum(w for q, w in weights.items() if out[q] == i) for i in range(count)]
    assert max(loads) - min(loads) <= max(weights.values()) + 1e-9
    assert deal(dict(reversed(list(weights.items()))), count) == out  # the same deal on every process


def test_llava_next_lengths_are_balanced_by_tokens_not_by_count():
    # 1.0k to 2.9k tokens: a count split would put 3 long samples on one shard
    weights = {"a": 2900, "b": 2800, "c": 2700, "d": 1000, "e": 1000, "f": 1000}
    out = deal(weights, 2)
    loads = [sum(w for q, w in weights.items() if out[q] == i) for i in range(2)]
    assert abs(loads[0] - loads[1]) <= 1000
