"""Soundness evidence: every single-instruction mutant of every correct bundled model is classified
by bbmcheck and by an independent reference (tests/reference_bbm.py); they must agree, and every
surviving mutant must be equivalent for a stated reason. ``python bench/mutation.py`` prints the
table and the kill rate."""

from __future__ import annotations

from mutation_run import run
from reference_bbm import ALL_HOLD


def test_bbmcheck_agrees_with_the_reference_on_every_mutant():
    rows = run()
    live = [r for r in rows if r.killed is not None]
    assert len(live) >= 150
    disagreements = [f"{r.model}: {r.mutant.description}: bbmcheck {r.why or 'survived'}, reference {r.reason}"
                     for r in live if r.killed != r.expected]
    assert not disagreements, "\n".join(disagreements)
    survivors = [r for r in live if not r.killed]
    assert all(r.reason != ALL_HOLD for r in survivors), [r.mutant.description for r in survivors
                                                          if r.reason == ALL_HOLD]
    killed = len(live) - len(survivors)
    print(f"kill rate {killed}/{len(live)} = {killed / len(live):.1%}; {len(survivors)} equivalent survivors")
    # every mutant that breaks a BBM rule is caught
    assert all(r.killed for r in live if r.expected)
    stillborn = [r for r in rows if r.killed is None]
    assert all("never linked" in r.why for r in stillborn)
