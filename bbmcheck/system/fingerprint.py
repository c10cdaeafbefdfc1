"""What a search of a compiled system depends on, as a digest: two systems with the same digest
have the same search, state for state (the per-address symmetry of ``engines/decompose.py`` and of
``smt/prove.py``'s proofs; ARCHITECTURE.md, "Symmetry between addresses")."""

from __future__ import annotations

import hashlib

from .build import System
from .commands import TRUE, Command, Commands, Group, PcIn, SetPc, commands_of
from .state import UPDATE


def fingerprint(s: System) -> bytes:
    """A digest of the search-relevant content of ``s``: what the interpreter reads (the commands
    without their cases, sentence keys and spec rows, which only describe) and the state's shape."""
    c: Commands = commands_of(s)
    h = hashlib.sha256()

    def cmd(x: Command) -> None:
        h.update(repr((x.action, x.when, x.local, x.effects, x.events, x.address)).encode())

    def updater(pc: int, x: Command) -> None:
        # most updater commands only move to the next pc: one byte says so (their position is the pc)
        if (not x.events and x.effects == (SetPc(pc + 1),) and x.when == PcIn(frozenset((pc,))) and x.local == TRUE
                and x.action == UPDATE and x.address == -1):
            h.update(b"+")
        else:
            h.update(b"u")
            cmd(x)

    def group(key: object, g: Group) -> None:
        h.update(repr((key, g.action, g.local, len(g.cases))).encode())
        for x in g.cases:
            cmd(x)

    h.update(repr((s.vcpus, len(s.choices), s.end, len(s.wlocs), s.store_pcs, len(s.leaf_entries),
                   len(s.walk_entries))).encode())
    for pc, x in enumerate(c.updater):
        updater(pc, x)
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
