"""Per-address decomposition of the explicit search, with symmetry between addresses.

Every event names one address (a walk or lookup of it) or none (the updater's). ``build(only=a)``
gives the system of one address: observers walk and look up ``a`` alone, and the updater carries
only its effects on ``a``. Its events are exactly the full system's events about ``a``, at the
same shortest depths and pcs, and its updater events are the full system's (ARCHITECTURE.md, "Per-
address decomposition", gives the argument; ``tests/test_decompose.py`` holds the two searches to
identical verdicts, windows and shortest-trace lengths). So the full search is the union of the
per-address ones.

Addresses whose systems compile to the same commands (up to names: tables, entries and output
addresses do not appear in the commands, only bit positions, pcs and causes) have the same
search, state for state; one of each class is searched (the lowest), and it answers for the others.
That is the symmetry between pages: 512 pages alike up to an output-address offset cost one search.

The merged :class:`Decomposed` is an exploration of the full system: its occurrences name the
full system's addresses, entries and actions, so ``verify.assemble`` replays every trace against
the full system, which checks the decomposition on every printed counterexample.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..system.build import System, build
from ..system.commands import Command, Commands, Group, commands_of
from ..system.state import Action, Event, Kind
from .base import Occurrence
from .explicit import Exploration, explore


@dataclass
class Part:
    """One address of the full system: its own system and how its names map to the full one's."""

    address: int  # index into the full system's addresses
    system: System
    wloc: list[int]  # written-entry index here -> there
    leaf: list[int]  # TLB bit here -> there
    walk: list[int]  # walk-cache bit here -> there

    def action(self, a: Action) -> Action:
        k = a.kind
        if k is Kind.WALK or k is Kind.LOOKUP:
            return a._replace(arg=self.address)
        if k is Kind.PROPAGATE:
            return a._replace(arg=self.wloc[a.arg])
        if k is Kind.EVICT:
            return a._replace(arg2=(self.leaf if a.arg == 0 else self.walk)[a.arg2])
        return a

    def event(self, ev: Event) -> Event:
        return ev if ev.address < 0 else ev._replace(address=self.address)


def part(s: System, ai: int) -> Part:
    """Address ``ai`` of ``s`` as a system of its own (same level, choices and vCPUs)."""
    sub = build(s.seq, s.config, vcpus=s.vcpus, only=s.addresses[ai])
    if [c.label() for c in sub.choices] != [c.label() for c in s.choices]:
        raise AssertionError("an address's system explores other implementation classes")
    return Part(ai, sub, [s.wloc_index[loc] for loc in sub.wlocs], [s.leaf_bit[e] for e in sub.leaf_entries],
                [s.walk_bit[w] for w in sub.walk_entries])


def parts(s: System) -> list[Part]:
    """The per-address systems of ``s``, in address order."""
    return [part(s, ai) for ai in range(len(s.addresses))]


def fingerprint(s: System) -> bytes:
    """A digest of the search-relevant content of ``s``: what the interpreter reads (the commands
    without their cases, sentence keys and spec rows, which only describe) and the state's shape."""
    c: Commands = commands_of(s)
    h = hashlib.sha256()

    def cmd(x: Command) -> None:
        h.update(repr((x.action, x.when, x.local, x.effects, x.events, x.address)).encode())

    def group(key: object, g: Group) -> None:
        h.update(repr((key, g.action, g.local, len(g.cases))).encode())
        for x in g.cases:
            cmd(x)

    h.update(repr((s.vcpus, len(s.choices), s.end, len(s.wlocs), s.store_pcs, len(s.leaf_entries),
                   len(s.walk_entries))).encode())
    for x in c.updater:
        cmd(x)
    for row in c.propagate:
        h.update(b"p")
        for x in row:
            cmd(x)
    for t in sorted(c.tlbi):
        h.update(b"t%d" % t)
        cmd(c.tlbi[t])
    for k in sorted(c.walks):
        group(k, c.walks[k])
    for code in sorted(c.steps):
        group(code, c.steps[code])
    for x in (*c.evict_tlb, *c.evict_wc, *c.lookups):
        cmd(x)
    return h.digest()


