"""Per-address decomposition of the explicit search, with symmetry between addresses.

Every event names one address (a walk or lookup of it) or none (the updater's). ``build(only=a)``
gives the system of one address: observers walk and look up ``a`` alone, and the updater carries
only its effects on ``a``; runs of instructions it cannot see are one updater step
(``system/collapse.py``). Its events are exactly the full system's events about ``a``, at the
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

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..system.build import System, for_address
from ..system.collapse import collapse, expand, spans
from ..system.fingerprint import fingerprint
from ..system.periods import periods
from ..system.state import Action, Event, Kind
from .base import Explored, Occurrence, paused_gc
from .explicit import Exploration
from .layered import search


@dataclass
class Part:
    """One address of the full system: its own system and how its names map to the full one's."""

    address: int  # index into the full system's addresses
    system: System
    wloc: list[int]  # written-entry index here -> there
    leaf: list[int]  # TLB bit here -> there
    walk: list[int]  # walk-cache bit here -> there
    collapsed: bool = True  # ``system`` has its invisible runs taken in one step (searched so)

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


def part(s: System, ai: int, collapsed: bool = True) -> Part:
    """Address ``ai`` of ``s`` as a system of its own (same level, choices and vCPUs), with its runs
    of invisible instructions taken in one step (``system/collapse.py``) unless ``collapsed`` is
    false (enough for its fingerprint, which collapsing would not change: the runs are a function
    of the commands and the program, which the fingerprint covers)."""
    sub = for_address(s, ai)
    if collapsed:
        collapse(sub)
    if [c.label() for c in sub.choices] != [c.label() for c in s.choices]:
        raise AssertionError("an address's system explores other implementation classes")
    return Part(ai, sub, [s.wloc_index[loc] for loc in sub.wlocs], [s.leaf_bit[e] for e in sub.leaf_entries],
                [s.walk_bit[w] for w in sub.walk_entries], collapsed)


def parts(s: System) -> list[Part]:
    """The per-address systems of ``s``, in address order."""
    return [part(s, ai) for ai in range(len(s.addresses))]


@dataclass
class Decomposed(Explored):
    """The per-address explorations as one exploration of the full system (``engines/base``). An
    occurrence's key is the index of its trace in ``traces`` (the full system's actions)."""

    full: System = field(kw_only=True)
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


@dataclass(frozen=True)
class Ask:
    """How each per-address search runs (the same for all of them)."""

    symmetry: bool = True
    evictions: bool = False
    max_states: int = 2_000_000  # per search
    deadline: float | None = None  # time.monotonic() at which every search stops
    depth_bound: int | None = None


@dataclass
class Searched:
    """One class's search, in the full system's names: what a worker sends back."""

    address: int
    states: int
    transitions: int
    max_depth: int
    done: set[int]
    complete: bool
    stop_reason: str
    occurrences: list[tuple[tuple[str, int], Occurrence]]  # keys index ``traces``
    traces: list[list[Action]]


def search_one(s: System, ai: int, ask: Ask, progress: Progress | None = None, built: Part | None = None
               ) -> Searched:
    """The search of address ``ai``'s system (``built``, if the caller has it); traces rebuilt,
    visited set dropped."""
    with paused_gc():
        return _search_one(s, ai, ask, progress, built)


def _search_one(s: System, ai: int, ask: Ask, progress: Progress | None, built: Part | None) -> Searched:
    p = built or part(s, ai)
    if not p.collapsed:
        collapse(p.system)
        p.collapsed = True
    p.system.periods = periods(p.system)  # only for a system that is searched: the analysis is not free
    left = None if ask.deadline is None else max(0.0, ask.deadline - time.monotonic())
    ex = search(p.system, symmetry=ask.symmetry, evictions=ask.evictions, max_states=ask.max_states, timeout=left,
                 progress=progress, depth_bound=ask.depth_bound)
    traces: list[list[Action]] = []
    occ = [(key, _translated(p, ex, o, traces)) for key, o in sorted(ex.occurrences.items())]
    return Searched(ai, ex.states, ex.transitions, ex.max_depth, set(ex.done_reached), ex.complete, ex.stop_reason,
                    occ, traces)


_WHOLE: list[System] = []  # the system a forked worker inherits (set just before the pool starts)


