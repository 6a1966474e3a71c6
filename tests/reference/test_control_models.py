"""The shipped control models: size, card, accuracy, and their planted routes measured
directly (whole-model knockouts, attention mass, lens), independent of the claims."""
import pytest

from flowcheck.data import dataset
from flowcheck.paths import CONTROL_MODELS, EVAL_SPLIT
from flowcheck.reference.card import read_card

CONTROLS = {"paper-route": "paper", "direct-route": "direct"}
# Measured shortfalls of the shipped controls, strict expected failures with their numbers
# (issue: ground-truth controls). (model, task or measurement) -> reason.
KNOWN: dict[tuple[str, str], str] = {}


def known(name, key):
    reason = KNOWN.get((name, key))
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@pytest.mark.parametrize("name", CONTROLS)
def test_checkpoint_and_card(name):
    folder = CONTROL_MODELS[name]
    size = (folder / "model.safetensors").stat().st_size
    assert size <= 15 * 2**20, f"{size / 2**20:.1f} MB"
    card = read_card(folder)
    assert card["command"].startswith("flowcheck reference train")
    assert f"--route {CONTROLS[name]}" in card["command"]
    assert card["train_spec"]["route"] == CONTROLS[name]
    assert 0 < card["wall_time_s"] <= 120 * 60
    readme = (folder / "README.md").read_text()
    assert "## Planted route" in readme and "check-route" in readme


@pytest.fixture(scope="module")
def accuracy() -> dict:
    """{control: {task: accuracy}} measured now on the first 30 samples per task."""
    from flowcheck.models.loading import load_model
    from flowcheck.reference.evaluate import accuracy_by_task
    samples = dataset.load(EVAL_SPLIT, max_per_task=30)
    return {n: accuracy_by_task(*load_model(n), samples) for n in CONTROLS}


@pytest.mark.parametrize("name,task", [pytest.param(n, t, marks=known(n, t))
                                       for n in CONTROLS for t in dataset.TASKS])
def test_measured_accuracy_is_at_least_80_percent(accuracy, name, task):
    assert accuracy[name][task] >= 0.80, accuracy[name]


@pytest.mark.parametrize("name", CONTROLS)
def test_accuracy_matches_card_on_30_per_task(accuracy, name):
    card = read_card(CONTROL_MODELS[name])["subset_accuracy"]
    for task in dataset.TASKS:
        assert abs(accuracy[name][task] - card[task]) <= 0.05, (task, accuracy[name][task], card[task])


@pytest.fixture(scope="module")
def measured():
    from flowcheck.models.handle import load_handle
    from flowcheck.reference.route_check import measure_routes
    samples = dataset.load(EVAL_SPLIT, max_per_task=10)
    return {n: measure_routes(load_handle(n, attn_implementation="eager"), samples) for n in CONTROLS}


def _expectations():
    from flowcheck.reference.route_check import EXPECTED
    return [pytest.param(n, m, marks=known(n, m)) for n, route in CONTROLS.items() for m in EXPECTED[route]]


@pytest.mark.parametrize("name,measurement", _expectations())
def test_the_planted_route_is_there(measured, name, measurement):
    from flowcheck.reference.route_check import check_route_measurements
    assert measured[name]["n"] >= 40
    row = {r[0]: r for r in check_route_measurements(CONTROLS[name], measured[name])}[measurement]
    assert row[3], row


def test_the_two_routes_differ_where_they_were_planted(measured):
    """Side by side on the same samples: the paper route keeps the last position's attention
    off the image and needs image->question; the direct route is the other way round."""
    paper, direct = measured["paper-route"], measured["direct-route"]
    assert direct["attn:last->image"] > 3 * paper["attn:last->image"]
    assert direct["ko-acc:image->last"] < paper["ko-acc:image->last"] - 0.25
    assert paper["ko-acc:image->question"] < direct["ko-acc:image->question"] - 0.25


def test_leaks_find_what_one_control_blocked_and_the_other_reads():
    """The leak diagnostic, one plan ('paper') on both controls: paper-route left the image->last
    edges it was trained without (near-zero mass, accurate with the whole plan removed);
    direct-route reads the image from the last position, so the same edges carry mass there
    and removing the paper plan breaks it."""
    from flowcheck.models.handle import load_handle
    from flowcheck.reference.route_check import format_leaks, measure_leaks
    samples = dataset.load(EVAL_SPLIT, max_per_task=3)
    paper, direct = (measure_leaks(load_handle(n, attn_implementation="eager"), samples, "paper")
                     for n in CONTROLS)
    assert paper["n"] == direct["n"] == len(samples)
    assert max(paper["mass"]["image->last"].values()) < 0.01, paper["mass"]["image->last"]
    assert max(direct["mass"]["image->last"].values()) > 0.05, direct["mass"]["image->last"]
    assert paper["acc_removed"] > direct["acc_removed"] + 0.25, (paper, direct)
    assert direct["acc_open"] > direct["acc_removed"] + 0.25, direct
    lines = format_leaks(paper)
    assert lines[0].startswith(f"accuracy on {len(samples)} samples: open ")
    assert any(line.strip().startswith("image->last") and "heaviest L" in line for line in lines)


def test_paper_route_compares_the_options_when_both_are_in_the_scene():
    """ChooseCat questions whose false option is in the scene: a control shaped on the
    annotated object only (the true option) answered them by which option's patches its plan
    let it read (53% with normal attention, 100% with that plan removed, 55% with both
    options' patches readable). Shaped on every named object, it must answer them with normal
    attention and with its whole training plan removed."""
    from flowcheck.models.handle import load_handle
    from flowcheck.reference.route_check import measure_leaks
    handle = load_handle("paper-route", attn_implementation="eager")
    samples = [s for s in dataset.load(EVAL_SPLIT) if s.task == "ChooseCat"
               and s.scene.find(s.row["false option"]) is not None]
    leaks = measure_leaks(handle, samples, "paper")
    assert len(samples) >= 50
    assert leaks["acc_open"] >= 0.8, leaks["acc_open"]
    assert leaks["acc_removed"] >= 0.8, leaks["acc_removed"]
