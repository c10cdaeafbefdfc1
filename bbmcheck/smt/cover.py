"""Every address in the region, symbolically: which representative addresses stand for all of them.

Two addresses are treated alike by every walk, TLB entry and TLBI when, for every table, both lie
in the IPA range the table maps or neither does, and where they do, both index the same populated
entry or both index entries no version of the tables ever fills (which read as invalid forever).
Every table in the universe is read through those entries, every cached entry matches by the range
of a populated entry, and a TLBI's scope over a walk in flight is the range of the table it points
to (RSQXYZ, ``build._tlbi_tables``); so alike addresses get identical tables in ``build``.

The address is a 64-bit vector ranging over the whole region the root table maps (not only the
representatives); table ranges, indices and block sizes are bit-vector constraints. ``cover``
adds a representative for every class z3 finds uncovered until the query "an address in the region
like none of them" is UNSAT; that final query is written into the certificate. The queries go
through ``solver``; one z3 does not decide raises ``solver.Unknown`` (the proof is then UNKNOWN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import z3

from ..arch.descriptors import ENTRIES_PER_TABLE, LEVEL_SHIFT, size_at
from ..sequences.schema import Sequence
from ..system.build import System
from . import solver

WIDTH = 64


def populated(s: System) -> dict[str, set[int]]:
    """Per table, the indices some version of the tables fills."""
    out: dict[str, set[int]] = {name: set() for name in s.tables}
    for loc, desc in s.initial.items():
        if desc.kind != "invalid":
            out[loc.table].add(loc.index)
    for loc in s.versions:
        out[loc.table].add(loc.index)
    return out


def _span(s: System, name: str) -> tuple[int, int]:
    lvl = s.table_level[name]
    return s.table_base[name], ENTRIES_PER_TABLE * size_at(lvl)


def region(s: System) -> tuple[int, int]:
    """[start, end) of the IPAs the root table maps."""
    base, size = _span(s, s.tables[s.root])
    return base, base + size


def alike(s: System, a: z3.BitVecRef, r: int) -> z3.BoolRef:
    """``a`` (symbolic) is treated like the concrete address ``r`` (module docstring)."""
    terms = []
    full = populated(s)
    for name in s.tables:
        base, size = _span(s, name)
        shift = LEVEL_SHIFT[s.table_level[name]]
        inside_a = z3.And(z3.UGE(a, base), z3.ULT(a, base + size))
        inside_r = base <= r < base + size
        if not inside_r:
            terms.append(z3.Not(inside_a))
            continue
        slot_r = (r - base) >> shift
        slot_a = z3.LShR(a - base, shift)
        if slot_r in full[name]:
            terms.append(z3.And(inside_a, slot_a == slot_r))
        else:  # both index entries that are invalid in every version
            terms.append(z3.And(inside_a, *[slot_a != k for k in sorted(full[name])]))
    return z3.And(terms)


def uncovered(s: System, reps: tuple[int, ...]) -> tuple[z3.BitVecRef, z3.BoolRef]:
    """The query whose models are addresses of the region like no representative."""
    a = z3.BitVec("a", WIDTH)
    lo, hi = region(s)
    return a, z3.And(z3.UGE(a, lo), z3.ULT(a, hi), *[z3.Not(alike(s, a, r)) for r in reps])


def classes_bound(s: System) -> int:
    """An upper bound on the classes of ``alike``: an address's class is fixed by the deepest table
    whose range holds it and the entry it indexes there (a populated one, or the rest), because the
    tables whose ranges hold an address are a chain; so there are at most sum(populated + 1)."""
    return sum(len(idx) + 1 for idx in populated(s).values())


def cover(seq: Sequence, build_system: Callable[[Sequence], System], max_rounds: int | None = None
          ) -> tuple[Sequence, System, list[int]]:
    """Add representatives until they cover the region; returns the sequence with explicit
    addresses, its system and the addresses added (in the order z3 found them). Each round adds an
    address of a class no representative is in, so ``classes_bound`` rounds always suffice (the
    default bound). Raises ``solver.Unknown`` if z3 does not decide a query, or if the rounds run
    out (only with a smaller ``max_rounds``)."""
    s = build_system(seq)
    reps = tuple(s.addresses)
    added: list[int] = []
    rounds = classes_bound(s) if max_rounds is None else max_rounds
    for _ in range(rounds):
        a, query = uncovered(s, reps)
        answer = solver.solve(query, logic="QF_BV")
        if answer.unsat:
            return seq, s, added
        if answer.unknown:
            raise solver.Unknown("the cover query", answer.reason)
        found = answer.model.eval(a).as_long()
        # the smallest address of its class is a stable, readable representative
        smallest = solver.minimize(a, query, alike(s, a, found))
        if not smallest.sat:
            raise solver.Unknown(f"the smallest address like {found:#x}", smallest.reason)
        found = smallest.model.eval(a).as_long()
        added.append(found)
        reps = tuple(sorted(set(reps) | {found}))
        seq = replace(seq, addresses=reps)
        s = build_system(seq)
    raise solver.Unknown("the cover query", f"the representatives did not cover the region in {rounds} rounds")
