"""Explicit-state breadth-first search over every interleaving.

The visited set is a plain dict from the canonical state (vCPUs sorted, when symmetry is on) to
``(parent key, action index, depth)``, the index into ``actions(parent's concrete state)`` (for an
initial state: its choice class). The queue holds concrete states, so a trace is rebuilt by
replaying the indices from the initial state through ``step``, exactly. Events are recorded as
they are generated: for each (property, choice) the shortest occurrence, and every ``pc`` at
which the property was seen (to say when a hazard opens, when it closes and whether it persists
after the sequence completes).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..system.build import System
from ..system.step import Action, State, actions, canonical, initial_states, observe, step


@dataclass
class Occurrence:
    """Where a property was first seen for one choice class, and at which pcs at all."""

    depth: int
    key: State
    action: Action
    event: tuple
    pcs: set[int] = field(default_factory=set)  # pcs of states where a vCPU or lookup showed it
    instr_pcs: set[int] = field(default_factory=set)  # instructions whose execution showed it
    causes: set[str] = field(default_factory=set)
    persisting: tuple[int, State, Action, tuple] | None = None  # shortest occurrence at pc == end


@dataclass
class Exploration:
    system: System
    visited: dict[State, tuple[State | None, int, int]]
    occurrences: dict[tuple[str, int], Occurrence]
    complete: bool
    stop_reason: str
    states: int
    transitions: int
    seconds: float
    max_depth: int
    done_reached: set[int]  # choice classes in which the updater finished
    edges: list[tuple[State, State, Action]] | None = None  # every transition, when recorded

    evictions: bool = False

    def trace_to(self, key: State) -> list[Action]:
        """The actions from an initial state to ``key``: the action indices, replayed."""
        indices: list[int] = []
        while True:
            parent, index, _ = self.visited[key]
            if parent is None:
                break
            indices.append(index)
            key = parent
        st = initial_states(self.system)[index]
        out: list[Action] = []
        for i in reversed(indices):
            action = actions(self.system, st, self.evictions)[i]
            out.append(action)
            st, _ = step(self.system, st, action)
        return out


def explore(
    s: System,
    *,
    symmetry: bool = True,
    evictions: bool = False,
    max_states: int = 2_000_000,
    timeout: float | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    record_edges: bool = False,
    depth_bound: int | None = None,
) -> Exploration:
    start = time.perf_counter()
    key_of = canonical if symmetry else (lambda st: st)
    visited: dict[State, tuple[State | None, int, int]] = {}
    occ: dict[tuple[str, int], Occurrence] = {}
    done: set[int] = set()
    queue: deque[tuple[State, State, int]] = deque()
    transitions = 0
    max_depth = 0
    end = s.end
    edges: list[tuple[State, State, Action]] | None = [] if record_edges else None

    def record(events: list[tuple], key: State, action: Action, depth: int, pc: int, ci: int) -> None:
        for ev in events:
            prop = ev[0]
            o = occ.get((prop, ci))
            if o is None:
                o = occ[(prop, ci)] = Occurrence(depth, key, action, ev)
            elif depth < o.depth:
                o.depth, o.key, o.action, o.event = depth, key, action, ev
            if action[0] == "u":
                o.instr_pcs.add(pc)
            else:
                o.pcs.add(pc)
            o.causes.add(ev[3])
            if action[0] != "u" and pc == end and (o.persisting is None or depth < o.persisting[0]):
                o.persisting = (depth, key, action, ev)

    def admit(st: State, parent: State | None, index: int, depth: int) -> None:
        key = key_of(st)
        if key in visited:
            return
        visited[key] = (parent, index, depth)
        queue.append((st, key, depth))
        if st[1] == end:
            done.add(st[0])
        if depth_bound is not None and depth >= depth_bound:
            return  # a lookup here would be an occurrence deeper than the bound
        for look, evs in observe(s, st):
            record(evs, key, look, depth + 1, st[1], st[0])

    for ci, st in enumerate(initial_states(s)):
        admit(st, None, ci, 0)
    complete, reason = True, "exhaustive"
    last_report = start
    while queue:
        st, key, depth = queue.popleft()
        max_depth = max(max_depth, depth)
        if depth_bound is not None and depth >= depth_bound:
            complete, reason = False, f"depth bound of {depth_bound} reached"
            continue
        for index, action in enumerate(actions(s, st, evictions)):
            nxt, events = step(s, st, action)
            transitions += 1
            if events:
                record(events, key, action, depth + 1, st[1], st[0])
            admit(nxt, key, index, depth + 1)
            if edges is not None:
                edges.append((key, key_of(nxt), action))
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
        system=s,
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
