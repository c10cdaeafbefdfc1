"""The transition relation is data (system/commands.py) that two interpreters read.

* A variant command table with one made-up rule changes what both engines find, identically:
  ``smt/encode.py`` and ``system/step.py`` make no Arm decision of their own.
* The explicit search is generic over a small ``Model``: on a hand-countable toy model its BFS
  order, state and transition counts and shortest occurrences are the ones worked out by hand.
* Every spec row and cause a command cites is in ``arch.rules``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import pytest
from test_conformance import _disagreements

from bbmcheck.arch.config import Config
from bbmcheck.arch.rules import CAUSES, ROWS
from bbmcheck.engines.explicit import explore
from bbmcheck.sequences.load import load_model
from bbmcheck.smt.bmc import bmc
from bbmcheck.system.build import System, build
from bbmcheck.system.commands import Command, Commands, Emit, FillTlb, Group, build_commands
from bbmcheck.system.state import Action, Event, Kind

BOUND = 9


def _system(name: str, commands: Commands | None = None) -> System:
    seq = load_model(name)
    s = build(seq, Config(level=seq.level))
    if commands is not None:
        s.commands = commands  # both engines read the system's commands (commands_of)
    return s


def _reads(cmds: Commands, change) -> Commands:  # noqa: ANN001
    """``cmds`` with ``change`` applied to every walk-read command."""
    def group(g: Group) -> Group:
        return replace(g, cases=[change(c) for c in g.cases])
    return replace(cmds, walks={k: group(g) for k, g in cmds.walks.items()},
                   steps={k: group(g) for k, g in cmds.steps.items()})


def _found(s: System) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    ex = explore(s, depth_bound=BOUND)
    bm = bmc(s, BOUND, windows=False)
    assert not _disagreements(s.seq.name, ex, bm, windows=False)
    return ({k: o.depth for k, o in ex.occurrences.items()}, {k: o.depth for k, o in bm.occurrences.items()})


def test_a_made_up_event_rule_changes_both_engines() -> None:
    """Made-up rule: reading a valid leaf is nT misuse. ttrem0 has no nT at all."""
    base = _system("ttrem0")
    before, _ = _found(base)
    assert not any(p == "nt-misuse" for p, _ci in before)

    def misuse(c: Command) -> Command:
        if c.what != "read-leaf":
            return c
        return replace(c, events=c.events + (Emit("nt-misuse", "nt-not-block"),))

    variant = _system("ttrem0", _reads(build_commands(base), misuse))
    explicit, smt = _found(variant)
    assert {k for k in explicit if k[0] == "nt-misuse"} == {k for k in smt if k[0] == "nt-misuse"} != set()


def test_a_made_up_effect_rule_changes_both_engines() -> None:
    """Made-up rule: a walk never fills the TLB. Every conflict and stale entry in ttrem1 needs a
    cached leaf, so both engines lose those findings; the invalid window stays."""
    base = _system("ttrem1")
    before, _ = _found(base)
    assert any(p == "tlb-conflict" for p, _ci in before)

    def no_fill(c: Command) -> Command:
        return replace(c, effects=tuple(e for e in c.effects if not isinstance(e, FillTlb)))

    variant = _system("ttrem1", _reads(build_commands(base), no_fill))
    explicit, smt = _found(variant)
    for found in (explicit, smt):
        assert not any(p in ("tlb-conflict", "stale-translation") for p, _ci in found)
        assert any(p == "invalid-window" for p, _ci in found)


@pytest.mark.parametrize("name", ["ttrem1", "coalesce-ipa-tlbi", "free-before-tlbi", "split-nt"])
def test_every_cited_row_and_cause_exists(name: str) -> None:
    s = _system(name)
    cmds = build_commands(s)
    every: list[Command] = [*cmds.updater, *(c for per in cmds.propagate for c in per), *cmds.per_vcpu_order(),
                            *cmds.lookups]
    for c in every:
        assert c.row is None or c.row in ROWS, c
        for e in c.events:
            assert e.cause.startswith("bbm:") or e.cause in CAUSES, e
    assert all(cause.row is None or cause.row in ROWS for cause in CAUSES.values())


# ---- the search on a toy model -------------------------------------------------------------------


class Toy(NamedTuple):
    choice: int
    pc: int
    x: int


class ToyModel:
    """Class 0 or 1; the updater counts pc 0 -> 2; an observer action "a" adds 1 + choice to x
    while x < 3. The event "big" is raised by a step that makes x reach 3 or more."""

    end = 2

    def initial_states(self) -> list[Toy]:
        return [Toy(0, 0, 0), Toy(1, 0, 0)]

    def actions(self, st: Toy, evictions: bool) -> list[Action]:
        out = []
        if st.pc < self.end:
            out.append(Action(Kind.UPDATE))
        if st.x < 3:
            out.append(Action(Kind.STEP, 0))
        return out

    def step(self, st: Toy, action: Action) -> tuple[Toy, list[Event]]:
        if action.kind is Kind.UPDATE:
            return st._replace(pc=st.pc + 1), []
        x = st.x + 1 + st.choice
        return st._replace(x=x), [Event("big", 0, -1, "toy")] if x >= 3 else []

    def observe(self, st: Toy) -> list[tuple[Action, list[Event]]]:
        return []

    def canonical(self, st: Toy) -> Toy:
        return st


def test_search_on_a_toy_model_counts_by_hand() -> None:
    ex = explore(ToyModel())
    # class 0: pc in 0..2 x x in 0..3 = 12 states; class 1: x in {0, 2, 4} x pc = 9 states
    assert ex.states == 21 and ex.complete
    # transitions: class 0: "u" from pc<2 (8) + "a" from x<3 (9); class 1: "u" 6 + "a" (x in {0, 2}) 6
    assert ex.transitions == 8 + 9 + 6 + 6
    order = list(ex.visited)
    assert order[:6] == [Toy(0, 0, 0), Toy(1, 0, 0), Toy(0, 1, 0), Toy(0, 0, 1), Toy(1, 1, 0), Toy(1, 0, 2)]
    assert ex.occurrences[("big", 0)].depth == 3 and ex.occurrences[("big", 1)].depth == 2
    assert ex.done_reached == {0, 1} and ex.max_depth == 2 + 3
    assert ex.trace_to(Toy(1, 2, 4)) == [Action(Kind.UPDATE), Action(Kind.UPDATE), Action(Kind.STEP, 0),
                                         Action(Kind.STEP, 0)]
