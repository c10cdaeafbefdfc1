"""The transition relation: every action of the updater, the memory system and each vCPU.

A state is ``(choice, pc, vis, vcpus)``:

* ``choice`` indexes ``System.choices`` (the implementation being explored);
* ``pc`` counts the updater's executed instructions;
* ``vis[i]`` is how many of the stores to written entry ``System.wlocs[i]`` walkers can see
  (spec §5.2: a store becomes visible at some moment after it executes, surely at the next DSB);
* ``vcpus[v] = (tlb, walkcache, walk, applied)``: bit sets over ``System.leaf_entries`` and
  ``System.walk_entries``, the in-flight walk (0, or 1 + address * tables + table), and the bit set
  of pending broadcast TLBIs (by instruction index) that have already acted on this PE.

Pending TLBIs and freed tables are functions of ``pc`` and are not stored. Actions are tuples:
``("u",)`` updater, ``("p", i)`` a store to wloc i becomes visible, ``("t", v, pc)`` a pending TLBI
acts on vCPU v, ``("w", v, a, table)`` vCPU v starts a walk of address a at table (the root, or a
cached table pointer), ``("s", v)`` the walk reads its next level, ``("e", v, kind, bit)`` evict,
``("l", v, a)`` a lookup (changes nothing; its events are checked on every state).
Events are tuples ``(property, vcpu, address index, cause)``; witnesses use property "witness".
"""

from __future__ import annotations

from ..arch.config import NtCache, NtFault, Rmrrpw
from .build import FULL_DSB, STORE_DSB, System, honours_nt

State = tuple  # (choice, pc, vis, vcpus)
Action = tuple
Event = tuple


def initial_states(s: System) -> list[State]:
    vis0 = (0,) * len(s.wlocs)
    empty = ((0, 0, 0, 0),) * s.vcpus
    return [(ci, 0, vis0, empty) for ci in range(len(s.choices))]


def canonical(st: State) -> State:
    """vCPUs are interchangeable: the visited-set key sorts them (symmetry reduction)."""
    return (st[0], st[1], st[2], tuple(sorted(st[3])))


def actions(s: System, st: State, evictions: bool = False) -> list[Action]:
    ci, pc, vis, vcpus = st
    out: list[Action] = []
    if pc < s.end:
        out.append(("u",))
    executed = s.executed[pc]
    for i, n in enumerate(vis):
        if n < executed[i] and _may_propagate(s, vis, i):
            out.append(("p", i))
    pending = s.pending[pc]
    for v, (tlb, wc, walk, applied) in enumerate(vcpus):
        for t in pending:
            if not applied >> t & 1:
                out.append(("t", v, t))
        if walk:
            out.append(("s", v))
        else:
            out.extend(("w", v, ai, ti) for ai, ti in _walk_starts(s, wc))
        if evictions:
            out.extend(("e", v, 0, b) for b in _bits(tlb))
            out.extend(("e", v, 1, b) for b in _bits(wc))
    return out


def _walk_starts(s: System, wc: int) -> tuple[tuple[int, int], ...]:
    """(address, table) pairs a walk may start from: the root, or a cached pointer covering the
    address; memoized per walk-cache content."""
    got = s.starts_cache.get(wc)
    if got is None:
        pairs = []
        for ai in range(len(s.addresses)):
            starts = {s.root}
            for bit, ti in s.walk_starts[ai]:
                if wc >> bit & 1:
                    starts.add(ti)
            pairs += [(ai, ti) for ti in sorted(starts)]
        got = s.starts_cache[wc] = tuple(pairs)
    return got


def _bits(x: int) -> list[int]:
    out = []
    i = 0
    while x:
        if x & 1:
            out.append(i)
        x >>= 1
        i += 1
    return out


def bits_of(s: System, x: int) -> tuple[int, ...]:
    """``_bits`` memoized per system: masks repeat across states."""
    got = s.bits_cache.get(x)
    if got is None:
        got = s.bits_cache[x] = tuple(_bits(x))
    return got


