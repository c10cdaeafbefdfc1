"""The search of a system with repeating stretches (``system/periods.py``), pc by pc.

The updater is sequential and every other move keeps the pc, so the states fall into layers by pc
and a state's depth is its pc plus its other steps (``v``). The search takes the layers in pc
order; within a layer, breadth-first by ``v`` from the states the updater brought into it (its
*entries*, each with the least ``v`` found), so every state gets its least depth, as in the 0-1
search of ``engines/explicit.py``.

In a :class:`~bbmcheck.system.periods.Period` every block is the one before moved on by ``L`` pcs.
A block's layers are a function of its entries: the entries of the next block start come only from
inside the block (no jump crosses a block start), and the commands of each of its pcs are the
previous block's, moved. So when the entries at block start ``k + 1`` equal those at ``k`` (same
states up to the pc, same ``v``), every later block of the stretch repeats block ``k`` state for
state, with the same ``v`` at a pc ``L`` later: its events are block ``k``'s, at pcs moved on, and
deeper, so no shortest occurrence changes. The search adds the moved pcs to the occurrences, and
goes on from the stretch's end with the same entries (*carried* states).

A carried state's trace is built from the explored blocks: the entry ``r`` at block start ``k + 1``
was reached from an entry ``a`` at block start ``k`` by a segment of block ``k``; the same segment,
moved on by ``j * L`` pcs (TLBIs are named by their pc), leads from ``a`` at block start ``k + j``
to ``r`` at ``k + j + 1``. Chaining these back from the carried state gives a run of the system of
exactly its depth, which ``trace_to`` replays (symmetry may have stored a state as another
ordering of its vCPUs: each segment is renamed onto the state it continues from).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..system.build import System
from ..system.periods import Period, shift_action
from ..system.state import Action
from ..system.step import machine
from .base import Occurrence, paused_gc
from .explicit import Exploration, Model, admit_initial, explore, recorder

_CARRIED = object()  # the parent of a carried state


@dataclass
class Layered(Exploration):
    carried: dict[Any, tuple[Any, Period, int]] = field(default_factory=dict)  # key -> (entry at k+1, period, k)
    skipped: list[tuple[Period, int]] = field(default_factory=list)  # (period, k): blocks after k+1 not searched
    _traces: dict[Any, list[Action]] = field(default_factory=dict, repr=False)  # key -> its trace, once built
    _states: dict[Any, Any] = field(default_factory=dict, repr=False)  # key -> the state its trace reaches

    def trace_to(self, key: object) -> list[Action]:
        got = self._traces.get(key)
        if got is None:
            got = self._traces[key] = self._build(key)
        return list(got)

    def _build(self, key: Any) -> list[Action]:
        indices: list[int] = []
        while True:
            parent, index, _ = self.visited[key]
            if parent is None:
                st = self.model.initial_states()[index]
                out: list[Action] = []
                stored = st
                break
            if parent is _CARRIED:
                out, st = self._carried_trace(key)
                stored = self._concrete(self.carried[key][0])._replace(pc=key[1])
                break
            indices.append(index)
            key = parent
        rename = _renaming(stored, st)
        for i in reversed(indices):
            action = self.model.actions(stored, self.evictions)[i]
            stored, _ = self.model.step(stored, action)
            moved = _renamed(action, rename)
            out.append(moved)
            st, _ = self.model.step(st, moved)
        return out

    def _concrete(self, key: Any) -> Any:
        """The state the search expanded for ``key`` (its trace replayed)."""
        got = self._states.get(key)
        if got is None:
            got = self.model.initial_states()[key[0]]
            for a in self.trace_to(key):
                got, _ = self.model.step(got, a)
            self._states[key] = got
        return got

    def _entry(self, key: Any, start: int) -> tuple[Any, int]:
        """The entry of layer ``start`` on ``key``'s path, and how many steps from it to ``key``."""
        steps = 0
        while True:
            parent, _, _ = self.visited[key]
            if parent is None or parent is _CARRIED or parent[1] < start:
                return key, steps
            key = parent
            steps += 1

    def _carried_trace(self, key: Any) -> tuple[list[Action], Any]:
        entry, p, k = self.carried[key]
        moves = (key[1] - entry[1]) // p.length
        a_start, b_start = p.start + k * p.length, p.start + (k + 1) * p.length
        chain = [entry]  # entries at block start k + 1, from the carried state's back to the first
        segments = []
        for _ in range(moves):
            at_k, steps = self._entry(chain[-1], a_start)
            whole = self.trace_to(chain[-1])
            segments.append((at_k, whole[len(whole) - steps:] if steps else []))
            chain.append(at_k._replace(pc=b_start))
        out = self.trace_to(chain[-1])
        st = self._concrete(chain[-1])
        for i in range(moves, 0, -1):
            at_k, seg = segments[i - 1]
            by = (moves - i + 1) * p.length
            start_state = self._concrete(at_k)
            rename = _renaming(start_state._replace(pc=st[1]), st)
            for a in seg:
                moved = _renamed(shift_action(a, by), rename)
                out.append(moved)
                st, _ = self.model.step(st, moved)
        return out, st


