"""Explicit-state breadth-first search over every interleaving.

The search is generic over a small :class:`Model`: initial states, the enabled actions of a state,
the step function, the lookups observed in a state and the visited-set key (``canonical``). States
are tuples whose first two fields are ``choice`` (the implementation class) and ``pc`` (the updater's
progress; ``end`` when it has finished); an action whose ``kind`` is ``"u"`` is the updater's. ``system/step.py``'s
:class:`~bbmcheck.system.step.Machine` is the model of a compiled system.

The visited set is a plain dict from the key to ``(parent key, action index, depth)``, the index
into ``actions(parent's concrete state)`` (for an initial state: its choice class). The queue holds
concrete states, so a trace is rebuilt by replaying the indices from the initial state through
``step``, exactly. Events are recorded as they are generated: for each (property, choice) the
shortest occurrence, and every ``pc`` at which the property was seen (to say when a hazard opens,
when it closes and whether it persists after the sequence completes).

A model with ``jumps`` (``system/collapse.py``: an updater step over a run of invisible
instructions) is searched 0-1 breadth-first: a state's depth is its pc plus its other steps, an
updater step goes to the front of the queue, and a state reached again by a shorter path takes it,
so depths (and shortest occurrences) are those of the uncollapsed system.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..system.build import System
from ..system.state import Action, Event
from ..system.step import Machine, machine
from .base import Explored, Occurrence, paused_gc


class Model(Protocol):
    """What the search needs of a transition system."""

    @property
    def end(self) -> int: ...
    def initial_states(self) -> list[Any]: ...
    def actions(self, st: Any, evictions: bool) -> list[Any]: ...
    def step(self, st: Any, action: Any) -> tuple[Any, list[Any]]: ...
    def observe(self, st: Any) -> list[tuple[Any, list[Any]]]: ...
    def canonical(self, st: Any) -> Any: ...
    # optional: ``successors(st, evictions)``, the list of ``(action, *step(st, action))`` over
    # ``actions(st, evictions)`` in one call (``Machine.successors``); the search prefers it


@dataclass
class Exploration(Explored):
    model: Model = field(kw_only=True)
    visited: dict[Any, tuple[Any, int, int]] = field(kw_only=True)
    edges: list[tuple[Any, Any, Any]] | None = None  # every transition, when recorded
    evictions: bool = False
    engine: str = "explicit"
    queries: int = 0

    @property
    def system(self) -> System:
        assert isinstance(self.model, Machine), "only a compiled system's exploration has one"
        return self.model.s

    def trace_to(self, key: object) -> list[Action]:
        """The actions from an initial state to ``key``: the action indices, replayed."""
        indices: list[int] = []
        while True:
            parent, index, _ = self.visited[key]
            if parent is None:
                break
            indices.append(index)
            key = parent
        st = self.model.initial_states()[index]
        out: list[Action] = []
        for i in reversed(indices):
            action = self.model.actions(st, self.evictions)[i]
            out.append(action)
            st, _ = self.model.step(st, action)
        return out


def explore(
    s: System | Model,
    *,
    symmetry: bool = True,
    evictions: bool = False,
    max_states: int = 2_000_000,
    timeout: float | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    record_edges: bool = False,
    depth_bound: int | None = None,
) -> Exploration:
    model: Model = machine(s) if isinstance(s, System) else s
    with paused_gc():  # the visited set holds millions of acyclic tuples: scanning them finds nothing
        return _explore(model, symmetry=symmetry, evictions=evictions, max_states=max_states, timeout=timeout,
                        progress=progress, record_edges=record_edges, depth_bound=depth_bound)


Record = Callable[[list[Event], Any, Action, int, int, int], None]


def recorder(occ: dict[tuple[str, int], Occurrence], end: int) -> Record:
    """``record(events, key, action, depth, pc, choice)``: fold the events of ``action`` from the
    state ``key`` (at ``pc``, in class ``choice``), reached at ``depth``, into ``occ``: the shortest
    occurrence per (property, class), every pc and cause, the shortest one after completion."""
    def record(events: list[Event], key: Any, action: Action, depth: int, pc: int, ci: int) -> None:
        updater = action.kind == "u"
        for ev in events:
            prop = ev.prop
            o = occ.get((prop, ci))
            if o is None:
                o = occ[(prop, ci)] = Occurrence(depth, key, action, ev)
            elif depth < o.depth:
                o.depth, o.key, o.action, o.event = depth, key, action, ev
            if updater:
                o.instr_pcs.add(pc)
            else:
                o.pcs.add(pc)
            o.causes.add(ev.cause)
            if not updater and pc == end and (o.persisting is None or depth < o.persisting[0]):
                o.persisting = (depth, key, action, ev)
    return record


def admit_initial(model: Model, key_of: Callable[[Any], Any], visited: dict[Any, Any],
                  admit: Callable[..., None]) -> None:
    """Admit each implementation class's initial state (its index is its class)."""
    for ci, st in enumerate(model.initial_states()):
        key = key_of(st)
        if key not in visited:
            admit(st, key, None, ci, 0)