def _fingerprinted(s: System, ai: int) -> tuple[Part, bytes]:
    """Address ``ai``'s part, uncollapsed, and its fingerprint."""
    with paused_gc():
        p = part(s, ai, collapsed=False)
        return p, fingerprint(p.system)


def _fingerprint_keeping(s: System, ai: int, built: dict[bytes, Part]) -> bytes:
    """The fingerprint of address ``ai``'s part; the part is kept in ``built`` if it is the first of
    its class (the one searched), so that its system is not built twice."""
    p, fp = _fingerprinted(s, ai)
    if len(built) < KEPT_PARTS:
        built.setdefault(fp, p)
    return fp


KEPT_PARTS = 64  # at most this many built systems wait for their search (memory: one system each)


def _fingerprints_of(indices: list[int]) -> list[bytes]:
    return [_fingerprinted(_WHOLE[0], ai)[1] for ai in indices]


def _search_in_worker(job: tuple[int, Ask]) -> Searched:
    return search_one(_WHOLE[0], *job)


SERIAL_SECONDS = 0.25  # searches run in-process until they have taken this long; the rest go to workers


def explore_decomposed(s: System, *, symmetry: bool = True, evictions: bool = False, max_states: int = 2_000_000,
                       timeout: float | None = None, progress: Progress | None = None,
                       depth_bound: int | None = None, jobs: int | None = 1,
                       runner: Runner | None = None) -> Decomposed:
    """One search per class of alike addresses of ``s``, merged in address order (module
    docstring). ``max_states`` bounds each search; ``timeout`` all of them. With ``jobs`` above 1
    (None: one per core), searches left after ``SERIAL_SECONDS`` run on that many forked worker
    processes; ``runner`` (``engines/cluster.py``) runs them elsewhere instead. The result is the
    same whatever runs the searches: each is a function of its address, and they are merged in
    address order."""
    start = time.perf_counter()
    deadline = None if timeout is None else time.monotonic() + timeout
    ask = Ask(symmetry, evictions, max_states, deadline, depth_bound)
    workers = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    # multiprocessing is imported only for a pool (a start-up cost every verify would pay); a process
    # that multiprocessing started has it loaded
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.current_process().daemon:
        workers = 1  # a pool's worker (a caller's own pool, or ours) may not start processes
    n = len(s.addresses)
    pool = None
    built: dict[bytes, Part] = {}  # the first part of each class, when fingerprinted in-process
    try:
        if _late(deadline):
            return _merged(s, [_unfinished(0, timeout)], {}, max_states, timeout, time.perf_counter() - start)
        if workers > 1 and n >= PARALLEL_FINGERPRINTS and runner is None:
            pool = _pool(s, workers)
            # small chunks for long programs: the deadline is checked between them
            chunk = max(1, min(8, n // (8 * workers), 4000 // max(1, s.end)))
            chunks = [list(range(i, min(n, i + chunk))) for i in range(0, n, chunk)]
            digests = (d for got in _until(pool.imap(_fingerprints_of, chunks), deadline) for d in got)
        else:
            digests = (_fingerprint_keeping(s, ai, built) for ai in range(n))
        first: dict[bytes, int] = {}
        classes: dict[int, list[int]] = {}
        seen = 0
        for ai, fp in enumerate(digests):
            classes.setdefault(first.setdefault(fp, ai), []).append(ai)
            seen += 1
            if _late(deadline):
                break
        if seen < n or _late(deadline):  # nothing searched yet: every property is UNKNOWN
            return _merged(s, [_unfinished(0, timeout)], {}, max_states, timeout, time.perf_counter() - start)
        reps = sorted(classes)
        by_address = {p.address: p for p in built.values()}
        built.clear()
        wanted = list(reps)
        done_list: list[Searched] = []
        totals = [0, 0]

        def report(k: int, t: int, _secs: float) -> None:
            if progress is not None:
                progress(totals[0] + k, totals[1] + t, time.perf_counter() - start)

        while reps and (runner is None and (workers == 1 or time.perf_counter() - start < SERIAL_SECONDS)):
            if _late(deadline):
                break
            ai = reps.pop(0)
            got = search_one(s, ai, ask, report if progress is not None else None, by_address.pop(ai, None))
            done_list.append(got)
            totals[0] += got.states
            totals[1] += got.transitions
            if not got.complete:
                reps = []  # the merge stops at the first incomplete search: the rest would be dropped
        if reps and runner is not None:
            done_list += runner(s, reps, ask)
        elif reps:
            pool = pool or _pool(s, workers)
            for got in _until(pool.imap(_search_in_worker, [(ai, ask) for ai in reps]), deadline):
                done_list.append(got)
                totals[0] += got.states
                totals[1] += got.transitions
                report(0, 0, 0.0)
                if not got.complete or _late(deadline):
                    break
    finally:
        if pool is not None:
            pool.terminate()
            _WHOLE.clear()
    have = {g.address for g in done_list}
    missing = [ai for ai in wanted if ai not in have]
    if missing and all(g.complete for g in done_list if g.address < missing[0]):
        done_list.append(_unfinished(missing[0], timeout))  # the time ran out before this search
    return _merged(s, done_list, classes, max_states, timeout, time.perf_counter() - start)


def _until(results: Any, deadline: float | None) -> Iterator[Any]:
    """A pool's ``imap`` results, in order, until the deadline: waiting for the next one stops
    when it passes (the pool is then terminated by the caller)."""
    import multiprocessing

    while True:
        try:
            yield results.next(None if deadline is None else max(0.0, deadline - time.monotonic()))
        except StopIteration:
            return
        except multiprocessing.TimeoutError:
            return


def _late(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _unfinished(address: int, timeout: float | None) -> Searched:
    why = f"time cap of {timeout:g} s reached" if timeout is not None else "not searched"
    return Searched(address, 0, 0, 0, set(), False, why, [], [])


PARALLEL_FINGERPRINTS = 64  # fewer addresses than this are fingerprinted in-process


def _pool(s: System, workers: int) -> Any:
    import multiprocessing

    _WHOLE[:] = [s]
    return multiprocessing.get_context("fork").Pool(workers)


Runner = Callable[[System, list[int], Ask], list[Searched]]


def _merged(s: System, searched: list[Searched], classes: dict[int, list[int]], max_states: int,
            timeout: float | None, seconds: float) -> Decomposed:
    occ: dict[tuple[str, int], Occurrence] = {}
    traces: list[list[Action]] = []
    done: set[int] = set()
    states = transitions = max_depth = 0
    complete, reason = True, "exhaustive"
    for got in sorted(searched, key=lambda g: g.address):
        states += got.states
        transitions += got.transitions
        max_depth = max(max_depth, got.max_depth)
        done |= got.done
        base = len(traces)
        traces += got.traces
        for key, o in got.occurrences:
            pers = o.persisting
            if pers is not None:
                pers = (pers[0], base + int(pers[1]), pers[2], pers[3])  # type: ignore[call-overload]
            _merge(occ, key, replace(o, key=base + int(o.key), persisting=pers))  # type: ignore[call-overload]
        if not got.complete:  # the caps are the caller's, whatever part of them this search had
            complete = False
            reason = (f"state cap of {max_states} states reached" if got.stop_reason.startswith("state cap")
                      else f"time cap of {timeout:g} s reached" if got.stop_reason.startswith("time cap")
                      and timeout is not None else got.stop_reason)
            break
    return Decomposed(occ, complete, reason, states, transitions, seconds, max_depth, done, full=s, classes=classes,
                      traces=traces)


def _translated(p: Part, ex: Exploration, o: Occurrence, traces: list[list[Action]]) -> Occurrence:
    """``o`` in the full system's names; its key (and its persisting one's) the index of its trace,
    rebuilt now, in ``traces``."""
    def keyed(key: object) -> int:
        traces.append([p.action(a) for a in expand(p.system, ex.trace_to(key))])
        return len(traces) - 1

    pcs = set(o.pcs)
    for first, run in spans(p.system).items():
        if first in pcs:
            pcs.update(run)

    pers = None
    if o.persisting is not None:
        d, k, a, e = o.persisting
        pers = (d, keyed(k), p.action(a), p.event(e))
    return replace(o, key=keyed(o.key), action=p.action(o.action), event=p.event(o.event), pcs=pcs,
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