@dataclass
class Decomposed:
    """The per-address explorations as one exploration of the full system (``engines/base``). An
    occurrence's key is the index of its trace in ``traces`` (the full system's actions)."""

    full: System
    occurrences: dict[tuple[str, int], Occurrence]
    complete: bool
    stop_reason: str
    states: int
    transitions: int
    seconds: float
    max_depth: int
    done_reached: set[int]
    classes: dict[int, list[int]] = field(default_factory=dict)  # searched address -> the alike addresses
    traces: list[list[Action]] = field(default_factory=list)
    engine: str = "explicit"
    queries: int = 0

    @property
    def system(self) -> System:
        return self.full

    def trace_to(self, key: object) -> list[Action]:
        assert isinstance(key, int)
        return list(self.traces[key])


Progress = Callable[[int, int, float], None]


def explore_decomposed(s: System, *, symmetry: bool = True, evictions: bool = False, max_states: int = 2_000_000,
                       timeout: float | None = None, progress: Progress | None = None,
                       depth_bound: int | None = None) -> Decomposed:
    """One search per class of alike addresses of ``s``, in address order, merged (module
    docstring). The state cap and the time cap hold for all the searches together. Each search's
    traces are rebuilt as soon as it ends, and its visited set is dropped."""
    start = time.perf_counter()
    first: dict[bytes, int] = {}
    classes: dict[int, list[int]] = {}
    occ: dict[tuple[str, int], Occurrence] = {}
    traces: list[list[Action]] = []
    done: set[int] = set()
    states = transitions = max_depth = 0
    complete, reason = True, "exhaustive"
    for ai in range(len(s.addresses)):
        p = part(s, ai)
        fp = fingerprint(p.system)
        if fp in first:
            classes[first[fp]].append(ai)
            continue
        first[fp] = ai
        classes[ai] = [ai]
        left = None if timeout is None else max(0.0, timeout - (time.perf_counter() - start))

        def report(n: int, t: int, _secs: float, base: tuple[int, int] = (states, transitions)) -> None:
            if progress is not None:
                progress(base[0] + n, base[1] + t, time.perf_counter() - start)

        ex = explore(p.system, symmetry=symmetry, evictions=evictions, max_states=max(1, max_states - states),
                     timeout=left, progress=report if progress is not None else None, depth_bound=depth_bound)
        states += ex.states
        transitions += ex.transitions
        max_depth = max(max_depth, ex.max_depth)
        done |= ex.done_reached
        for key, o in sorted(ex.occurrences.items()):
            _merge(occ, key, _translated(p, ex, o, traces))
        if not ex.complete:  # the caps are the caller's, whatever part of them this search had
            complete = False
            reason = (f"state cap of {max_states} states reached" if ex.stop_reason.startswith("state cap")
                      else f"time cap of {timeout:g} s reached" if ex.stop_reason.startswith("time cap")
                      and timeout is not None else ex.stop_reason)
            break
    return Decomposed(s, occ, complete, reason, states, transitions, time.perf_counter() - start, max_depth, done,
                      classes, traces)


def _translated(p: Part, ex: Exploration, o: Occurrence, traces: list[list[Action]]) -> Occurrence:
    """``o`` in the full system's names, its traces rebuilt (appended to ``traces``)."""
    def keyed(key: object) -> int:
        traces.append([p.action(a) for a in ex.trace_to(key)])
        return len(traces) - 1

    pers = None
    if o.persisting is not None:
        d, k, a, e = o.persisting
        pers = (d, keyed(k), p.action(a), p.event(e))
    return replace(o, key=keyed(o.key), action=p.action(o.action), event=p.event(o.event), pcs=set(o.pcs),
                   instr_pcs=set(o.instr_pcs), causes=set(o.causes), persisting=pers)


def _merge(occ: dict[tuple[str, int], Occurrence], key: tuple[str, int], o: Occurrence) -> None:
    """Fold ``o`` into ``occ[key]``: the shortest occurrence (the earlier address on a tie), every
    pc and cause, the shortest persisting one."""
    have = occ.get(key)
    if have is None:
        occ[key] = o
        return
    if o.depth < have.depth:
        have.depth, have.key, have.action, have.event = o.depth, o.key, o.action, o.event
    have.pcs |= o.pcs
    have.instr_pcs |= o.instr_pcs
    have.causes |= o.causes
    if o.persisting is not None and (have.persisting is None or o.persisting[0] < have.persisting[0]):
        have.persisting = o.persisting