def _explore(model: Model, *, symmetry: bool, evictions: bool, max_states: int, timeout: float | None,
             progress: Callable[[int, int, float], None] | None, record_edges: bool,
             depth_bound: int | None) -> Exploration:
    start = time.perf_counter()
    key_of = model.canonical if symmetry else (lambda st: st)
    observe = model.observe
    successors = getattr(model, "successors", None)
    if successors is None:  # a model without the fused form: its actions, each stepped
        actions, step = model.actions, model.step

        def successors(st: Any, evictions: bool) -> list[tuple[Any, Any, list[Any]]]:
            return [(a, *step(st, a)) for a in actions(st, evictions)]
    visited: dict[Any, tuple[Any, int, int]] = {}
    occ: dict[tuple[str, int], Occurrence] = {}
    done: set[int] = set()
    queue: deque[tuple[Any, Any, int]] = deque()
    transitions = 0
    max_depth = 0
    end = model.end
    edges: list[tuple[Any, Any, Any]] | None = [] if record_edges else None

    record = recorder(occ, end)

    def admit(st: Any, key: Any, parent: Any, index: int, depth: int, front: bool = False) -> None:
        visited[key] = (parent, index, depth)
        if front:
            queue.appendleft((st, key, depth))
        else:
            queue.append((st, key, depth))
        if st[1] == end:  # State.pc; State.choice is st[0]
            done.add(st[0])
        if depth_bound is not None and depth >= depth_bound:
            return  # a lookup here would be an occurrence deeper than the bound
        for look, evs in observe(st):
            record(evs, key, look, depth + 1, st[1], st[0])

    admit_initial(model, key_of, visited, admit)
    complete, reason = True, "exhaustive"
    last_report = start
    jumping = bool(getattr(model, "jumps", None))
    while queue:
        st, key, depth = queue.popleft()
        if jumping and visited[key][2] != depth:
            continue  # reached again by a shorter path since it was queued: expanded from there
        max_depth = max(max_depth, depth)
        if depth_bound is not None and depth >= depth_bound:
            complete, reason = False, f"depth bound of {depth_bound} reached"
            continue
        nexts = successors(st, evictions)
        transitions += len(nexts)
        for index, (action, nxt, events) in enumerate(nexts):
            if events:
                record(events, key, action, depth + 1, st[1], st[0])
            nkey = key_of(nxt)
            if jumping:
                if not _relax(admit, visited, depth_bound, st, key, index, depth, action, nxt, nkey):
                    complete, reason = False, f"depth bound of {depth_bound} reached"
            elif nkey not in visited:
                admit(nxt, nkey, key, index, depth + 1)
            if edges is not None:
                edges.append((key, nkey, action))
        if len(visited) >= max_states:
            complete, reason = False, f"state cap of {max_states} states reached"
            break
        if timeout is not None or progress is not None:
            now = time.perf_counter()
            if timeout is not None and now - start > timeout:
                complete, reason = False, f"time cap of {timeout:g} s reached"
                break
            if progress is not None and now - last_report > 1.0:
                progress(len(visited), transitions, now - start)
                last_report = now
    return Exploration(
        model=model,
        visited=visited,
        occurrences=occ,
        complete=complete,
        stop_reason=reason,
        states=len(visited),
        transitions=transitions,
        seconds=time.perf_counter() - start,
        max_depth=max_depth,
        done_reached=done,
        edges=edges,
        evictions=evictions,
    )


def _relax(admit: Callable[..., None], visited: dict[Any, tuple[Any, int, int]], depth_bound: int | None,
           st: Any, key: Any, index: int, depth: int, action: Any, nxt: Any, nkey: Any) -> bool:
    """A successor in a system with jumps (``system/collapse.py``): a jump is as many updater steps
    as the pcs it passes. The updater is sequential, so a state's depth is its pc plus its other
    steps; the queue is ordered by those other steps (0-1 breadth-first: an updater step goes to
    the front), and a state reached again by a shorter path takes that path. False: beyond the
    depth bound."""
    updater = action.kind == "u"
    ndepth = depth + (nxt[1] - st[1] if updater else 1)
    if depth_bound is not None and ndepth > depth_bound:
        return False
    have = visited.get(nkey)
    if have is None or have[2] > ndepth:
        admit(nxt, nkey, key, index, ndepth, updater)
    return True
