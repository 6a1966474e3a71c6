"""One registry for every named kind: one error with the kind, a suggestion and the list."""
import pytest

from flowcheck.claims.statistics import STATISTICS
from flowcheck.data.questions import TASK_TYPES
from flowcheck.errors import UsageError
from flowcheck.measure.configs import ENGINES
from flowcheck.measure.flows import flow_registry
from flowcheck.measure.lens import LENS_VARIANTS
from flowcheck.models.adapters import ADAPTERS
from flowcheck.registry import Registry, UnknownNameError

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


@pytest.mark.parametrize("registry, typo, suggestion", [
    (flow_registry(), "image->lats", "image->last"), (ENGINES, "fats", "fast"),
    (LENS_VARIANTS, "norm", "normed"), (STATISTICS, "min_men", "min_mean"),
    (TASK_TYPES, "ChoseAttr", "ChooseAttr"),
    (ADAPTERS, "LlavaForConditionalGen", "LlavaForConditionalGeneration"),
])
def test_an_unknown_name_says_the_kind_the_closest_name_and_the_valid_ones(registry, typo, suggestion):
    with pytest.raises(UnknownNameError) as e:
        registry[typo]
    text = str(e.value)
    assert text.startswith(f"unknown {registry.kind} {typo!r} (did you mean {suggestion!r}?)")
    assert all(name in text for name in registry)
    assert isinstance(e.value, UsageError) and isinstance(e.value, KeyError)


def test_a_registry_reads_like_the_dict_it_replaced():
    reg = Registry("colour", {"red": 1, "green": 2})
    assert list(reg) == ["red", "green"] and "red" in reg and reg["green"] == 2 and len(reg) == 2
    assert reg.check(["red"]) == ["red"] and reg.names() == ("red", "green")

    @reg.register("blue")
    def blue():
        return 3
    assert reg["blue"]() == 3
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("red", 9)
    with pytest.raises(UsageError, match="valid colours: red, green, blue"):
        reg.check(["red", "purple"])
