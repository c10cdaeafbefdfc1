"""TLBI operations as data: what each one removes, on which PEs (spec §2.3, D8.17.5).

Stage-2-only entries (``s2``), combined stage-1+2 entries (``combined``) and stage-2 walk-cache
entries (``walk``) are the three kinds of cached information the model keeps. A by-IPA operation
names an address; a TTL hint names the level of the leaf (ILTZBK) and, when wrong, the
architecture requires nothing to be invalidated (RSQXYZ).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TlbiOp:
    name: str
    broadcast: bool  # IS forms reach every PE in the Inner Shareable domain; others only the issuer
    by_ipa: bool
    s2_leaf: bool  # removes stage-2-only leaf entries (matching the address, if by_ipa)
    combined: bool  # removes combined stage-1+2 entries
    walk: bool  # removes stage-2 walk-cache (non-final level) entries
    rules: str


def _op(base: str, by_ipa: bool, s2_leaf: bool, combined: bool, walk: bool, rules: str) -> list[TlbiOp]:
    return [
        TlbiOp(base + "is", True, by_ipa, s2_leaf, combined, walk, rules),
        TlbiOp(base, False, by_ipa, s2_leaf, combined, walk, rules + ", IDMCXY (local only)"),
    ]


TLBI_OPS: dict[str, TlbiOp] = {
    op.name: op
    for op in (
        # RBLRKC / IJCCRT: the VMALL forms remove every entry of the VMID, all levels, all stages.
        *_op("vmalls12e1", False, True, True, True, "RVMSWQ, RBLRKC"),
        *_op("alle1", False, True, True, True, "RVMSWQ, RBLRKC"),
        # VMALLE1: stage-1 and combined entries only; stage-2-only entries survive.
        *_op("vmalle1", False, False, True, False, "RZSXRQ"),
        # IPAS2E1: stage-2-only entries for the IPA at every level (walk caches included);
        # combined entries are not required to go (RVZZVZ), hence KVM's IPAS2E1IS; DSB; VMALLE1IS.
        *_op("ipas2e1", True, True, False, True, "RJXKNN, RVZZVZ"),
        # IPAS2LE1: final-level (leaf) stage-2 entries only: walk caches keep old table pointers.
        *_op("ipas2le1", True, True, False, False, "RJXKNN, RVZZVZ, RSQXYZ"),
    )
}
