"""A claim's version means something: editing a library spec without a version bump fails."""
from dataclasses import replace

import pytest

from flowcheck.claims.lock import content_hash, lock_problems, read_lock
from flowcheck.claims.spec import load_claims

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def test_every_library_claim_matches_its_lock():
    problems = lock_problems(load_claims(), read_lock())
    assert not problems, "\n".join(problems)


def test_an_edit_without_a_version_bump_is_caught():
    spec = load_claims(ids=["question_to_last_middle"])[0]
    family, values = spec.thresholds[0]
    edited = replace(spec, thresholds=((family, tuple((n, v + 1) for n, v in values)),) + spec.thresholds[1:])
    [problem] = lock_problems([edited], read_lock())
    v = spec.version
    assert f"content changed but its version is still {v}" in problem and f"set version: {v + 1}" in problem
    bumped = replace(edited, version=v + 1)
    assert "run `flowcheck validate --update-lock`" in lock_problems([bumped], read_lock())[0]


def test_prose_is_not_content():
    spec = load_claims(ids=["stage_order"])[0]
    assert content_hash(replace(spec, summary="reworded", paper="elsewhere")) == content_hash(spec)
    assert content_hash(replace(spec, applies_to=("llava",))) != content_hash(spec)
