"""Spec §1.3: which update protocols a descriptor change permits at a FEAT_BBM level.

``classify(old, new, ...)`` returns the set of permitted protocols; the bbm-required property
compares it with what the sequence actually did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum

from .config import FeatBBM
from .descriptors import Descriptor


class Protocol(Enum):
    DIRECT = "direct store"  # IWZCBG: invalid -> valid, or no BBM-relevant change
    UNMAP = "store invalid"  # then TLBI + DSB before the update counts as done
    BBM = "break-before-make"  # RDDMVT's six steps
    NT_SEQ = "nT sequence"  # RKFLJB with FEAT_BBML1 (SMMU §3.21.1.2 procedures)
    DIRECT_THEN_TLBI = "direct store, then TLBI"  # RKFLJB with FEAT_BBML2; permission/AF changes


Leaves = Callable[[Descriptor], Iterable[tuple[int, Descriptor]]]


def pure_size_change(block: Descriptor, block_base: int, leaves: Iterable[tuple[int, Descriptor]]) -> tuple[bool, str]:
    """RPVTFW precondition: every valid leaf under the table maps ``block.oa + offset`` with the
    same memory attributes. Returns (pure, note); a permission-only difference is pure with a note
    (ambiguous in the Arm ARM, spec §1.3: warn, not error)."""
    note = ""
    for ia, leaf in leaves:
        if leaf.oa != block.oa + (ia - block_base):
            return False, f"leaf at IPA {ia:#x} maps {leaf.oa:#x}, not {block.oa + (ia - block_base):#x}"
        if leaf.attr != block.attr:
            return False, f"leaf at IPA {ia:#x} has attr={leaf.attr}, the block attr={block.attr}"
        if leaf.perm != block.perm:
            note = f"leaf at IPA {ia:#x} has perm={leaf.perm}, the block perm={block.perm} (spec §1.3: ambiguous)"
    return True, note


def classify(
    old: Descriptor, new: Descriptor, base: int, feat: FeatBBM, leaves_of: Leaves
) -> tuple[frozenset[Protocol], str]:
    """Permitted protocols for replacing ``old`` by ``new`` at an entry mapping from ``base``."""
    if not old.valid:
        return frozenset({Protocol.DIRECT}), ""
    if not new.valid:
        return frozenset({Protocol.UNMAP}), ""
    if old.kind == "table" or new.kind == "table":
        if old.kind == "table" and new.kind == "table":
            if old.next_table == new.next_table:
                return frozenset({Protocol.DIRECT}), ""
            # casemate requires_bbm: a new next-level table is an output-address change for walks.
            return frozenset({Protocol.BBM}), "the next-level table pointer changes"
        block, table = (new, old) if old.kind == "table" else (old, new)
        pure, note = pure_size_change(block.without_nt(), base, leaves_of(table))
        if not pure:
            return frozenset({Protocol.BBM}), f"not a pure size change (RPVTFW): {note}"
        allowed = {Protocol.BBM}
        if feat.rank >= 1:
            allowed.add(Protocol.NT_SEQ)
        if feat.rank >= 2:
            allowed.add(Protocol.DIRECT_THEN_TLBI)
        return frozenset(allowed), note or "a pure block-size change (RKFLJB)"
    if old.attr != new.attr:
        return frozenset({Protocol.BBM}), "memory attributes change (RWHZWS item 1)"
    if old.oa != new.oa:
        return frozenset({Protocol.BBM}), "output address changes (RWHZWS item 2)"
    if old.without_nt() == new.without_nt():
        return frozenset({Protocol.DIRECT}), "only nT changes"
    return frozenset({Protocol.DIRECT_THEN_TLBI}), "permission/AF change: no BBM, TLBI after (RGPPYH)"
