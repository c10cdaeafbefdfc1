"""Runs of instructions an address's system cannot tell apart, taken as one updater step.

In the system of one address (``build(only=a)``), most of a long program does nothing the address
can see: stores to entries no walk of it reads, TLBIs that remove nothing it can hold, DSBs with
nothing to wait for. Such an instruction at pc ``q`` is *invisible* when

* its updater command is enabled whenever it is the updater's turn (guard ``pc == q``, no local
  condition), emits nothing, and its effects other than ``SetPc(q + 1)`` change nothing in any
  reachable state (``_idle``: a DSB whose stores are already visible, whose TLBIs are complete);
* every other command's conditions read the pcs ``q`` and ``q + 1`` alike (no ``PcIn`` atom holds
  one and not the other: no store to a tracked entry, no TLBI becoming pending, no table freed, no
  end of the program between them).

Then a state at ``q + 1`` has every move, event and lookup of the state at ``q`` with the same
other fields, and the updater step between them changes nothing else: the two are one state of
the address's search, up to the pc. A maximal run ``a .. b`` of invisible instructions is taken in
one step from ``a`` to ``b + 1`` (``System.jumps``), so the states at ``a + 1 .. b`` are never made.
Every path of the full system still maps onto a path of the collapsed one (the moves made inside a
run are made at ``a``, or at ``b + 1``), and back (the jump is ``b + 1 - a`` updater steps).

What this changes in the results, and how the search keeps them exact (``engines/explicit.py``):

* a depth: the updater is sequential, so a state's depth in the full system is its pc plus the
  number of other steps before it; the search of a collapsed system counts depths that way;
* a pc at which a property shows: an event seen at ``a`` is seen at every pc of ``a .. b``
  (``spans``);
* a trace: the jump is written as its ``b + 1 - a`` updater steps (``expand``).

ARCHITECTURE.md, "Invisible instructions", has the argument; ``tests/test_collapse.py`` holds the
collapsed searches to the uncollapsed ones.
"""

from __future__ import annotations

from dataclasses import replace

from ..arch.barriers import FULL_DSB, STORE_DSB
from .build import System
from .commands import (
    TRUE,
    ClearApplied,
    Command,
    Commands,
    EachVcpu,
    PcIn,
    SetAllVis,
    SetPc,
    atoms_in,
    commands_of,
    group_and_memory_atoms,
    observer_commands,
)
from .state import Action, Kind


def collapse(s: System) -> System:
    """Take every run of invisible instructions of ``s`` in one updater step (in place; returns ``s``)."""
    c = commands_of(s)
    edges = _edges(_pc_sets(c))
    idle = _idle_dsbs(s)
    invisible = [q not in edges and _quiet(c.updater[q], q, idle) for q in range(s.end)]
    updater = list(c.updater)
    jumps: dict[int, int] = {}
    q = 0
    while q < s.end:
        if not invisible[q]:
            q += 1
            continue
        b = q
        while b + 1 < s.end and invisible[b + 1]:
            b += 1
        if b > q:  # a run of one instruction gains nothing
            jumps[q] = b + 1
            updater[q] = replace(updater[q], effects=(SetPc(b + 1),))
        q = b + 1
    if jumps:
        s.commands = replace(c, updater=updater)
        s.compiled = None
    s.jumps = jumps
    return s


def spans(s: System) -> dict[int, range]:
    """pc -> the pcs a state at it stands for (only the pcs that start a run)."""
    return {a: range(a, b) for a, b in s.jumps.items()}


def expand(s: System, actions: list[Action]) -> list[Action]:
    """A trace of the collapsed ``s`` as a trace of the uncollapsed one: each jump as its steps."""
    if not s.jumps:
        return list(actions)
    out: list[Action] = []
    pc = 0
    for a in actions:
        if a.kind is Kind.UPDATE:
            nxt = s.jumps.get(pc, pc + 1)
            out += [a] * (nxt - pc)
            pc = nxt
        else:
            out.append(a)
    return out


def _edges(sets: list[frozenset[int]]) -> set[int]:
    """The pcs ``q`` that some set holds and ``q + 1`` not, or the reverse."""
    out: set[int] = set()
    for p in sets:
        for q in p:
            if q + 1 not in p:
                out.add(q)
            if q - 1 not in p:
                out.add(q - 1)
    return out


def _quiet(u: Command, q: int, idle: set[int]) -> bool:
    """The updater command at ``q`` is always enabled on its turn and changes only the pc."""
    if u.when != PcIn(frozenset((q,))) or u.local != TRUE or u.events:
        return False
    rest = [e for e in u.effects if e != SetPc(q + 1)]
    return all(isinstance(e, (SetAllVis, EachVcpu)) for e in rest) and (not rest or q in idle)


def _idle_dsbs(s: System) -> set[int]:
    """The pcs of DSBs that change nothing in any reachable state.

    A store DSB sets every tracked entry's visible count to the stores executed (RDDMVT): counts
    only grow, never past the stores executed, and the previous store DSB (or the start, with none
    executed) set them; so with no tracked store since then they are already those counts. A full
    DSB completes the pending TLBIs and clears which PEs they acted on: with none pending since the
    previous full DSB (which cleared them) nothing is pending and nothing is marked."""
    out: set[int] = set()
    last_store: tuple[int, ...] = tuple(0 for _ in s.wlocs)  # the counts the last store DSB left
    last_full = -1
    for q, ins in enumerate(s.program):
        if ins.op != "dsb":
            continue
        store = ins.option in STORE_DSB
        full = ins.option in FULL_DSB
        ok = True
        if store and s.executed[q] != last_store:
            ok = False
        if full and any(s.pending[p] for p in range(last_full + 1, q + 1)):
            ok = False
        if ok and _effects_known(s, q):
            out.add(q)
        if store:
            last_store = s.executed[q]
        if full:
            last_full = q
    return out


def _effects_known(s: System, q: int) -> bool:
    """The DSB's command is the one ``_idle_dsbs`` argues about: visible counts and, for a full
    DSB with nothing pending, only the clearing of the marks."""
    for e in commands_of(s).updater[q].effects:
        if isinstance(e, EachVcpu) and e.effects != (ClearApplied(),):
            return False
    return True


def _pc_sets(c: Commands) -> list[frozenset[int]]:
    """Every pc set a condition of a non-updater command reads, and any an updater command's
    effects or events read (not its own guard)."""
    found: set[frozenset[int]] = set()
    atoms = group_and_memory_atoms(c)
    for x in observer_commands(c):
        atoms += atoms_in(x)
    for x in c.updater:
        atoms += atoms_in(x, guards=False)
        atoms.append(x.local)
    for a in atoms:
        if isinstance(a, PcIn):
            found.add(a.pcs)
    return sorted(found, key=sorted)
