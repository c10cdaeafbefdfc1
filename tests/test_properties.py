"""Metamorphic and generated-sequence properties (Hypothesis, derandomized so CI is repeatable)."""

from __future__ import annotations

import pytest
from golden_runs import check
from mutation_run import worse

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from bbmcheck.results import Verdict  # noqa: E402
from bbmcheck.sequences.edit import edit  # noqa: E402
from bbmcheck.sequences.load import bundled_models, load_model  # noqa: E402
from bbmcheck.testing.strategies import update_sequences  # noqa: E402
from bbmcheck.verify import Options, verify  # noqa: E402

FLUSH = ["dsb ish", "tlbi vmalls12e1is", "dsb ish"]
MODELS = list(bundled_models())
CI = settings(derandomize=True, deadline=None, max_examples=40, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SCENARIOS = ["ttrem0", "ttrem1", "ttrem2", "coalesce-ipa-tlbi", "free-before-tlbi", "oa-change-no-bbm"]


def signature(result):
    return {f.property: (f.verdict, f.violated_on, f.persisting_on) for f in result.findings}


@pytest.mark.parametrize("name", MODELS)
def test_a_final_full_flush_never_adds_a_finding(name):
    seq = load_model(name)
    flushed = edit(seq, insert={len(seq.program): FLUSH})
    assert worse(verify(seq, Options(vcpus=1)), verify(flushed, Options(vcpus=1))) == ""


@pytest.mark.parametrize("name", MODELS)
def test_renaming_tables_and_moving_the_region_changes_no_verdict(name):
    seq = load_model(name)
    renames = {t.name: f"PT_{t.name}" for t in seq.tables}
    moved = edit(seq, rename=renames, move_root=3, oa_shift=1 << 32)
    assert signature(verify(moved)) == signature(check(name, None))


@pytest.mark.parametrize("name", MODELS)
def test_adding_a_vcpu_never_removes_a_finding(name):
    seq = load_model(name)
    one, two = verify(seq, Options(vcpus=1)), check(name, None)
    for f in one.findings:
        if f.verdict is Verdict.VIOLATED:
            assert set(f.violated_on) <= set(two.finding(f.property).violated_on), f.property


@CI
@given(update_sequences(scenarios=SCENARIOS, max_len=7))
def test_generated_flush_never_adds_a_finding(seq):
    flushed = edit(seq, insert={len(seq.program): FLUSH})
    assert worse(verify(seq, Options(vcpus=1)), verify(flushed, Options(vcpus=1))) == ""


@settings(CI, max_examples=25)
@given(update_sequences(scenarios=SCENARIOS, max_len=5))
def test_generated_symmetry_and_vcpus(seq):
    one = verify(seq, Options(vcpus=1))
    two = verify(seq, Options(vcpus=2, max_states=20_000))
    hypothesis.assume(two.complete)  # keep the suite fast: large generated spaces are skipped
    two_plain = verify(seq, Options(vcpus=2, symmetry=False))
    assert signature(two) == signature(two_plain)
    for f in one.findings:
        if f.verdict is Verdict.VIOLATED:
            assert set(f.violated_on) <= set(two.finding(f.property).violated_on)
        for trace in (f.trace, f.persisting_trace):
            assert trace is None or trace.replayed
