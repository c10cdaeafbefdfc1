"""Bounded model checking: the transition system unrolled to depth k in one incremental z3 solver.

An occurrence at depth d is a path of d actions whose last one raises the event, or d - 1 actions
followed by a lookup (the explicit engine counts the same way, so their shortest depths compare).
Every solver model is decoded into explicit actions and replayed through ``system/step.py``; the
event printed is the one the replay produced, never one read off the model. A model that does not
replay is an engine bug (``ReplayError``, exit 4). A query z3 does not decide (``solver.Unknown``)
ends the search at that depth: what was found stays found, the rest is UNKNOWN, as at a time cap.

The system never deadlocks (an observer can always start a walk at the root or read its next
level), so adding transition d never removes a shorter path, and one solver serves every depth.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from ..arch.rules import PROPERTIES
from ..engines.base import Key, Occurrence
from ..replay import ReplayError, replay
from ..system.build import System
from ..system.state import Action, Event
from . import solver
from .encode import Encoder, Env, Transition, _any, transition

SEARCHED = PROPERTIES + ("witness",)


class Unrolling:
    """States 0..k, transitions 0..k-1, added on demand."""

    def __init__(self, s: System, bitvectors: bool = True, only: int | None = None) -> None:
        self.s = s
        self.enc = Encoder(s, bitvectors, only)
        self.lay = self.enc.layout
        self.solver = solver.solver("QF_BV")
        self.states: list[Env] = [self.lay.fresh("@0")]
        self.steps: list[Transition] = []
        self.looks: list[list[tuple[Action, str, str, z3.ExprRef]]] = [self.enc.lookups(self.states[0])]
        self.queries = 0
        self.solver.add(self.lay.initial(self.states[0]))

    def ensure(self, k: int) -> None:
        while len(self.steps) < k:
            j = len(self.steps)
            post = self.lay.fresh(f"@{j + 1}")
            tr = transition(self.enc, self.states[j], post, f"sel@{j}")
            self.solver.add(tr.relation)
            self.steps.append(tr)
            self.states.append(post)
            self.looks.append(self.enc.lookups(post))

    def observed(self, prop: str, d: int, cause: str | None = None) -> z3.ExprRef:
        """``prop`` at depth d raised by an observer action or a lookup."""
        j = d - 1
        return z3.Or(self.steps[j].event(prop, False, cause),
                     _any([c for _a, p, k, c in self.looks[j] if p == prop and cause in (None, k)]))

    def executed(self, prop: str, d: int, cause: str | None = None) -> z3.ExprRef:
        """``prop`` at depth d raised by the updater executing an instruction."""
        return self.steps[d - 1].event(prop, True, cause)

    def causes(self, prop: str) -> list[str]:
        """Every cause the encoding can raise ``prop`` with."""
        found = {c for tr in self.steps[:1] for t in tr.templates for p, c, _ in t.events if p == prop}
        found |= {c for _a, p, c, _ in self.looks[0] if p == prop}
        return sorted(found)

    def find(self, *extra: z3.ExprRef) -> z3.ModelRef | None:
        """A model of the unrolling with ``extra``, or None if there is none; raises
        ``solver.Unknown`` if z3 does not decide."""
        self.queries += 1
        answer = solver.query(self.solver, *extra)
        if answer.unknown:
            raise solver.Unknown(f"a BMC query at depth {len(self.steps)}", answer.reason)
        return answer.model if answer.sat else None

    def path(self, model: z3.ModelRef, d: int, prop: str) -> tuple[int, list[Action], Event]:
        """Decode a depth-d occurrence of ``prop``: (class, actions, event), replayed."""
        s = self.s
        ci = model.eval(self.states[0]["ci"], model_completion=True).as_long()
        acts: list[Action] = []
        for j in range(d - 1):
            k = model.eval(self.steps[j].sel, model_completion=True).as_long()
            acts.append(self.steps[j].templates[k].action)
        candidates: list[Action] = []
        k = model.eval(self.steps[d - 1].sel, model_completion=True).as_long()
        candidates.append(self.steps[d - 1].templates[k].action)
        candidates += [a for a, p, _k, c in self.looks[d - 1]
                       if p == prop and z3.is_true(model.eval(c, model_completion=True))]
        for last in candidates:
            rows = replay(s, ci, acts + [last])  # raises ReplayError: an engine bug, exit 4
            if self.enc.addrs == list(range(len(s.addresses))):
                # the solver's states, decoded, must be the states the explicit semantics reaches
                for j, (pre, _action, _post, _events) in enumerate(rows):
                    if self.lay.decode(model, self.states[j]) != pre:
                        raise ReplayError(j, "the solver's state differs from the replayed one")
            for ev in rows[-1][3]:
                if ev[0] == prop:
                    return ci, acts + [last], ev
        raise ReplayError(d - 1, f"the solver's depth-{d} path does not show {prop} when replayed")


@dataclass
class BmcExploration:
    """What ``verify.assemble`` reads from an engine, produced by BMC."""

    system: System
    bound: int
    occurrences: dict[tuple[str, int], Occurrence]
    paths: dict[Key, list[Action]]  # ("bmc", property, class, persisting) -> actions before the last
    complete: bool
    stop_reason: str
    seconds: float
    queries: int
    done_reached: set[int] = field(default_factory=set)
    states: int = 0
    transitions: int = 0
    engine: str = "bmc"

    @property
    def max_depth(self) -> int:
        return self.bound

    def trace_to(self, key: Key) -> list[Action]:
        return self.paths[key]


def bmc(s: System, bound: int, *, windows: bool = True, timeout: float | None = None,
        only: int | None = None) -> BmcExploration:
    """Every (property, class) occurrence up to depth ``bound``, shortest first (with ``only``: the
    system whose observers walk and look up that address index alone)."""
    start = time.perf_counter()
    un = Unrolling(s, only=only)
    occ: dict[tuple[str, int], Occurrence] = {}
    paths: dict[Key, list[Action]] = {}
    classes = range(len(s.choices))
    complete, reason = False, f"bounded model checking to depth {bound}"
    depth = 0
    try:
        for d in range(1, bound + 1):
            if timeout is not None and time.perf_counter() - start > timeout:
                reason = f"time cap of {timeout:g} s reached at depth {d - 1}"
                break
            un.ensure(d)
            open_props = [p for p in SEARCHED if sum(1 for (q, _) in occ if q == p) < len(classes)]
            events = {p: z3.Or(un.observed(p, d), un.executed(p, d)) for p in open_props}
            # one query first: most depths show nothing new, and one UNSAT answer says so for all
            if un.find(_any([z3.And(events[p], *[un.states[0]["ci"] != ci for (q, ci) in occ if q == p])
                             for p in open_props])) is None:
                depth = d
                continue
            for prop in open_props:
                found = [ci for (p, ci) in occ if p == prop]
                ev = events[prop]
                while True:
                    model = un.find(ev, *[un.states[0]["ci"] != ci for ci in found])
                    if model is None:
                        break
                    ci, acts, event = un.path(model, d, prop)
                    key = ("bmc", prop, ci, False)
                    paths[key] = acts[:-1]
                    occ[(prop, ci)] = Occurrence(d, key, acts[-1], event)
                    found.append(ci)
            depth = d
        else:
            reason = f"bounded model checking to depth {bound}: no violation up to that depth is not a proof"
    except solver.Unknown as e:  # depth d undecided: the occurrences found stand, deeper ones are UNKNOWN
        reason = _undecided(e, depth, start, timeout)
    try:
        if windows and depth:
            _windows(un, occ, paths, depth)
    except solver.Unknown as e:
        reason = f"{reason}; the windows are partial: {_undecided(e, depth, start, timeout)}"
    done: set[int] = set()
    try:
        if depth:
            reach_end = _any([st["pc"] == s.end for st in un.states[:depth + 1]])
            for ci in classes:
                if un.find(reach_end, un.states[0]["ci"] == ci) is not None:
                    done.add(ci)
    except solver.Unknown as e:
        done = set()  # not shown to finish: the result says so (vacuous, UNKNOWN)
        reason = f"{reason}; whether the sequence completes is undecided: {_undecided(e, depth, start, timeout)}"
    return BmcExploration(s, bound, occ, paths, complete, reason, time.perf_counter() - start, un.queries, done)


def _undecided(e: solver.Unknown, depth: int, start: float, timeout: float | None) -> str:
    """Why the search stopped at ``depth``: the time cap (z3 was cancelled at the deadline), or z3's
    own unknown."""
    if timeout is not None and (e.reason == "canceled" or time.perf_counter() - start >= timeout):
        return f"time cap of {timeout:g} s reached at depth {depth}"
    return f"bounded model checking to depth {depth}: {e}"


def _windows(un: Unrolling, occ: dict[tuple[str, int], Occurrence], paths: dict[Key, list[Action]],
             depth: int) -> None:
    """For each found property: every pc at which it occurs within the bound (observers and lookups
    vs. executed instructions), and per class the shortest occurrence after the sequence ended."""
    s = un.s
    for prop in sorted({p for p, _ in occ}):
        for updater in (False, True):
            raise_at = [(un.executed if updater else un.observed)(prop, d) for d in range(1, depth + 1)]
            pcs: set[int] = set()
            while True:
                anywhere = _any([z3.And(ev, z3.Not(_any([un.states[d]["pc"] == p for p in pcs])))
                                 for d, ev in enumerate(raise_at)])
                model = un.find(anywhere)
                if model is None:
                    break
                got = {d for d, ev in enumerate(raise_at) if z3.is_true(model.eval(ev, model_completion=True))}
                pcs |= {model.eval(un.states[d]["pc"], model_completion=True).as_long() for d in got}
            for (p, ci), o in occ.items():
                if p != prop:
                    continue
                mine: set[int] = set()
                for pc in sorted(pcs):
                    at = _any([z3.And(ev, un.states[d]["pc"] == pc) for d, ev in enumerate(raise_at)])
                    if un.find(at, un.states[0]["ci"] == ci) is not None:
                        mine.add(pc)
                (o.instr_pcs if updater else o.pcs).update(mine)
        for (p, ci), o in occ.items():
            if p != prop:
                continue
            for d in range(1, depth + 1):
                model = un.find(un.observed(prop, d), un.states[d - 1]["pc"] == s.end, un.states[0]["ci"] == ci)
                if model is not None:
                    _ci, acts, event = un.path(model, d, prop)
                    key = ("bmc", prop, ci, True)
                    paths[key] = acts[:-1]
                    o.persisting = (d, key, acts[-1], event)
                    break
    for (prop, ci), o in occ.items():
        # every cause the property shows with in this class, as the explicit engine collects them
        for cause in un.causes(prop):
            anywhere = _any([z3.Or(un.observed(prop, d, cause), un.executed(prop, d, cause))
                             for d in range(1, depth + 1)])
            if un.find(anywhere, un.states[0]["ci"] == ci) is not None:
                o.causes.add(cause)
