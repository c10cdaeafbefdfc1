"""Engine tier: replay, symmetry, evictions, determinism, caps and vacuity."""

from __future__ import annotations

import pytest
from golden_runs import check

from bbmcheck.arch.config import Config
from bbmcheck.replay import ReplayError, replay
from bbmcheck.results import Verdict
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.system import step as step_mod
from bbmcheck.system.build import build
from bbmcheck.system.describe import parse_action_code
from bbmcheck.verify import Options, verify

MODELS = list(bundled_models())


def verdicts(result):
    return {f.property: (f.verdict, f.violated_when, f.persisting, f.persisting_when) for f in result.findings}


@pytest.mark.parametrize("name", MODELS)
def test_symmetry_on_and_off_agree(name):
    on = check(name, None)
    off = check(name, None, symmetry=False)
    assert verdicts(on) == verdicts(off)
    assert on.stats.states < off.stats.states


@pytest.mark.parametrize("name", MODELS)
def test_monotone_caching_loses_nothing(name):
    """Exploring evictions (the full semantics) gives the same verdicts as always-caching: TLB and
    walk-cache contents only enable findings (ARCHITECTURE.md, 'monotone caching')."""
    seq = load_model(name)
    plain = verify(seq, Options(vcpus=1))
    full = verify(seq, Options(vcpus=1, evictions=True))
    assert verdicts(plain) == verdicts(full)
    assert full.stats.states >= plain.stats.states


def test_every_printed_trace_replays_and_reaches_its_finding():
    for name in MODELS:
        result = check(name, None)
        seq = load_model(name)
        system = build(seq, Config(level=seq.level), vcpus=2)
        labels = [c.label() for c in system.choices]
        for f in result.findings:
            for trace in (f.trace, f.persisting_trace):
                if trace is None:
                    continue
                assert trace.replayed
                actions = [parse_action_code(c) for c in trace.path.split()]
                rows = replay(system, labels.index(trace.choices), actions)
                assert any(ev[0] == f.property for ev in rows[-1][3]), (name, f.property)


def test_tampered_trace_is_rejected_with_the_step_named():
    seq = load_model("ttrem1")
    system = build(seq, Config(level=seq.level), vcpus=2)
    trace = check("ttrem1", None).finding("tlb-conflict").trace
    actions = [parse_action_code(c) for c in trace.path.split()]
    # drop the walk that cached the old 2 MiB entry: the conflict no longer happens
    tampered = actions[:1] + actions[2:]
    with pytest.raises(ReplayError) as err:
        replay(system, 1, tampered, expect=("tlb-conflict", 0, 0, "rmrrpw"))
    assert "step" in str(err.value)
    # an action that is not enabled is named by its step number
    with pytest.raises(ReplayError, match="step 1"):
        replay(system, 0, [("s", 0)])


def test_shortest_counterexample_is_shortest():
    """BFS: the reported trace for the seed's window is the 3-step one (store, DSB, walk)."""
    trace = check("ttrem1", None).finding("invalid-window").trace
    assert [s.code for s in trace.steps] == ["u", "u", "w0.1.0"]


def test_state_cap_gives_unknown_not_holds():
    result = verify(load_model("ttrem0"), Options(max_states=50))
    assert not result.complete
    held = [f for f in result.findings if f.verdict is not Verdict.VIOLATED]
    assert held and all(f.verdict is Verdict.UNKNOWN for f in held)
    assert result.exit_code == 3


def test_vacuous_model_is_inconclusive(monkeypatch):
    """If no vCPU can ever walk, nothing can be violated; the witnesses catch it."""
    # no walk ever starts: both the search's successors() and actions() take walk starts from here
    monkeypatch.setattr(step_mod.Machine, "_starts", lambda self, st, v, vc: [])
    result = verify(load_model("ttrem1"))
    assert all(f.verdict is Verdict.HOLDS for f in result.findings)
    assert result.vacuous and result.exit_code == 3


def test_more_vcpus_never_remove_a_finding():
    for name in ("ttrem1", "coalesce-ipa-tlbi", "split-nt"):
        seq = load_model(name)
        one = verify(seq, Options(vcpus=1))
        three = verify(seq, Options(vcpus=3))
        for f in one.findings:
            if f.verdict is Verdict.VIOLATED:
                assert three.finding(f.property).verdict is Verdict.VIOLATED


def test_time_cap_gives_unknown_with_partial_statistics(capsys):
    from bbmcheck.cli import main

    result = verify(load_model("ttrem2"), Options(vcpus=4, timeout=0.3, cutoff=False))
    assert not result.complete and "time cap" in result.stop_reason
    assert result.stats.states > 0 and result.exit_code in (1, 3)
    assert all(f.verdict is not Verdict.HOLDS for f in result.findings)
    code = main(["verify", "ttrem0", "--vcpus", "4", "--no-cutoff", "--timeout", "0.05", "--no-traces"])
    out = capsys.readouterr().out
    assert code == 3 and "INCOMPLETE (time cap of 0.05 s reached)" in out and "UNKNOWN" in out
