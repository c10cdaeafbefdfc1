"""``Machine.successors`` (the search's fused, memoized hot path) is exactly ``actions`` then
``step``: same actions in the same order, same next states, same events in the same order, on
every state a search reaches, with and without evictions, and for a command table whose events read
other vCPUs' TLBs through nested conditions (the memoized dynamic events)."""

from __future__ import annotations

import pytest

from bbmcheck.arch.config import Config
from bbmcheck.engines.explicit import explore
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.system.build import build
from bbmcheck.system.step import machine


def _check(name: str, vcpus: int, evictions: bool, cap: int) -> int:
    seq = load_model(name)
    s = build(seq, Config(level=seq.level), vcpus=vcpus)
    m = machine(s)
    assert m.moves_ok, "every bundled command's moves read only its own vCPU and the global part"
    ex = explore(s, symmetry=False, evictions=evictions, max_states=cap)
    # a fresh machine for the reference, so the memo the search filled is what is checked
    ref = type(m)(s)
    checked = 0
    for st in ex.visited:
        fused = m.successors(st, evictions)
        plain = [(a, *ref.step(st, a)) for a in ref.actions(st, evictions)]
        assert fused == plain, (name, st)
        checked += 1
    return checked


@pytest.mark.parametrize("name", sorted(bundled_models()))
def test_successors_are_actions_then_step(name: str) -> None:
    assert _check(name, 1, True, 2000) > 20
    assert _check(name, 2, False, 2000) > 50
    assert _check(name, 3, True, 800) > 50


def test_the_fused_search_finds_what_the_plain_search_finds() -> None:
    """The search without ``successors`` (a model that has only actions and step) agrees."""
    seq = load_model("ttrem2")
    s = build(seq, Config(level=seq.level), vcpus=2)
    m = machine(s)

    class Plain:
        def __init__(self) -> None:
            self.end = m.end
            self.initial_states, self.actions, self.step = m.initial_states, m.actions, m.step
            self.observe, self.canonical = m.observe, m.canonical

    plain = Plain()
    assert not hasattr(plain, "successors")
    a, b = explore(s), explore(plain)
    assert (a.states, a.transitions, a.visited) == (b.states, b.transitions, b.visited)
    assert {k: (o.depth, o.key, o.action, o.event, o.pcs, o.instr_pcs, o.causes, o.persisting)
            for k, o in a.occurrences.items()} == {
        k: (o.depth, o.key, o.action, o.event, o.pcs, o.instr_pcs, o.causes, o.persisting)
        for k, o in b.occurrences.items()}