def _renaming(stored: Any, actual: Any) -> list[int]:
    """vCPU ``i`` of ``stored`` is vCPU ``rename[i]`` of ``actual`` (the same state up to the order
    of its vCPUs)."""
    left = list(range(len(actual[3])))
    out = []
    for vc in stored[3]:
        j = next(j for j in left if actual[3][j] == vc)
        left.remove(j)
        out.append(j)
    if stored[:3] != actual[:3]:
        raise AssertionError("a carried trace reached another state")
    return out


def _renamed(a: Action, rename: list[int]) -> Action:
    return a if a.vcpu < 0 else a._replace(vcpu=rename[a.vcpu])


def search(s: System, *, symmetry: bool = True, evictions: bool = False, max_states: int = 2_000_000,
           timeout: float | None = None, progress: Callable[[int, int, float], None] | None = None,
           depth_bound: int | None = None) -> Exploration:
    """The search of one address's system: layered where it has repeating stretches (and no depth
    bound, which the layers do not keep), else ``explicit.explore``."""
    if not s.periods or depth_bound is not None:
        return explore(s, symmetry=symmetry, evictions=evictions, max_states=max_states, timeout=timeout,
                       progress=progress, depth_bound=depth_bound)
    with paused_gc():  # as explicit.explore: the visited set holds only acyclic tuples
        return explore_layered(machine(s), s.periods, symmetry=symmetry, evictions=evictions,
                               max_states=max_states, timeout=timeout, progress=progress)