def _may_propagate(s: System, vis: tuple[int, ...], i: int) -> bool:
    """Stores to one entry become visible in program order (coherence); a release store (stlr)
    only after every earlier store (B2.3 release semantics)."""
    pc = s.store_pcs[i][vis[i]]
    if s.program[pc].op != "stlr":
        return True
    need = s.before[pc]
    return all(vis[j] >= need[j] for j in range(len(vis)))


def step(s: System, st: State, action: Action) -> tuple[State, list[Event]]:
    kind = action[0]
    ci, pc, vis, vcpus = st
    if kind == "u":
        return _updater(s, st)
    if kind == "p":
        i = action[1]
        nvis = vis[:i] + (vis[i] + 1,) + vis[i + 1:]
        return (ci, pc, nvis, vcpus), []
    if kind == "l":
        return st, lookup_events(s, st, action[1], action[2])
    v = action[1]
    vc = vcpus[v]
    events: list[Event] = []
    if kind == "t":
        vc = _apply_tlbi(s, vc, action[2])
    elif kind == "w":
        vc = _read(s, st, v, vc, action[2], action[3], events)
    elif kind == "s":
        walk = vc[2] - 1
        ntables = len(s.tables)
        vc = _read(s, st, v, vc, walk // ntables, walk % ntables, events)
    elif kind == "e":
        bit = 1 << action[3]
        vc = (vc[0] & ~bit, vc[1], vc[2], vc[3]) if action[2] == 0 else (vc[0], vc[1] & ~bit, vc[2], vc[3])
    else:
        raise ValueError(f"unknown action {action!r}")
    return (ci, pc, vis, vcpus[:v] + (vc,) + vcpus[v + 1:]), events


def _apply_tlbi(s: System, vc: tuple[int, int, int, int], t: int) -> tuple[int, int, int, int]:
    tlb, wc, walk, applied = vc
    tlb &= ~s.tlbi_leaf_kill[t]
    wc &= ~s.tlbi_walk_kill[t]
    if walk:
        # RLXHLD / spec §2.2: the invalidation also discards walks in flight that hold old
        # non-final-level information in the TLBI's scope.
        w = walk - 1
        ntables = len(s.tables)
        if (w // ntables, w % ntables) in s.tlbi_kills_walk[t]:
            walk = 0
    return (tlb, wc, walk, applied | 1 << t)


def _updater(s: System, st: State) -> tuple[State, list[Event]]:
    ci, pc, vis, vcpus = st
    ins = s.program[pc]
    events: list[Event] = []
    if ins.op == "dsb":
        if ins.option in STORE_DSB:
            vis = s.executed[pc]  # RDDMVT steps 2/6: the DSB makes earlier stores visible to walkers
        if ins.option in FULL_DSB:
            # RDDMVT step 4, RYNJCP: the issuer's DSB completes its TLBIs on every PE.
            pending = s.pending[pc]
            new = []
            for vc in vcpus:
                for t in pending:
                    if not vc[3] >> t & 1:
                        vc = _apply_tlbi(s, vc, t)
                new.append((vc[0], vc[1], vc[2], 0))
            vcpus = tuple(new)
    elif ins.is_store:
        desc = ins.desc
        assert desc is not None
        if desc.nt and (s.level.rank == 0 or desc.kind != "block"):
            events.append(("nt-misuse", -1, -1, "nt-store-l0" if desc.kind == "block" else "nt-not-block"))
    for k in range(len(s.bbm_events.get(pc, ()))):
        events.append(("bbm-required", -1, -1, f"bbm:{pc}:{k}"))
    return (ci, pc + 1, vis, vcpus), events


def _read(s: System, st: State, v: int, vc: tuple[int, int, int, int], ai: int, ti: int,
          events: list[Event]) -> tuple[int, int, int, int]:
    """One level of a translation-table walk of address ``ai``, reading table ``ti``."""
    ci, pc, vis, vcpus = st
    tlb, wc, _walk, applied = vc
    if ti in s.freed[pc]:
        events.append(("freed-table-walk", v, ai, "freed"))  # row 23, RRVJDB
        return (tlb, wc, 0, applied)
    wi, outcomes = s.reads[(ti, ai)]
    out = outcomes[vis[wi] if wi >= 0 else 0]
    kind = out[0]
    if kind == "I":
        _fault(s, v, ai, "invalid", events)  # row 1, IWZCBG: faulting entries are never cached
        return (tlb, wc, 0, applied)
    if kind == "T":
        # row 4, RRVJDB: the table pointer may be cached; caching always is a superset (see
        # ARCHITECTURE.md, "monotone caching").
        return (tlb, wc | 1 << out[1], 1 + ai * len(s.tables) + out[2], applied)
    if kind == "A":
        if s.changed[ai] and s.final_leaf[ai] == (out[1], out[2]):
            events.append(("witness", v, ai, "new-mapping"))  # the final descriptor was read
        return (tlb, wc, 0, applied)  # row 3, RXFXTY: Access flag fault, never cached
    _, bits, shadow, block_nt, content, here, loc, ver, nt_page = out
    choice = s.choices[ci]
    if nt_page:
        events.append(("nt-misuse", v, ai, "nt-not-block"))  # IPJZBK: nT only in block descriptors
    if block_nt and s.level_rank == 0:
        events.append(("nt-misuse", v, ai, "nt-walk-l0"))  # RDFJNG: bit 16 is RES0 without BBML1
    if block_nt and s.honours[ci]:
        # row 5, RMRRPW
        if choice.nt_fault is NtFault.ALWAYS:
            _fault(s, v, ai, "nt-fault", events)
            return (tlb, wc, 0, applied)
        overlap = any(s.leaf_entries[b].content != content for b in bits_of(s, tlb & s.match_mask[ai]))
        if s.may_abort and (overlap or s.config.rmrrpw is Rmrrpw.LITERAL):
            events.append(("tlb-conflict", v, ai, "rmrrpw"))
        if choice.nt_cache is NtCache.SHADOW:
            tlb |= shadow
    else:
        tlb |= bits  # row 2: a valid leaf may be cached at any time (stage-2-only and combined)
    # ITHWDH: the translation just made must not differ from one cached anywhere
    differ = s.differs[ai].get(here, s.match_mask[ai])
    union = 0
    for other in vcpus:
        union |= other[0]
    if union & differ:
        events.append(("stale-translation", v, ai, "incoherent"))
    if s.changed[ai] and s.final_leaf[ai] == (loc, ver):
        events.append(("witness", v, ai, "new-mapping"))
    return (tlb, wc, 0, applied)


def _fault(s: System, v: int, ai: int, cause: str, events: list[Event]) -> None:
    if s.mapped_before[ai] and s.mapped_after[ai]:
        events.append(("invalid-window", v, ai, cause))


# ---- lookups: checked on every state ---------------------------------------------------------

CONFLICT_ORDER = {"oa-attr": 3, "size": 2, "nt-shadow": 1}


def conflict_cause(s: System, mask: int, ai: int) -> str | None:
    """Why a lookup of address ``ai`` matching the entries in ``mask`` may take a TLB conflict
    abort at this level, or None (rows 6-8, 15, 17-19)."""
    key = (mask, ai)
    cache = s.conflict_cache
    if key in cache:
        return cache[key]
    a = s.addresses[ai]
    entries = [s.leaf_entries[b] for b in _bits(mask)]
    best: str | None = None
    abort_ok = s.level.may_abort_on_size_change
    for i, e1 in enumerate(entries):
        for e2 in entries[i + 1:]:
            cause = None
            if (e1.oa_at(a), e1.attr) != (e2.oa_at(a), e2.attr):
                cause = "oa-attr"  # row 8: not relaxed by any level, nor by noabort
            elif (e1.kind == "shadow") != (e2.kind == "shadow"):
                # An nT=1 block is cached so as not to conflict with the entries that existed when
                # it was cached (spec §3.3, SMMU §3.21.1); it may conflict with an entry of a later
                # generation, cached from a write after the nT store (I_HYQMB; §8.2 item 3 when
                # that write clears nT; System.nt_generation).
                shadow, other = (e1, e2) if e1.kind == "shadow" else (e2, e1)
                if other.gen > shadow.gen and abort_ok:
                    cause = "nt-shadow" if e1.level == e2.level else "size"
            elif e1.level != e2.level and abort_ok:
                cause = "size"  # rows 6, 7, 17: RFVQCK, I_HYQMB
            if cause and (best is None or CONFLICT_ORDER[cause] > CONFLICT_ORDER[best]):
                best = cause
    cache[key] = best
    return best


def memory_translation(s: System, st: State, ai: int) -> tuple[int, str] | None:
    """What a walk from the root would translate ``ai`` to now, or None if it faults."""
    ci, pc, vis, _ = st
    key = (ci, pc, vis, ai)
    cache = s.mem_cache
    if key in cache:
        return cache[key]
    a = s.addresses[ai]
    ti = s.root
    result = None
    while ti not in s.freed[pc]:
        loc = s.walk_loc[(ti, ai)]
        desc, _ = s.value(loc, vis)
        if desc.kind == "table":
            ti = s.tables.index(desc.next_table)
            continue
        if desc.is_leaf and desc.af == 1:
            choice = s.choices[ci]
            faults = desc.nt and honours_nt(s.level, choice) and choice.nt_fault is NtFault.ALWAYS
            if not faults:
                result = (desc.oa + (a - s.loc_base(loc)), desc.attr)
        break
    cache[key] = result
    return result


def lookup_events(s: System, st: State, v: int, ai: int) -> list[Event]:
    ci, pc, vis, vcpus = st
    match = s.match_mask[ai]
    mask = vcpus[v][0] & match
    if not mask:
        return []
    events: list[Event] = []
    if mask & (mask - 1):
        cause = conflict_cause(s, mask, ai)
        if cause:
            events.append(("tlb-conflict", v, ai, cause))
    if pc == s.end and mask & s.not_final[ai]:
        events.append(("stale-translation", v, ai, "after-completion"))  # RGPPYH, row 9/10
    # ITHWDH, RWHZWS: every translation of the address at this moment, in any TLB or by a walk now
    trans = s.trans[ai]
    seen = {trans[b] for b in bits_of(s, mask)}
    if len(seen) < 2:
        others = 0
        for u, other in enumerate(vcpus):
            if u != v:
                others |= other[0] & match
        seen.update(trans[b] for b in bits_of(s, others & ~mask))
        mem = memory_translation(s, st, ai)
        if mem is not None:
            seen.add(mem)
    if len(seen) > 1:
        events.append(("stale-translation", v, ai, "incoherent"))
    return events


def observe(s: System, st: State) -> list[tuple[Action, list[Event]]]:
    """Every lookup's events in this state. They depend only on the choice, pc, visible memory and
    the TLBs (not on walk caches, walks or applied TLBIs), which is the memo key."""
    ci, pc, vis, vcpus = st
    key = (ci, pc, vis, tuple(vc[0] for vc in vcpus))
    got = s.observe_cache.get(key)
    if got is None:
        got = []
        for v, vc in enumerate(vcpus):
            if not vc[0]:
                continue
            for ai in range(len(s.addresses)):
                evs = lookup_events(s, st, v, ai)
                if evs:
                    got.append((("l", v, ai), evs))
        s.observe_cache[key] = got
    return got
