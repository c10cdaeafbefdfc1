"""Compile a :class:`Sequence` and a :class:`Config` into a :class:`System`.

Everything the step function needs is precomputed here so the search loop only does integer and
tuple operations: the versions each written entry takes, the universe of TLB leaf entries and
walk-cache entries as bit positions, which bits each TLBI removes, which TLBIs are pending after
each instruction, and the address-space layout (table bases, representative addresses).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..arch.barriers import FULL_DSB, STORE_DSB
from ..arch.config import Choices, ChoiceSpace, Config, FeatBBM, L2Nt
from ..arch.descriptors import ENTRIES_PER_TABLE, Descriptor, index_at, size_at
from ..arch.tlbi import TLBI_OPS
from ..errors import InputError
from ..sequences.schema import Instr, Loc, Sequence
from .bbm_required import bbm_events
from .partition import Partition
from .scope import INVALID, descs_at, removes

__all__ = ["FULL_DSB", "INVALID", "STORE_DSB", "System", "build"]


@dataclass(frozen=True)
class LeafEntry:
    """A cached leaf translation. ``kind``: 's2' stage-2 only, 'comb' combined S1+S2, 'shadow' an
    nT=1 block cached in a non-conflicting way (spec §3.3 [INF])."""

    level: int
    base: int
    oa: int
    attr: str
    perm: str
    kind: str
    table: str  # the table the descriptor was read from
    gen: int = 0  # how often nT was cleared at the entry before this version (nT-shadow conflicts)

    @property
    def size(self) -> int:
        return size_at(self.level)

    def covers(self, ia: int) -> bool:
        return self.base <= ia < self.base + self.size

    def oa_at(self, ia: int) -> int:
        return self.oa + (ia - self.base)

    @property
    def content(self) -> tuple[int, int, int, str, str]:
        return (self.level, self.base, self.oa, self.attr, self.perm)

    def text(self) -> str:
        shadow = " nT-shadow" if self.kind == "shadow" else (" S1+S2" if self.kind == "comb" else "")
        return f"{self.base:#x}+{_size_text(self.level)}->{self.oa:#x} {self.attr} {self.perm}{shadow}"


@dataclass(frozen=True)
class WalkEntry:
    """A cached table pointer (walk cache): the level-``level`` descriptor for ``base`` points to
    ``next_table`` (RRVJDB)."""

    level: int
    base: int
    next_table: str

    def covers(self, ia: int) -> bool:
        return self.base <= ia < self.base + size_at(self.level)

    def text(self) -> str:
        return f"L{self.level} {self.base:#x}->{self.next_table}"


def _size_text(level: int) -> str:
    return {0: "512G", 1: "1G", 2: "2M", 3: "4K"}[level]


class Read(NamedTuple):
    """What a walk finds in one version of an entry: ``kind`` "I" invalid, "T" a table (``walk_bit``
    the pointer's walk-cache bit, ``next_table`` its index), "A" a leaf with AF=0, "L" a leaf with
    AF=1 (``entries`` the TLB bits it may fill, ``shadow`` the nT shadow's bit, ``here`` the
    translation of the address, ``content`` the entry's)."""

    kind: str
    loc: Loc | None = None
    ver: int = 0
    walk_bit: int = -1
    next_table: int = -1
    entries: int = 0
    shadow: int = 0
    block_nt: bool = False
    nt_page: bool = False
    content: tuple[int, int, int, str, str] | None = None
    here: tuple[int, str] | None = None


@dataclass
class System:
    seq: Sequence
    config: Config
    vcpus: int
    addresses: tuple[int, ...]
    tables: tuple[str, ...]  # sorted table names; walks name tables by index
    table_level: dict[str, int]
    table_base: dict[str, int]
    root: int  # index into tables
    program: tuple[Instr, ...]
    end: int
    initial: dict[Loc, Descriptor]
    wlocs: tuple[Loc, ...]  # locations the program stores to; position = index in the vis tuple
    versions: dict[Loc, list[Descriptor]]  # version 0 = before the sequence
    store_of: dict[int, tuple[int, int]]  # pc -> (wloc index, version it writes)
    executed: list[tuple[int, ...]]  # pc -> stores executed per wloc
    store_pcs: list[list[int]]  # wloc index -> program indices of its stores, in order
    before: dict[int, tuple[int, ...]]  # pc of a store -> stores executed per wloc before it
    walk_loc: dict[tuple[int, int], Loc]  # (table index, address index) -> entry read
    leaf_entries: list[LeafEntry] = field(default_factory=list)
    leaf_bit: dict[LeafEntry, int] = field(default_factory=dict)
    walk_entries: list[WalkEntry] = field(default_factory=list)
    walk_bit: dict[WalkEntry, int] = field(default_factory=dict)
    match_mask: list[int] = field(default_factory=list)  # address index -> leaf bits covering it
    walk_starts: list[list[tuple[int, int]]] = field(default_factory=list)  # addr -> [(walk bit, table index)]
    tlbi_leaf_kill: dict[int, int] = field(default_factory=dict)  # pc of a broadcast TLBI -> bits
    tlbi_walk_kill: dict[int, int] = field(default_factory=dict)
    tlbi_kills_walk: dict[int, set[tuple[int, int]]] = field(default_factory=dict)  # pc -> {(addr, table)}
    pending: list[tuple[int, ...]] = field(default_factory=list)  # pc -> broadcast TLBIs not yet completed
    freed: list[frozenset[int]] = field(default_factory=list)  # pc -> freed table indices
    track_stage1: bool = False
    uses_nt: bool = False
    mapped_before: list[bool] = field(default_factory=list)
    mapped_after: list[bool] = field(default_factory=list)
    final_leaf: list[tuple[Loc, int] | None] = field(default_factory=list)  # addr -> (loc, version)
    changed: list[bool] = field(default_factory=list)  # addr -> the sequence gives it a new leaf
    final_content: list[tuple[int, int, int, str, str] | None] = field(default_factory=list)
    bbm_events: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # pc -> [(message, rules)]
    notes: list[str] = field(default_factory=list)
    choices: list[Choices] = field(default_factory=list)  # behaviour classes explored (normalized)
    choice_members: dict[Choices, list[Choices]] = field(default_factory=dict)
    universe: list[Choices] = field(default_factory=list)
    # ---- hot-path tables (see _hot_tables) ----
    reads: dict[tuple[int, int], tuple[int, list[Read]]] = field(default_factory=dict)
    trans: list[dict[int, tuple[int, str]]] = field(default_factory=list)  # addr -> leaf bit -> (OA at addr, attr)
    differs: list[dict[tuple[int, str], int]] = field(default_factory=list)  # addr -> translation -> other bits
    not_final: list[int] = field(default_factory=list)  # addr -> leaf bits that differ from the final mapping
    jumps: dict[int, int] = field(default_factory=dict)  # pc -> pc after a run of invisible instructions (collapse.py)
    periods: list[Any] = field(default_factory=list)  # repeating stretches (periods.py), for engines/layered.py
    commands: object = None  # the transition relation (system/commands.py commands_of())
    compiled: object = None  # the commands compiled by the concrete interpreter (system/step.py machine())
    level_rank: int = 0
    may_abort: bool = True  # the level permits TLB conflict aborts for size changes
    honours: list[bool] = field(default_factory=list)  # choice class -> nT=1 is honoured

    # ---- memory -------------------------------------------------------------------------
    def value(self, loc: Loc, vis: tuple[int, ...]) -> tuple[Descriptor, int]:
        """The walker-visible descriptor at ``loc`` and its version."""
        i = self.wloc_index.get(loc)
        if i is None:
            return self.initial.get(loc, INVALID), 0
        return self.versions[loc][vis[i]], vis[i]

    @property
    def level(self) -> FeatBBM:
        return self.config.level

    def loc_base(self, loc: Loc) -> int:
        lvl = self.table_level[loc.table]
        return self.table_base[loc.table] + loc.index * size_at(lvl)

    def leaf_entry(self, loc: Loc, ver: int, kind: str) -> LeafEntry:
        """The TLB entry a walk caches from version ``ver`` of the descriptor at ``loc``."""
        desc = self.versions[loc][ver] if loc in self.versions else self.initial.get(loc, INVALID)
        lvl = self.table_level[loc.table]
        gen = self.nt_generation(loc, ver)
        if kind != "shadow" and desc.nt and desc.kind == "block":
            # An nT=1 block cached as a plain entry (nT ignored or not honoured) is one where no
            # shadow exists; it joins the generation of the version that clears nT, whose entry
            # is the same translation, so the two stay one TLB entry (no new states).
            gen += 1
        return LeafEntry(lvl, self.loc_base(loc), desc.oa, desc.attr, desc.perm, kind, loc.table, gen)

    def nt_generation(self, loc: Loc, ver: int) -> int:
        """How many nT=1 block versions a walk must have passed over before it can read version
        ``ver`` of ``loc``: those stored earlier at ``loc`` itself, plus, for a table below, those
        stored at the entries linking it before the link (the largest over its links).

        An nT=1 block is cached so as not to conflict with the entries that existed when it was
        cached (spec §3.3, SMMU §3.21.1): those of its own generation or older. An entry of a later
        generation can only be cached after the nT store (the nT=0 block once nT is cleared, the
        entries of a table installed over the nT block), and without a TLBI after those writes
        the two may conflict (I_HYQMB; spec §8.2 item 3, rows 18-19)."""
        hist = self.versions.get(loc, [])
        own = sum(1 for d in hist[:ver] if d.nt and d.kind == "block")
        return own + self._table_generation(loc.table)

    def _table_generation(self, name: str) -> int:
        cache = self._table_gens
        if name not in cache:
            cache[name] = 0  # the root, or a cycle (rejected by the loader)
            links = [self.nt_generation(loc, ver) for loc, hist in sorted(self.all_versions().items())
                     for ver, d in enumerate(hist) if d.kind == "table" and d.next_table == name]
            cache[name] = max(links, default=0)
        return cache[name]

    def all_versions(self) -> dict[Loc, list[Descriptor]]:
        return all_versions(self.initial, self.versions)

    def walk_entry(self, loc: Loc, desc: Descriptor) -> WalkEntry:
        return WalkEntry(self.table_level[loc.table], self.loc_base(loc), desc.next_table)

    wloc_index: dict[Loc, int] = field(default_factory=dict)
    _table_gens: dict[str, int] = field(default_factory=dict)
    # values the systems of one sequence's addresses share, lent by ``whole`` like ``_table_gens``:
    # commands.py interns the updater commands there, fingerprint.py their digests
    _shared: dict[object, Any] = field(default_factory=dict)
    partition: Partition | None = None  # the regions the default representatives stand for


def all_versions(initial: dict[Loc, Descriptor], versions: dict[Loc, list[Descriptor]]) -> dict[Loc, list[Descriptor]]:
    """Every entry's descriptors in program order, version 0 before the sequence."""
    out = {loc: [d] for loc, d in initial.items()}
    out.update(versions)
    return out


def build(seq: Sequence, config: Config, vcpus: int | None = None, only: int | None = None,
          whole: System | None = None) -> System:
    """The compiled system. With ``only`` (an IPA the root maps), the system of that one address
    (``engines/decompose.py``): observers walk and look up ``only`` alone, and the updater tracks
    only its effects on it (stores to entries no walk of it reads, and broadcast TLBIs that remove
    nothing it can hold, still advance the pc). ``whole``, the full system of the same sequence and
    configuration, lends what does not depend on the addresses (table placement, the partition,
    the bbm-required automaton, nT generations), so that a system per address is cheap."""
    tables = tuple(sorted(t.name for t in seq.tables))
    levels = {t.name: t.level for t in seq.tables}
    root_name = next(t.name for t in seq.tables if t.root)
    initial: dict[Loc, Descriptor] = {}
    for t in seq.tables:
        for idx, desc in t.entries:
            initial[Loc(t.name, idx)] = desc
    bases = dict(whole.table_base) if whole is not None else _place_tables(seq, root_name, levels, initial)

    # versions of every stored-to entry, in program order
    versions: dict[Loc, list[Descriptor]] = {}
    store_of: dict[int, tuple[Loc, int]] = {}
    for pc, ins in enumerate(seq.program):
        if ins.is_store:
            assert ins.loc is not None and ins.desc is not None
            hist = versions.setdefault(ins.loc, [initial.get(ins.loc, INVALID)])
            hist.append(ins.desc)
            store_of[pc] = (ins.loc, len(hist) - 1)
    wlocs = tuple(sorted(versions))

    partition = whole.partition if whole is not None and whole.partition is not None else Partition(
        root_name, levels, bases, all_versions(initial, versions))
    tlbi_ipas = [ins.ipa for ins in seq.program if ins.op == "tlbi" and ins.ipa is not None]
    addresses = (only,) if only is not None else (
        seq.addresses if seq.addresses is not None else partition.representatives(tlbi_ipas))
    if not addresses:
        raise InputError(seq.path, 1, 1, "no representative address: the model gives no IPA to walk")
    span = ENTRIES_PER_TABLE * size_at(levels[root_name])
    for a in addresses:
        if a >= span:
            at = (seq.path, 1, 1)
            tlbi = next((i for i in seq.program if i.op == "tlbi" and i.ipa == a and "," in i.text), None)
            if tlbi is not None and seq.addresses is None:  # a TLBI's address: point at its operand
                ipa = tlbi.text[tlbi.text.index(",") + 1:]
                at = (tlbi.file or seq.path, tlbi.line, tlbi.col + len(tlbi.text) - len(ipa.lstrip()))
            raise InputError(*at, f"address {a:#x} is outside the {span:#x} bytes the root table maps")
    uncovered = partition.uncovered(addresses) if seq.addresses is not None and only is None else []
    if only is not None:
        kept = _kept_entries(seq.program, _path(levels, bases, only), store_of)
        wlocs = tuple(loc for loc in wlocs if loc in kept)
    windex = {loc: i for i, loc in enumerate(wlocs)}
    executed, before, store_pcs = _store_counts(seq.program, store_of, windex)

    system = System(
        seq=seq,
        config=config,
        vcpus=vcpus or seq.vcpus,
        addresses=tuple(addresses),
        tables=tables,
        table_level=levels,
        table_base=bases,
        root=tables.index(root_name),
        program=seq.program,
        end=len(seq.program),
        initial=initial,
        wlocs=wlocs,
        versions=versions,
        store_of={pc: (windex[loc], ver) for pc, (loc, ver) in store_of.items() if loc in windex},
        executed=executed,
        store_pcs=store_pcs,
        before=before,
        walk_loc={},
        wloc_index=windex,
        partition=partition,
    )
    ops = {ins.option for ins in seq.program if ins.op == "tlbi" and TLBI_OPS[ins.option].broadcast}
    # Combined S1+S2 entries behave differently from stage-2-only ones only under IPAS2* and VMALLE1*
    # (RVZZVZ); with neither in the sequence one kind of leaf entry is a bisimulation of both.
    system.track_stage1 = any(TLBI_OPS[o].s2_leaf != TLBI_OPS[o].combined for o in ops)
    system.uses_nt = any(ins.is_store and ins.desc is not None and ins.desc.nt for ins in seq.program) or any(
        d.nt for d in initial.values()
    )
    if whole is not None:
        system._table_gens = whole._table_gens  # a function of the sequence alone, filled as needed
        system._shared = whole._shared
    _layout_walks(system)
    _entry_universe(system)
    _tlbi_tables(system, drop_idle=only is not None)
    _final_mappings(system)
    system.bbm_events = whole.bbm_events if whole is not None else bbm_events(system)
    if uncovered:
        first = uncovered[0]
        system.notes.append(
            f"[observers] addresses leave {len(uncovered)} region(s) of the tables without a representative, "
            f"so no walk of them is checked: for example IPA {first.rep:#x} ({first.why}); omit "
            "'addresses' to check every region")
    _choices(system)
    _hot_tables(system)
    system.level_rank = system.level.rank
    system.may_abort = system.level.may_abort_on_size_change
    system.honours = [honours_nt(system.level, c) for c in system.choices]
    return system


def for_address(s: System, ai: int, vcpus: int | None = None) -> System:
    """Address ``ai`` of ``s`` as a system of its own (``build(only=...)``), with ``s``'s level and
    choices and ``vcpus`` (default ``s``'s) observers."""
    return build(s.seq, s.config, vcpus=vcpus or s.vcpus, only=s.addresses[ai], whole=s)


def _store_counts(program: tuple[Instr, ...], store_of: dict[int, tuple[Loc, int]], windex: dict[Loc, int]
                  ) -> tuple[list[tuple[int, ...]], dict[int, tuple[int, ...]], list[list[int]]]:
    """Per pc the stores executed to each tracked entry (``windex``), per store the counts before it,
    per entry the pcs of its stores. Stores to untracked entries are not counted."""
    executed = []
    counts = [0] * len(windex)
    now = tuple(counts)  # one tuple for every pc until the next tracked store
    before: dict[int, tuple[int, ...]] = {}
    store_pcs: list[list[int]] = [[] for _ in windex]
    for pc in range(len(program) + 1):
        executed.append(now)
        if pc < len(program) and pc in store_of and store_of[pc][0] in windex:
            i = windex[store_of[pc][0]]
            before[pc] = now
            counts[i] += 1
            store_pcs[i].append(pc)
            now = tuple(counts)
    return executed, before, store_pcs


def _path(levels: dict[str, int], bases: dict[str, int], ia: int) -> set[Loc]:
    """The entries a walk of ``ia`` may read: in every table whose range holds it, the one indexed."""
    return {Loc(name, index_at(lvl, ia)) for name, lvl in levels.items()
            if bases[name] <= ia < bases[name] + ENTRIES_PER_TABLE * size_at(lvl)}


def _kept_entries(program: tuple[Instr, ...], path: set[Loc], store_of: dict[int, tuple[Loc, int]]) -> set[Loc]:
    """The written entries one address's system tracks: those its walks read, and, transitively,
    any entry a release store to a tracked one must wait for (B2.3) while a store to it may still
    be invisible there (no store-ordering DSB between the two)."""
    kept = set(path)
    grew = True
    while grew:
        grew = False
        for x, (loc, _ver) in sorted(store_of.items()):
            if program[x].op != "stlr" or loc not in kept:
                continue
            for q in range(x - 1, -1, -1):
                ins = program[q]
                if ins.op == "dsb" and ins.option in STORE_DSB:
                    break  # every earlier store is visible before the release store can be
                if q in store_of and store_of[q][0] not in kept:
                    kept.add(store_of[q][0])
                    grew = True
    return kept


def _place_tables(seq: Sequence, root: str, levels: dict[str, int], initial: dict[Loc, Descriptor]) -> dict[str, int]:
    """Each table's base IPA, from the descriptors that link it (before the update or stored)."""
    bases = {root: 0}
    # every link, in the order the file states them (the tables' entries, then the stores), each with
    # where its linked table's name is written: a conflict is reported at the later of two links
    links: list[tuple[Loc, str, tuple[str, int, int]]] = []
    initial_links = []
    for loc, desc in initial.items():
        if desc.kind == "table":
            decl = seq.table(loc.table)
            at = {i: (line, col) for i, line, col in decl.links}.get(loc.index, (decl.line, 1))
            initial_links.append((at, loc, desc.next_table))
    links += [(loc, child, (seq.path, *at)) for at, loc, child in sorted(initial_links)]
    for ins in seq.program:
        if ins.is_store and ins.desc is not None and ins.desc.kind == "table" and ins.loc is not None:
            dpos = len(ins.text) - len(ins.text[ins.text.index(",") + 1:].lstrip()) if "," in ins.text else 0
            off = ins.text.find(ins.desc.next_table, dpos)
            links.append((ins.loc, ins.desc.next_table, (ins.file or seq.path, ins.line,
                                                         ins.col + (off if off >= 0 else dpos))))
    changed = True
    while changed:
        changed = False
        for loc, child, _where in links:
            if loc.table in bases and child not in bases:
                bases[child] = bases[loc.table] + loc.index * size_at(levels[loc.table])
                changed = True
    first: dict[str, int] = {}
    for loc, child, where in links:
        if loc.table not in bases:
            continue
        base = bases[loc.table] + loc.index * size_at(levels[loc.table])
        if first.setdefault(child, base) != base:
            raise InputError(
                *where,
                f"table '{child}' is linked at IPA {base:#x} here but at {first[child]:#x} elsewhere; "
                "a table maps one IPA range",
            )
    for t in seq.tables:
        if t.name not in bases:
            raise InputError(seq.path, t.line, 1, f"table '{t.name}' is never linked into the tree from the root")
    return bases


def _layout_walks(s: System) -> None:
    for ti, name in enumerate(s.tables):
        lvl, base = s.table_level[name], s.table_base[name]
        for ai, a in enumerate(s.addresses):
            if base <= a < base + ENTRIES_PER_TABLE * size_at(lvl):
                s.walk_loc[(ti, ai)] = Loc(name, index_at(lvl, a))


def _entry_universe(s: System) -> None:
    leaf: dict[LeafEntry, int] = {}  # entry -> its bit, in the order first found
    walk: dict[WalkEntry, int] = {}
    kinds = ("s2", "comb") if s.track_stage1 else ("s2",)
    for loc in sorted(set(s.walk_loc.values())):
        for ver, desc in enumerate(descs_at(s, loc)):
            if desc.is_leaf and desc.af == 1:
                for kind in kinds + (("shadow",) if desc.nt else ()):
                    leaf.setdefault(s.leaf_entry(loc, ver, kind), len(leaf))
            elif desc.kind == "table":
                walk.setdefault(s.walk_entry(loc, desc), len(walk))
    s.leaf_entries = list(leaf)
    s.leaf_bit = leaf
    s.walk_entries = list(walk)
    s.walk_bit = walk
    covering = _covering(s.addresses, [(e.base, e.size) for e in s.leaf_entries])
    s.match_mask = [sum(1 << i for i in got) for got in covering]
    covering = _covering(s.addresses, [(w.base, size_at(w.level)) for w in s.walk_entries])
    s.walk_starts = [[(i, s.tables.index(s.walk_entries[i].next_table)) for i in got] for got in covering]


def _covering(addresses: tuple[int, ...], ranges: list[tuple[int, int]]) -> list[list[int]]:
    """Per address, the indices (ascending) of the ranges ``(base, size)`` that hold it."""
    order = sorted(range(len(addresses)), key=addresses.__getitem__)
    keys = [addresses[ai] for ai in order]
    out: list[list[int]] = [[] for _ in addresses]
    for i, (base, size) in enumerate(ranges):
        for k in range(bisect_left(keys, base), bisect_left(keys, base + size)):
            out[order[k]].append(i)
    return out


def _tlbi_tables(s: System, drop_idle: bool = False) -> None:
    """Per broadcast TLBI what it removes; per pc the TLBIs pending and the tables freed. With
    ``drop_idle`` (one address's system), a TLBI that removes nothing of its universe and stops no
    walk of it is not tracked: acting on a PE, it would change nothing but its own mark."""
    live: list[int] = []  # the TLBIs issued since the last full DSB
    pending: tuple[int, ...] = ()
    freed: frozenset[int] = frozenset()
    for pc in range(s.end + 1):
        if len(pending) != len(live):
            pending = tuple(live)
        s.pending.append(pending)  # pcs with the same TLBIs pending share one tuple
        s.freed.append(freed)
        if pc == s.end:
            break
        ins = s.program[pc]
        if ins.op == "dsb" and ins.option in FULL_DSB:
            live = []
        elif ins.op == "free":
            freed = freed | {s.tables.index(ins.table)}
        elif ins.op == "tlbi":
            op = TLBI_OPS[ins.option]
            if not op.broadcast:
                continue  # the updater's PE runs no observer vCPU: a local TLBI reaches none (IDMCXY)

            leaf_kill = 0
            for i, e in enumerate(s.leaf_entries):
                if removes(s, ins, "comb" if e.kind == "comb" else "s2", e.base, e.level):
                    leaf_kill |= 1 << i
            walk_kill = 0
            for i, w in enumerate(s.walk_entries):
                if removes(s, ins, "walk", w.base, w.level, w.next_table):
                    walk_kill |= 1 << i
            kills = set()
            for (ti, ai) in s.walk_loc:
                name = s.tables[ti]
                lvl = s.table_level[name]
                if ti == s.root:
                    continue
                a = s.addresses[ai]
                parent_base = a - a % size_at(lvl - 1)
                if removes(s, ins, "walk", parent_base, lvl - 1, name):
                    kills.add((ai, ti))
            if drop_idle and not (leaf_kill or walk_kill or kills):
                continue
            live.append(pc)
            s.tlbi_leaf_kill[pc] = leaf_kill
            s.tlbi_walk_kill[pc] = walk_kill
            s.tlbi_kills_walk[pc] = kills


def _walk_final(s: System, a: int, mem: dict[Loc, tuple[Descriptor, int]]) -> tuple[Loc, Descriptor, int] | None:
    table = s.tables[s.root]
    while True:
        lvl = s.table_level[table]
        loc = Loc(table, index_at(lvl, a))
        desc, ver = mem.get(loc, (s.initial.get(loc, INVALID), 0))
        if desc.kind == "table":
            table = desc.next_table
            continue
        return (loc, desc, ver) if desc.is_leaf else None


def _final_mappings(s: System) -> None:
    before: dict[Loc, tuple[Descriptor, int]] = {}
    after = {loc: (hist[-1], len(hist) - 1) for loc, hist in s.versions.items()}
    for a in s.addresses:
        b = _walk_final(s, a, before)
        f = _walk_final(s, a, after)
        s.mapped_before.append(b is not None)
        s.mapped_after.append(f is not None)
        s.final_leaf.append((f[0], f[2]) if f else None)
        s.changed.append(f is not None and (b is None or (b[0], b[2]) != (f[0], f[2])))
        # An AF=0 leaf is never cached (RXFXTY), so no cached entry is the final mapping: an AF=1 entry
        # still used after the sequence is stale until a TLBI removes it (RGPPYH, spec §1.2 aging).
        final = s.leaf_entry(f[0], f[2], "s2").content if f and f[1].af == 1 else None
        s.final_content.append(final)


def _choices(s: System) -> None:
    space: ChoiceSpace = s.config.space
    s.universe = space.universe(s.level, s.uses_nt)
    classes: dict[Choices, list[Choices]] = {}
    for c in s.universe:
        classes.setdefault(c.normalized(), []).append(c)
    s.choices = sorted(classes, key=Choices.label)
    s.choice_members = classes


def honours_nt(level: FeatBBM, choices: Choices) -> bool:
    if level is FeatBBM.L0:
        return False
    if level.rank >= 2 and choices.l2_nt is L2Nt.IGNORES:
        return False
    return True


def _bits_of(mask: int, entries: list[LeafEntry]) -> Iterator[tuple[int, LeafEntry]]:
    """The (bit, entry) pairs of the bits set in ``mask``, ascending."""
    while mask:
        low = mask & -mask
        b = low.bit_length() - 1
        yield b, entries[b]
        mask ^= low


def _hot_tables(s: System) -> None:
    """Precompute, per (table, address) and per version of the entry read, what a walk step does,
    and per address the masks the lookup checks use, so step() does no descriptor work."""
    for (ti, ai), loc in s.walk_loc.items():
        outcomes: list[Read] = []
        for ver, desc in enumerate(descs_at(s, loc)):
            if not desc.valid:
                outcomes.append(Read("I", loc, ver))
            elif desc.kind == "table":
                outcomes.append(Read("T", loc, ver, walk_bit=s.walk_bit[s.walk_entry(loc, desc)],
                                     next_table=s.tables.index(desc.next_table)))
            elif desc.af == 0:
                outcomes.append(Read("A", loc, ver))
            else:
                bits = 1 << s.leaf_bit[s.leaf_entry(loc, ver, "s2")]
                if s.track_stage1:
                    bits |= 1 << s.leaf_bit[s.leaf_entry(loc, ver, "comb")]
                shadow = 1 << s.leaf_bit[s.leaf_entry(loc, ver, "shadow")] if desc.nt else 0
                outcomes.append(Read("L", loc, ver, entries=bits, shadow=shadow,
                                     block_nt=desc.nt and desc.kind == "block",
                                     nt_page=desc.nt and desc.kind != "block",  # IPJZBK: nT only in blocks
                                     content=s.leaf_entry(loc, ver, "s2").content,
                                     here=(desc.oa + (s.addresses[ai] - s.loc_base(loc)), desc.attr)))
        s.reads[(ti, ai)] = (s.wloc_index.get(loc, -1), outcomes)
    for ai, a in enumerate(s.addresses):
        mask = s.match_mask[ai]
        trans = {b: (e.oa_at(a), e.attr) for b, e in _bits_of(mask, s.leaf_entries)}
        s.trans.append(trans)
        s.differs.append({x: sum(1 << b for b, y in trans.items() if y != x) for x in set(trans.values())})
        final = s.final_content[ai]
        if final is not None and s.level.rank >= 2:
            # From FEAT_BBML2 on a size change is not BBM-relevant (RKFLJB): an entry that differs
            # from the final mapping only in size (same OA at the address, attributes and
            # permissions) may linger after the sequence, as Linux's split_pmd() relies on.
            level, base, oa, attr, perm = final
            same = (oa + (a - base), attr, perm)
            s.not_final.append(sum(1 << b for b in trans
                                   if (trans[b][0], trans[b][1], s.leaf_entries[b].perm) != same))
        else:
            s.not_final.append(sum(1 << b for b in trans if s.leaf_entries[b].content != final))
