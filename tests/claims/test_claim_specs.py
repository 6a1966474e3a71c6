"""Claim specs: the library parses, bad specs are refused with the key and a fix."""
import subprocess
import sys
import textwrap

import pytest
import yaml

from flowcheck.claims.spec import LIBRARY, SpecError, load_claims, parse_spec

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

DESIGN_IDS = {"image_to_question_early", "image_to_question_two_stage",
              "other_patches_early_related_middle", "question_to_last_middle",
              "image_to_last_small", "last_to_last_negligible", "lowercase_before_capitalised",
              "stage_order"}


def base_spec(**changes):
    data = yaml.safe_load((LIBRARY / "image_to_question_early.yaml").read_text())
    data.update(changes)
    return data


def test_library_holds_the_eight_design_claims_with_one_reference_family():
    specs = load_claims()
    assert {s.id for s in specs} == DESIGN_IDS
    for s in specs:
        assert s.version >= 1 and s.paper and s.summary
        assert set(s.thresholds_for("reference")) == {c.name for c in s.conditions}
        assert s.applies("reference") and not s.uses_default("reference")


def test_specs_are_frozen():
    spec = load_claims(ids=["last_to_last_negligible"])[0]
    with pytest.raises(AttributeError):
        spec.version = 2


@pytest.mark.parametrize("changes, message", [
    ({"windw": 7}, "unknown key 'windw' (did you mean 'window'?)"),
    ({"analysis": "knockot"}, "did you mean 'knockout'?"),
    ({"flows": ["image->questoin"]}, "did you mean 'image->question'?"),
    ({"version": "1"}, "version must be a positive integer, got '1'"),
    ({"window": 0}, "window must be a positive integer"),
    ({"layers": {"lower": [0.5, 0.2]}}, "layer range 'lower' must be [lo, hi]"),
    ({"layers": {"lower": [0.0, 1.5]}}, "0 <= lo <= hi <= 1"),
    ({"applies_to": "reference"}, "applies_to must be a non-empty list"),
    ({"thresholds": {"reference": {}}}, "miss condition 'lower_drop'"),
    ({"thresholds": {"reference": {"lower_drop": -20, "lowr_drop": 1}}}, "did you mean 'lower_drop'?"),
    ({"thresholds": {"reference": {"lower_drop": -150}}},  # p cannot drop below 0: -100%
     "thresholds[reference][lower_drop] = -150 can never be met: min_mean <= -150, but min_mean "
     "lies in [-100, inf]"),
])
def test_bad_spec_is_refused_naming_the_problem(changes, message):
    with pytest.raises(SpecError) as e:
        parse_spec(base_spec(**changes), "my.yaml")
    assert message in str(e.value) and "my.yaml" in str(e.value)


def test_missing_version_is_an_error():
    data = base_spec()
    del data["version"]
    with pytest.raises(SpecError, match="missing required key 'version'"):
        parse_spec(data, "x.yaml")


@pytest.mark.parametrize("condition, message", [
    ({"name": "c", "statistic": "min_maen", "args": {"flow": "image->question", "layers": "lower"},
      "op": "<="}, "did you mean 'min_mean'?"),
    ({"name": "c", "statistic": "min_mean", "args": {"flow": "image->question", "layers": "lower"},
      "op": "<"}, "op must be one of"),
    ({"name": "c", "statistic": "min_mean", "args": {"flow": "image->last", "layers": "lower"},
      "op": "<="}, "not among the claim's flows"),
    ({"name": "c", "statistic": "min_mean", "args": {"flow": "image->question", "layers": "upper"},
      "op": "<="}, "'upper' is not a layer range of the claim"),
    ({"name": "c", "statistic": "min_mean", "args": {"flow": "image->question"}, "op": "<="},
     "missing argument 'layers'"),
    ({"name": "c", "statistic": "min_mean", "arg": {}, "op": "<="},
     "unknown key 'arg' (did you mean 'args'?)"),
])
def test_bad_condition_is_refused(condition, message):
    data = base_spec(conditions=[condition], thresholds={"reference": {"c": 0}})
    with pytest.raises(SpecError) as e:
        parse_spec(data, "c.yaml")
    assert message in str(e.value)


def test_a_family_without_its_own_row_takes_the_default_row_and_says_so():
    spec = load_claims(ids=["last_to_last_negligible"])[0]
    assert spec.applies("idefics3") and spec.uses_default("idefics3")
    assert spec.thresholds_for("idefics3") == dict(dict(spec.thresholds)["default"])
    assert not spec.uses_default("llava")  # read off the paper: its own row


def test_without_a_default_row_an_unknown_family_names_the_known_ones():
    row = {"lower_drop": -20}
    spec = parse_spec(base_spec(thresholds={"llava": row, "reference": row},
                                applies_to=["llava", "reference"]), "c.yaml")
    with pytest.raises(SpecError, match="no thresholds for model family .idefics.*llava, reference"):
        spec.thresholds_for("idefics")
    assert not spec.applies("idefics")


def test_applies_to_all_needs_a_default_row():
    with pytest.raises(SpecError, match="applies_to: all needs a 'default:' thresholds row"):
        parse_spec(base_spec(applies_to="all", thresholds={"llava": {"lower_drop": -20}}), "c.yaml")
    assert parse_spec(base_spec(applies_to="all"), "c.yaml").applies("any_family")


def test_user_folder_adds_claims_and_duplicates_are_refused(tmp_path):
    data = base_spec(id="my_claim")
    (tmp_path / "my_claim.yaml").write_text(yaml.safe_dump(data))
    specs = load_claims([LIBRARY, tmp_path])
    assert "my_claim" in {s.id for s in specs}
    dup = tmp_path / "dup"
    dup.mkdir()
    (dup / "stage_order.yaml").write_text((LIBRARY / "stage_order.yaml").read_text())
    with pytest.raises(SpecError, match="already defined"):
        load_claims([LIBRARY, dup])


def test_file_name_must_match_the_id_and_unknown_ids_suggest(tmp_path):
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(base_spec()))
    with pytest.raises(SpecError, match="must match the file name 'other'"):
        load_claims([tmp_path])
    with pytest.raises(SpecError, match="did you mean 'stage_order'"):
        load_claims(ids=["stage_ordr"])
    with pytest.raises(SpecError, match="does not exist"):
        load_claims([tmp_path / "nope"])


def test_claims_import_neither_torch_nor_transformers():
    code = textwrap.dedent("""
        import sys
        from flowcheck.claims.spec import load_claims
        from flowcheck.claims import judge
        load_claims()
        print(sorted(m for m in ("torch", "transformers") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_folder_reads_yml_files_too(tmp_path):
    (tmp_path / "my_claim.yml").write_text(yaml.safe_dump(base_spec(id="my_claim")))
    assert "my_claim" in {s.id for s in load_claims([LIBRARY, tmp_path])}


def test_applies_to_needs_thresholds_for_each_family():
    data = base_spec(thresholds={"reference": {"lower_drop": -20}}, applies_to=["reference", "llava_next"])
    with pytest.raises(SpecError, match="applies_to lists 'llava_next' but thresholds have no block"):
        parse_spec(data, "c.yaml")
