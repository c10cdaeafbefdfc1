"""An independent reference for mutation testing: the spec's ordering and scope rules for the
bundled correct sequences, checked on the instruction list alone (no state space, no bbmcheck
semantics). It says whether a mutant of a correct sequence must be reported worse than the
original (killed) and, if not, why the mutant is equivalent.

Rules (spec §2.1 RDDMVT, §2.3, §3.3 nT procedures, §5.3, §8.2 item 3), for the entry the sequence
changes, with B its first store and M its next store (if any):
  R1 a DSB that makes stores visible (ST/SY/ISH/ISHST/OSH/OSHST) lies between B and the TLBIs that
     clean B's entry (RTGVWD: otherwise the TLBI may act before the store is seen);
  R2 those TLBIs are broadcast and together remove what the old entry left cached: for an old
     table, the stage-2 entry of every leaf below it (a VMALL form, or a by-IPA form naming an
     address inside that leaf), the walk-cache pointer of the table and of every table below it
     (VMALLS12E1/ALLE1, or IPAS2E1 naming an address inside the pointer's range) and the combined
     stage-1+2 entries (VMALLE1/VMALL); for an old leaf its stage-2 entry (by IPA or VMALL) and
     combined entries; each completed by a full DSB (SY/ISH/OSH) before M (RDDMVT steps 3-4);
  R3 the last store is followed by a store-visibility DSB (step 6: the update is visible when
     the sequence ends);
  R4 every free comes after the cleaning TLBIs are complete (§5.3);
  R5 an nT sequence whose original ends with a TLBI after M keeps one: a visibility DSB after M, a
     broadcast TLBI removing the block's stage-2 entry, a full DSB (§8.2 item 3);
  R6 deleting B turns a BBM or nT sequence into a direct size change (not permitted at L0/L1) or,
     for a single-store sequence, into no change at all; deleting M leaves an nT=1 block in place
     for good (faults persist where nT faults, RMRRPW) or turns a BBM into an unmap (safe).
"""

from __future__ import annotations

from dataclasses import dataclass

VISIBLE = {"sy", "st", "ish", "ishst", "osh", "oshst"}
FULL = {"sy", "ish", "osh"}
# operation -> (broadcast, components removed; "@" marks by-address components)
OPS = {
    "vmalls12e1is": (True, {"s2-all", "s2-leaf", "walk", "combined"}),
    "alle1is": (True, {"s2-all", "s2-leaf", "walk", "combined"}),
    "vmalle1is": (True, {"combined"}),
    "ipas2e1is": (True, {"s2-leaf@", "walk@"}),
    "ipas2le1is": (True, {"s2-leaf@"}),
}


@dataclass
class Ins:
    orig: int  # index in the original program
    op: str
    option: str = ""
    ipa: int | None = None
    loc: object = None
    valid: bool = True
    nt: bool = False


def parse(seq, program=None):  # type: ignore[no-untyped-def]
    out = []
    for i, ins in enumerate(program if program is not None else seq.program):
        out.append(Ins(i, ins.op, ins.option, ins.ipa, ins.loc, ins.desc.valid if ins.desc else True,
                       bool(ins.desc and ins.desc.nt)))
    return out


def components(ins: Ins, base: int, size: int) -> set[str]:
    if ins.op != "tlbi" or ins.option not in OPS:
        return set()
    broadcast, comps = OPS[ins.option]
    out = set()
    for c in comps:
        if c.endswith("@"):
            if ins.ipa is not None and base <= ins.ipa < base + size:
                out.add(c[:-1])
        else:
            out.add(c)
    return out if broadcast else set()


@dataclass
class Verdict:
    killed: bool
    reason: str


EQUIVALENT = {
    "duplicate": "repeating the instruction changes nothing any rule R1-R6 asks for (idempotent)",
    "delete-isb": "ISB only synchronises the updater's own context; no rule needs it",
    "delete-dsb": "a later full DSB still completes the TLBIs before the next store (R2)",
    "delete-free": "not freeing a table leaks it; no BBM hazard (R4 only orders frees)",
    "swap": "no rule R1-R6 orders these two instructions",
    "local": "the TLBI was not needed by any rule",
    "leaf-only": "the last-level form still removes what the rule needs (the entry cleaned is a leaf)",
    "by-ipa": "the by-IPA form still removes what the rule needs (the entry cleaned is a leaf at that IPA)",
}


