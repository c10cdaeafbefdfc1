"""What a search of a compiled system depends on, as a digest: two systems with the same digest
have the same search, state for state (the per-address symmetry of ``engines/decompose.py`` and of
``smt/prove.py``'s proofs; ARCHITECTURE.md, "Symmetry between addresses")."""

from __future__ import annotations

import hashlib
from typing import Any

from .build import System
from .commands import TRUE, Command, Commands, Group, PcIn, SetPc, commands_of
from .state import UPDATE


def fingerprint(s: System) -> bytes:
    """A digest of the search-relevant content of ``s``: what the interpreter reads (the commands
    without their cases, sentence keys and spec rows, which only describe) and the state's shape.

    Between systems of one sequence (one program) it also decides their collapsed runs and their
    repeating blocks: ``collapse`` reads the commands, the program's DSB options and the visible
    counts and pending TLBIs that the DSB and TLBI commands hold; ``periods`` reads the commands and
    those pending TLBIs."""
    c: Commands = commands_of(s)
    h = hashlib.sha256()
    h.update(repr((s.vcpus, len(s.choices), s.end, len(s.wlocs), s.store_pcs, len(s.leaf_entries),
                   len(s.walk_entries))).encode())
    shared = s._shared  # digests of the updater and TLBI commands, which commands.py interns there
    for pc, x in enumerate(c.updater):
        got = shared.get(("fp", id(x)))
        if got is None or got[0] is not x or got[1] != pc:
            # the entry holds ``x``, so no other object can have its id while the entry exists
            got = shared[("fp", id(x))] = (x, pc, _updater(pc, x))
        h.update(got[2])
    for row in c.propagate:
        h.update(b"p")
        for x in row:
            h.update(_command(x))
    for t in sorted(c.tlbi):
        x = c.tlbi[t]
        got = shared.get(("fp", id(x)))
        if got is None or got[0] is not x or got[1] != -1:
            got = shared[("fp", id(x))] = (x, -1, b"t%d" % t + _command(x))
        h.update(got[2])
    for k in sorted(c.walks):
        _group(h, k, c.walks[k])
    for code in sorted(c.steps):
        _group(h, code, c.steps[code])
    for x in (*c.evict_tlb, *c.evict_wc, *c.lookups):
        h.update(_command(x))
    return h.digest()


def _command(x: Command) -> bytes:
    text = repr((x.action, x.when, x.local, x.effects, x.events, x.address)).encode()
    return b"%d:" % len(text) + text


def _group(h: Any, key: object, g: Group) -> None:
    h.update(repr((key, g.action, g.local, len(g.cases))).encode())
    for x in g.cases:
        h.update(_command(x))


def _updater(pc: int, x: Command) -> bytes:
    """The updater command at ``pc``: one byte when it is on its own pc and only moves to the next,
    as most are; else the whole command."""
    if (not x.events and x.effects == (SetPc(pc + 1),) and x.when == PcIn(frozenset((pc,))) and x.local == TRUE
            and x.action == UPDATE and x.address == -1):
        return b"+"
    return b"u" + _command(x)