def explore_layered(model: Model, periods: list[Period], *, symmetry: bool, evictions: bool, max_states: int,
                    timeout: float | None, progress: Callable[[int, int, float], None] | None) -> Layered:
    start = time.perf_counter()
    key_of = model.canonical if symmetry else (lambda st: st)
    observe = model.observe
    successors: Any = model.successors  # type: ignore[attr-defined]  # a Machine (search())
    visited: dict[Any, tuple[Any, int, int]] = {}
    occ: dict[tuple[str, int], Occurrence] = {}
    done: set[int] = set()
    end = model.end
    record = recorder(occ, end)
    layers: dict[int, dict[int, list[tuple[Any, Any]]]] = {}
    heap: list[int] = []
    carried: dict[Any, tuple[Any, Period, int]] = {}
    skipped: list[tuple[Period, int]] = []
    at_start = {b: (p, (b - p.start) // p.length) for p in periods for b in p.block_starts()}
    entries_at: dict[int, dict[Any, int]] = {}
    transitions = max_depth = 0

    def admit(st: Any, key: Any, parent: Any, index: int, depth: int) -> None:
        visited[key] = (parent, index, depth)
        pc = st[1]
        layer = layers.get(pc)
        if layer is None:
            layer = layers[pc] = {}
            heapq.heappush(heap, pc)
        layer.setdefault(depth - pc, []).append((st, key))
        if pc == end:
            done.add(st[0])
        for look, evs in observe(st):
            record(evs, key, look, depth + 1, pc, st[0])

    admit_initial(model, key_of, visited, admit)
    complete, reason = True, "exhaustive"
    last_report = start
    stop = False
    while heap and not stop:
        pc = heapq.heappop(heap)
        buckets = layers.pop(pc)
        if pc in at_start:
            p, k = at_start[pc]
            entries = {(key[0], key[2], key[3]): v for v in sorted(buckets) for _, key in buckets[v]
                       if visited[key][2] == v + pc}
            before = entries_at.get(pc - p.length)
            entries_at[pc] = entries
            if k >= 1 and k < p.blocks and before == entries:
                _carry(p, k - 1, buckets, pc, visited, occ, carried, admit, key_of)
                skipped.append((p, k - 1))
                continue
        while buckets:
            v = min(buckets)
            for st, key in buckets.pop(v):
                depth = v + pc
                if visited[key][2] != depth:
                    continue  # reached again by a shorter path since it was queued
                max_depth = max(max_depth, depth)
                nexts = successors(st, evictions)
                transitions += len(nexts)
                for index, (action, nxt, events) in enumerate(nexts):
                    if events:
                        record(events, key, action, depth + 1, pc, st[0])
                    nkey = key_of(nxt)
                    ndepth = depth + (nxt[1] - pc if action.kind == "u" else 1)
                    have = visited.get(nkey)
                    if have is None or have[2] > ndepth:
                        if nxt[1] == pc:
                            visited[nkey] = (key, index, ndepth)
                            buckets.setdefault(v + 1, []).append((nxt, nkey))
                            for look, evs in observe(nxt):
                                record(evs, nkey, look, ndepth + 1, pc, nxt[0])
                        else:
                            admit(nxt, nkey, key, index, ndepth)
                if len(visited) >= max_states:
                    complete, reason, stop = False, f"state cap of {max_states} states reached", True
                    break
                if timeout is not None or progress is not None:
                    now = time.perf_counter()
                    if timeout is not None and now - start > timeout:
                        complete, reason, stop = False, f"time cap of {timeout:g} s reached", True
                        break
                    if progress is not None and now - last_report > 1.0:
                        progress(len(visited), transitions, now - start)
                        last_report = now
            if stop:
                break
    return Layered(model=model, visited=visited, occurrences=occ, complete=complete, stop_reason=reason,
                   states=len(visited), transitions=transitions, seconds=time.perf_counter() - start,
                   max_depth=max_depth, done_reached=done, evictions=evictions, carried=carried, skipped=skipped)


def _carry(p: Period, k: int, buckets: dict[int, list[tuple[Any, Any]]], pc: int,
           visited: dict[Any, tuple[Any, int, int]], occ: dict[tuple[str, int], Occurrence],
           carried: dict[Any, tuple[Any, Period, int]], admit: Callable[..., None], key_of: Callable[[Any], Any]
           ) -> None:
    """Block ``k + 1`` starts (at ``pc``) with block ``k``'s entries: blocks ``k + 1 ..`` of ``p``
    repeat block ``k``. Its pcs, moved on, join the occurrences; the entries go on at the end."""
    lo, hi = p.start + k * p.length, p.start + (k + 1) * p.length
    repeats = range(1, p.blocks - k)
    for o in occ.values():
        for pcs in (o.pcs, o.instr_pcs):
            seen = [q for q in pcs if lo <= q < hi]
            pcs.update(q + j * p.length for q in seen for j in repeats)
    for v in sorted(buckets):
        for st, key in buckets[v]:
            if visited[key][2] != v + pc:
                continue
            nst = st._replace(pc=p.end)
            nkey = key_of(nst)
            carried[nkey] = (key, p, k)
            admit(nst, nkey, _CARRIED, -1, v + p.end)