def table_contents(seq, table: str, base: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:  # type: ignore[no-untyped-def]
    """(leaves, pointers) below the entry that links ``table`` at ``base``, as (IPA, size) pairs,
    read from the model's tables (4 KiB granule: level l maps 2**(12 + 9 * (3 - l)) bytes)."""
    decl = seq.table(table)
    step = 1 << (12 + 9 * (3 - decl.level))
    leaves: list[tuple[int, int]] = []
    pointers: list[tuple[int, int]] = []
    for idx, desc in decl.entries:
        ia = base + idx * step
        if desc.kind == "table":
            pointers.append((ia, step))
            sub_leaves, sub_pointers = table_contents(seq, desc.next_table, ia)
            leaves += sub_leaves
            pointers += sub_pointers
        elif desc.kind in ("block", "page") and desc.af == 1:
            leaves.append((ia, step))
    return leaves, pointers


def expect(original, mutated_program, old_is_table: bool, base: int, size: int,  # type: ignore[no-untyped-def]
           kind: str = "", op: str = "", leaves: list[tuple[int, int]] | None = None,
           pointers: list[tuple[int, int]] = ()) -> Verdict:
    """``mutated_program``: list of Ins (orig = index in the original). ``kind``/``op`` (the
    mutation and the original instruction's mnemonic) only choose the words of an equivalence.
    ``leaves``/``pointers``: what lies below an old table (``table_contents``); None when the
    old entry is a leaf."""
    verdict = _expect(original, mutated_program, old_is_table, base, size, leaves, list(pointers))
    if not verdict.killed and verdict.reason == ALL_HOLD:
        key = f"{kind}-{op}" if f"{kind}-{op}" in EQUIVALENT else kind
        verdict = Verdict(False, EQUIVALENT.get(key, ALL_HOLD))
    return verdict


ALL_HOLD = "R1-R6 all still hold"


def _needed(old_is_table: bool, base: int, size: int, leaves, pointers) -> set[str]:  # type: ignore[no-untyped-def]
    if not old_is_table:
        return {"s2-leaf", "combined"}
    return ({"combined", f"walk:{base:#x}+{size:#x}"} | {f"s2:{ia:#x}+{n:#x}" for ia, n in leaves or ()}
            | {f"walk:{ia:#x}+{n:#x}" for ia, n in pointers})


def _removes(i: Ins, base: int, size: int, need: set[str]) -> set[str]:
    """The items of ``need`` the TLBI ``i`` removes."""
    comps = components(i, base, size)
    out = need & comps
    if i.op != "tlbi" or i.option not in OPS or not OPS[i.option][0]:
        return out
    removes = OPS[i.option][1]
    for item in need:
        if ":" not in item:
            continue
        kind, rng = item.split(":")
        ia, n = (int(x, 16) for x in rng.split("+"))
        inside = i.ipa is not None and ia <= i.ipa < ia + n
        if kind == "s2" and ("s2-all" in removes or ("s2-leaf@" in removes and inside)):
            out.add(item)
        if kind == "walk" and ("walk" in removes or ("walk@" in removes and inside)):
            out.add(item)
    return out


def _expect(original, mutated_program, old_is_table: bool, base: int, size: int,  # type: ignore[no-untyped-def]
            leaves=None, pointers=()) -> Verdict:
    orig = parse(original)
    stores = [i.orig for i in orig if i.op in ("str", "stlr")]
    b_idx, m_idx = stores[0], (stores[1] if len(stores) > 1 else None)
    nt_sequence = orig[b_idx].nt
    final_tlbi = m_idx is not None and any(i.op == "tlbi" for i in orig[m_idx:])
    prog = mutated_program
    pos_b = [k for k, i in enumerate(prog) if i.orig == b_idx and i.op in ("str", "stlr")]
    pos_m = [k for k, i in enumerate(prog) if m_idx is not None and i.orig == m_idx and i.op in ("str", "stlr")]
    if not pos_b:
        if m_idx is None:
            if any(i.op == "free" for i in prog):
                return Verdict(True, "R4/R6: with the only store gone, the frees free tables still linked")
            return Verdict(False, "R6: the only store is gone; the sequence changes nothing")
        return Verdict(True, "R6: without the break/nT store, M is a direct size change")
    if m_idx is not None and not pos_m:
        if nt_sequence:
            return Verdict(True, "R6: the nT=1 block stays in place for good")
        return Verdict(False, "R6: without the make store the sequence is an unmap, which is safe")
    b = pos_b[0]
    end_clean = pos_m[0] if pos_m else len(prog)
    need = _needed(old_is_table, base, size, leaves, pointers)
    have: set[str] = set()
    visible = False
    pending: set[str] = set()
    clean_at = None
    for k in range(b + 1, end_clean):
        i = prog[k]
        if i.op == "dsb":
            if i.option in VISIBLE:
                visible = True
            if i.option in FULL:
                have |= pending
                pending = set()
                if need <= have and clean_at is None:
                    clean_at = k
        elif i.op == "tlbi" and visible:
            pending |= _removes(i, base, size, need)
        elif i.op == "tlbi" and components(i, base, size):
            pass  # R1: issued before the store is visible: no effect counted
    if clean_at is None:
        return Verdict(True, "R1/R2: the old entry is not cleaned (visibility DSB, scope, broadcast or "
                             "completing DSB missing) before the next store")
    last_store = max(k for k, i in enumerate(prog) if i.op in ("str", "stlr"))
    if not any(i.op == "dsb" and i.option in VISIBLE for i in prog[last_store + 1:]):
        return Verdict(True, "R3: the last store is not made visible before the sequence ends")
    for k, i in enumerate(prog):
        if i.op == "free" and k < clean_at:
            return Verdict(True, "R4: a table is freed before the TLBIs that clean it complete")
    if final_tlbi and pos_m:
        m = pos_m[-1]
        visible, pending, ok = False, set(), False
        for i in prog[m + 1:]:
            if i.op == "dsb" and i.option in VISIBLE:
                visible = True
            if i.op == "dsb" and i.option in FULL and "s2-leaf" in pending:
                ok = True
            if i.op == "tlbi" and visible:
                pending |= components(i, base, size)
        if not ok:
            return Verdict(True, "R5: no completed broadcast TLBI of the block after nT is cleared")
    return Verdict(False, ALL_HOLD)
