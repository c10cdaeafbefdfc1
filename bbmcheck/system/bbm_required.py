"""The bbm-required property: run the spec §1.3 classifier against what the sequence does.

A per-entry automaton in the style of casemate's (spec §10) follows the updater's instructions in
program order: a break (invalid store) or an nT store opens a window, which closes once the store
has been made visible (RDDMVT step 2), a broadcast TLBI covering the old entry's cached forms has
been issued after that (step 3) and a full DSB has completed it (step 4). A valid store is then
checked against the protocols ``classify`` permits at the FEAT_BBM level. The updater is
deterministic, so the automaton runs once here; the search raises its events when the updater
executes the instruction, so every bbm-required finding has a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..arch.classify import Protocol, classify
from ..arch.descriptors import Descriptor, size_at
from ..arch.tlbi import TLBI_OPS
from ..sequences.schema import Loc
from .build import FULL_DSB, INVALID, STORE_DSB, System, _leaf_levels

RULES = "RWHZWS, RDDMVT, RKFLJB, RPVTFW"


@dataclass
class _Window:
    """An open break (invalid store) or nT store at one entry."""

    old: Descriptor  # the valid descriptor being replaced
    nt: bool  # opened by an nT store rather than an invalid store
    visible: bool = False
    needed: set[str] = field(default_factory=set)  # components a covering TLBI must remove
    issued: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return self.visible and self.needed <= self.done


def bbm_events(s: System) -> dict[int, list[tuple[str, str]]]:
    mem: dict[Loc, Descriptor] = dict(s.initial)
    windows: dict[Loc, _Window] = {}
    events: dict[int, list[tuple[str, str]]] = {}
    level = s.level

    def leaves_of(table_desc: Descriptor) -> list[tuple[int, Descriptor]]:
        out = []
        name = table_desc.next_table
        lvl, base = s.table_level[name], s.table_base[name]
        for loc, desc in sorted(mem.items()):
            if loc.table != name:
                continue
            ia = base + loc.index * size_at(lvl)
            if desc.kind == "table":
                out.extend(leaves_of(desc))
            elif desc.is_leaf:
                out.append((ia, desc))
        return out

    def needed(old: Descriptor) -> set[str]:
        # Leaf entries under a table need a non-by-address leaf invalidation (3a0b870e3448); the
        # table pointer itself needs a non-leaf one (walk-cache trap, spec §2.3).
        if old.kind == "table":
            return {"s2-all", "combined", "walk"}
        return {"s2-leaf", "combined"}

    def covers(loc: Loc, old: Descriptor, op_name: str, ipa: int | None, ttl: int | None) -> set[str]:
        op = TLBI_OPS[op_name]
        if not op.broadcast:
            return set()
        lvl = s.table_level[loc.table]
        base = s.loc_base(loc)
        if ipa is not None and not base <= ipa < base + size_at(lvl):
            return set()
        got = set()
        if op.s2_leaf and (ttl is None or ttl == lvl):
            got.add("s2-leaf")
            if ipa is None:
                got.add("s2-all")
        if op.combined:
            got.add("combined")
        # RSQXYZ: a TTL hint is right for a table entry only if a leaf at that level lies below it
        if op.walk and (ttl is None or (old.kind == "table" and ipa is not None
                                        and ttl in _leaf_levels(s, old.next_table, ipa))):
            got.add("walk")
        return got

    def check(pc: int, loc: Loc, old: Descriptor, new: Descriptor, used: str) -> None:
        allowed, why = classify(old, new, s.loc_base(loc), level, leaves_of)
        ok = {
            "direct": {Protocol.DIRECT, Protocol.DIRECT_THEN_TLBI},
            "nt": {Protocol.NT_SEQ},
            "bbm": {Protocol.BBM, Protocol.DIRECT, Protocol.DIRECT_THEN_TLBI},
        }[used]
        if why and "ambiguous" in why and why not in s.notes:
            s.notes.append(f"{loc.text()}: {why}")
        if not allowed & ok:
            names = ", ".join(sorted(p.value for p in allowed))
            what = {"direct": "written directly", "nt": "changed with the nT sequence",
                    "bbm": "made before the break completed"}[used]
            events.setdefault(pc, []).append((
                f"{loc.text()}: {old.text()} -> {new.text()} {what}, but at {level.value} this change "
                f"permits only {names} ({why})",
                RULES,
            ))

    for pc, ins in enumerate(s.program):
        if ins.is_store:
            assert ins.loc is not None and ins.desc is not None
            loc, new = ins.loc, ins.desc
            cur = mem.get(loc, INVALID)
            win = windows.get(loc)
            if win is not None:
                if not new.valid:
                    pass  # still breaking
                elif win.nt and not new.nt:
                    # closing an nT sequence: clear nT (merge) or install the table (split)
                    check(pc, loc, win.old, new, "nt" if win.complete else "direct")
                    del windows[loc]
                elif not win.nt:
                    check(pc, loc, win.old, new, "bbm" if win.complete else "direct")
                    del windows[loc]
                else:
                    check(pc, loc, cur, new, "direct")
            elif cur.valid and not new.valid:
                windows[loc] = _Window(old=cur, nt=False, needed=needed(cur))
            elif cur.valid and new.valid and new.nt and new.kind == "block" and (
                cur.kind == "table" or cur.without_nt() == new.without_nt()
            ):
                if cur.kind == "table":
                    check(pc, loc, cur, new.without_nt(), "nt")
                windows[loc] = _Window(old=cur, nt=True, needed=needed(cur))
            elif cur.valid and new.valid:
                check(pc, loc, cur, new, "direct")
            mem[loc] = new
        elif ins.op == "dsb":
            for win in windows.values():
                if ins.option in STORE_DSB:
                    win.visible = True
                if ins.option in FULL_DSB:
                    win.done |= win.issued
        elif ins.op == "tlbi":
            for loc, win in windows.items():
                if win.visible:  # RTGVWD: a TLBI before the DSB may act before the store is seen
                    win.issued |= covers(loc, win.old, ins.option, ins.ipa, ins.ttl)
    return events
