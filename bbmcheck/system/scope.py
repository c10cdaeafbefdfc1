"""Which cached items a broadcast TLBI removes (spec §2.3): stated once, read by the entry
universe's kill masks (``build``) and by the bbm-required automaton (``bbm_required``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..arch.descriptors import Descriptor, index_at, size_at
from ..arch.tlbi import TLBI_OPS
from ..sequences.schema import Instr, Loc

if TYPE_CHECKING:
    from .build import System

INVALID = Descriptor("invalid")


def descs_at(s: System, loc: Loc) -> list[Descriptor]:
    """Every descriptor ``loc`` holds, version 0 first."""
    return s.versions.get(loc, [s.initial.get(loc, INVALID)])


def leaf_levels(s: System, table: str, ipa: int) -> set[int]:
    """Levels of every leaf any version of the tables puts under ``table`` for ``ipa``."""
    lvl = s.table_level[table]
    loc = Loc(table, index_at(lvl, ipa))
    out: set[int] = set()
    for desc in descs_at(s, loc):
        if desc.is_leaf:
            out.add(lvl)
        elif desc.kind == "table":
            out |= leaf_levels(s, desc.next_table, ipa)
    return out


def removes(s: System, ins: Instr, kind: str, base: int, level: int, below: str = "") -> bool:
    """Whether the TLBI ``ins`` removes a cached item: a leaf entry (``kind`` "s2" stage-2 only,
    "comb" combined stage 1+2) or a walk-cache pointer (``kind`` "walk") to table ``below``, the
    level-``level`` descriptor for the range starting at ``base``."""
    op = TLBI_OPS[ins.option]
    if not op.broadcast:
        return False  # the updater's PE runs no observer vCPU: a local TLBI reaches none (IDMCXY)
    if ins.ipa is not None and not base <= ins.ipa < base + size_at(level):
        return False
    wanted = {"s2": op.s2_leaf, "comb": op.combined, "walk": op.walk}[kind]
    if not wanted or ins.ttl is None:
        return wanted
    # RSQXYZ: TTL names the level of the leaf the walk for the address ends at; if it is wrong,
    # nothing need be invalidated. A leaf entry is in scope when it is at that level; a table
    # pointer only when a leaf at that level lies below it for the address.
    if kind != "walk":
        return level == ins.ttl
    return ins.ipa is not None and ins.ttl in leaf_levels(s, below, ins.ipa)
