"""The bbm-required property: run the spec §1.3 classifier against what the sequence does.

A per-entry automaton in the style of casemate's (spec §10) follows the updater's instructions in
program order: a break (invalid store) or an nT store opens a window, which closes once the store
has been made visible (RDDMVT step 2), broadcast TLBIs issued after that (step 3) have removed
everything a vCPU may hold for the range the old entry covered, and a full DSB has completed them
(step 4). A valid store is then checked against the protocols ``classify`` permits at the FEAT_BBM
level. The updater is deterministic, so the automaton runs once here; the search raises its events
when the updater executes the instruction, so every bbm-required finding has a trace.

What a vCPU may hold for an old entry (the coverage rule, ARCHITECTURE.md): for a leaf, its
stage-2 entry and its combined stage-1+2 entries (RVZZVZ: IPAS2* need not remove those, VMALLE1*
does); for a table, its own walk-cache pointer, the pointer of every table below it, and both
kinds of entry of every leaf below it (RRVJDB, 3a0b870e3448). An item is removed by a broadcast
TLBI of the right kind whose address (if any) lies in the item's range and whose TTL hint (if any)
is right for it (RSQXYZ): the leaf's level for a leaf, a level some version puts a leaf at below a
pointer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..arch.barriers import FULL_DSB, STORE_DSB
from ..arch.classify import Protocol, classify
from ..arch.descriptors import Descriptor, human_size, size_at
from ..arch.tlbi import TLBI_OPS
from ..sequences.schema import Instr, Loc
from .scope import INVALID, removes

if TYPE_CHECKING:
    from .build import System

RULES = "RWHZWS, RDDMVT, RKFLJB, RPVTFW"

# An item a vCPU may hold: (kind, base IPA, level, next table or ""); kind is "s2" (stage-2 leaf),
# "comb" (combined stage-1+2 leaf) or "walk" (walk-cache pointer to the next table).
Item = tuple[str, int, int, str]


@dataclass
class _Window:
    """An open break (invalid store) or nT store at one entry."""

    old: Descriptor  # the valid descriptor being replaced
    nt: bool  # opened by an nT store rather than an invalid store
    opened_line: int
    needed: set[Item]  # what the completed TLBIs must remove
    visible: bool = False
    issued: dict[Item, Instr] = field(default_factory=dict)  # item -> the TLBI that removes it
    done: set[Item] = field(default_factory=set)
    early: list[Instr] = field(default_factory=list)  # TLBIs issued before the store was visible
    tlbis: list[Instr] = field(default_factory=list)  # every broadcast TLBI issued while visible

    @property
    def complete(self) -> bool:
        return self.visible and self.needed <= self.done


def _covers(s: System, item: Item, ins: Instr) -> bool:
    """Whether the broadcast TLBI ``ins`` removes ``item`` (spec §2.3, RSQXYZ)."""
    kind, base, level, below = item
    return removes(s, ins, kind, base, level, below)


def _item_text(item: Item) -> str:
    kind, base, level, below = item
    if kind == "walk":
        return f"the walk-cache pointer to {below} for IPA {base:#x} (level {level})"
    what = "stage-2" if kind == "s2" else "combined stage-1+2"
    return f"the {what} entry of the {human_size(size_at(level))} leaf at IPA {base:#x}"


def _missing(s: System, win: _Window) -> str:
    """In words, why the break is not complete."""
    if not win.visible:
        return f"the store at line {win.opened_line} is never made visible by a DSB before this store (RDDMVT step 2)"
    lost = sorted(win.needed - win.done)
    pending = [i for i in lost if i in win.issued]
    if pending:
        ins = win.issued[pending[0]]
        return (f"TLBI {ins.option.upper()} at line {ins.line} is not completed by a DSB ISH before this store "
                "(RDDMVT step 4, RYNJCP)")
    never = lost[0]
    early = "; ".join(f"TLBI at line {t.line} is issued before the store is made visible, so a walker may "
                      "refetch the old entry after it (RTGVWD)" for t in win.early[:1])
    kinds = {i[0] for i in lost}
    if never[0] == "comb" and kinds == {"comb"} and win.tlbis:
        by_ipa = next((t for t in win.tlbis if t.ipa is not None), win.tlbis[0])
        return (f"TLBI {by_ipa.option.upper()} at line {by_ipa.line} leaves {_item_text(never)}: add TLBI "
                "VMALLE1IS (RVZZVZ)")
    if early:
        return early
    if not win.tlbis:
        return f"no broadcast TLBI follows the store at line {win.opened_line} (RDDMVT step 3)"
    if never[0] == "walk":
        return (f"{_item_text(never)} is never invalidated: no completed non-last-level TLBI with a right "
                "TTL hint reaches it (walk-cache trap, RSQXYZ)")
    return f"IPA {never[1]:#x} under the old entry is never invalidated: {_item_text(never)} survives"


def bbm_events(s: System) -> dict[int, list[tuple[str, str]]]:
    mem: dict[Loc, Descriptor] = dict(s.initial)
    windows: dict[Loc, _Window] = {}
    events: dict[int, list[tuple[str, str]]] = {}
    level = s.level

    def children(name: str) -> list[tuple[Loc, int, Descriptor]]:
        lvl, base = s.table_level[name], s.table_base[name]
        return [(loc, base + loc.index * size_at(lvl), desc) for loc, desc in sorted(mem.items())
                if loc.table == name]

    def leaves_of(table_desc: Descriptor) -> list[tuple[int, Descriptor]]:
        out = []
        for _loc, ia, desc in children(table_desc.next_table):
            if desc.kind == "table":
                out.extend(leaves_of(desc))
            elif desc.is_leaf:
                out.append((ia, desc))
        return out

    def held(loc: Loc, desc: Descriptor) -> set[Item]:
        """Everything a vCPU may hold because ``desc`` stands at ``loc``."""
        lvl, base = s.table_level[loc.table], s.loc_base(loc)
        if desc.kind == "table":
            out: set[Item] = {("walk", base, lvl, desc.next_table)}
            for child, _ia, d in children(desc.next_table):
                out |= held(child, d)
            return out
        if desc.is_leaf and desc.af == 1:  # AF=0 is never cached (RXFXTY)
            return {("s2", base, lvl, ""), ("comb", base, lvl, "")}
        return set()

    def check(pc: int, loc: Loc, old: Descriptor, new: Descriptor, used: str, win: _Window | None) -> None:
        allowed, why = classify(old, new, s.loc_base(loc), level, leaves_of)
        # A change that needs no break is fine however it was made: a store with TLBIs after it
        # never needs break-before-make (RGPPYH), and neither does one that only clears nT.
        ok = {
            "direct": {Protocol.DIRECT, Protocol.DIRECT_THEN_TLBI},
            "nt": {Protocol.NT_SEQ, Protocol.DIRECT, Protocol.DIRECT_THEN_TLBI},
            "bbm": {Protocol.BBM, Protocol.DIRECT, Protocol.DIRECT_THEN_TLBI},
        }[used]
        if why and "ambiguous" in why and why not in s.notes:
            s.notes.append(f"{loc.text()}: {why}")
        if not allowed & ok:
            names = ", ".join(sorted(p.value for p in allowed))
            what = {"direct": "written directly", "nt": "changed with the nT sequence",
                    "bbm": "made before the break completed"}[used]
            if win is not None and used == "direct":
                what = ("made before the " + ("nT sequence" if win.nt else "break") + f" at line {win.opened_line} "
                        f"completed ({_missing(s, win)})")
            events.setdefault(pc, []).append((
                f"{loc.text()}: {old.text()} -> {new.text()} {what}, but at {level.value} this change "
                f"permits only {names} ({why})",
                RULES,
            ))

    def nt_start(cur: Descriptor, new: Descriptor) -> bool:
        """``new`` begins an nT procedure from ``cur`` (merge: table -> nT block; split: nT 0->1)."""
        return new.valid and new.nt and new.kind == "block" and (
            cur.kind == "table" or (cur.is_leaf and cur.without_nt() == new.without_nt()))

    for pc, ins in enumerate(s.program):
        if ins.is_store:
            assert ins.loc is not None and ins.desc is not None
            loc, new = ins.loc, ins.desc
            cur = mem.get(loc, INVALID)
            win = windows.get(loc)
            if win is not None:
                if not new.valid:
                    pass  # still breaking
                elif not win.nt and not win.complete and nt_start(win.old, new):
                    # An unclean invalid entry leaves the same cached state as the live old entry,
                    # so an nT store after it is the nT procedure from the old entry (the seed RFC
                    # keeps such a leading invalid store).
                    # What the break already cleaned stays clean: once the invalid entry is
                    # visible no walker can refetch the old one.
                    if win.old.kind == "table":
                        check(pc, loc, win.old, new.without_nt(), "nt", None)
                    win.nt = True
                elif win.nt and not new.nt:
                    # closing an nT sequence: clear nT (merge) or install the table (split)
                    check(pc, loc, win.old, new, "nt" if win.complete else "direct", win)
                    del windows[loc]
                elif not win.nt:
                    check(pc, loc, win.old, new, "bbm" if win.complete else "direct", win)
                    del windows[loc]
                else:
                    check(pc, loc, cur, new, "direct", None)
            elif cur.valid and not new.valid:
                windows[loc] = _Window(old=cur, nt=False, opened_line=ins.line, needed=held(loc, cur))
            elif cur.valid and nt_start(cur, new):
                if cur.kind == "table":
                    check(pc, loc, cur, new.without_nt(), "nt", None)
                windows[loc] = _Window(old=cur, nt=True, opened_line=ins.line, needed=held(loc, cur))
            elif cur.valid and new.valid:
                check(pc, loc, cur, new, "direct", None)
            mem[loc] = new
        elif ins.op == "dsb":
            for win in windows.values():
                if ins.option in STORE_DSB:
                    win.visible = True
                if ins.option in FULL_DSB:
                    win.done |= set(win.issued)
        elif ins.op == "tlbi" and TLBI_OPS[ins.option].broadcast:
            for win in windows.values():
                if not win.visible:  # RTGVWD: a TLBI before the DSB may act before the store is seen
                    win.early.append(ins)
                    continue
                win.tlbis.append(ins)
                for item in win.needed:
                    if item not in win.issued and _covers(s, item, ins):
                        win.issued[item] = ins
    return events
