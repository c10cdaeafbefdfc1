"""Spec §9.3, row by row: for every row the model covers, a hand-checkable scenario showing that the
allowed outcome is reachable and that the disallowed ones are not.

Each scenario is a model file written as TOML text and loaded with ``load_text`` (the same path as a
file on disk). Two kinds of evidence are used:

* **reachability by hand**: a :class:`Run` drives ``bbmcheck.system.step.step`` from
  ``initial_states`` along an explicit action list (every action is checked to be enabled, and the
  path is replayed through ``bbmcheck.replay.replay``), then the TLB / walk-cache bit sets or the
  events of the last step are inspected;
* **unreachability by exhaustive search**: ``verify`` with ``result.complete`` asserted, so HOLDS
  means "in no interleaving of these 1-2 vCPUs"; where a property is too coarse, a small
  breadth-first search over every reachable transition (:func:`transitions`) checks a state
  invariant directly.

Action tuples (see ``bbmcheck/system/step.py``): ``("u",)`` the updater's next instruction, ``("p", i)``
a store to written entry ``i`` becomes visible, ``("t", v, pc)`` a pending broadcast TLBI acts on vCPU
``v``, ``("w", v, a, t)`` vCPU ``v`` starts a walk of address ``a`` at table ``t``, ``("s", v)`` the walk
reads its next level, ``("e", v, kind, bit)`` an eviction, ``("l", v, a)`` a TLB lookup.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import pytest

from bbmcheck.arch.config import ChoiceSpace, Config, FeatBBM, L2Nt, NtCache, NtFault, Rmrrpw
from bbmcheck.arch.rules import CAUSES
from bbmcheck.replay import replay
from bbmcheck.results import Finding, Result, Verdict
from bbmcheck.sequences.load import load_text
from bbmcheck.sequences.schema import Loc, Sequence
from bbmcheck.system.build import LeafEntry, System, WalkEntry, build
from bbmcheck.system.state import Action
from bbmcheck.system.step import actions, initial_states, lookup_events, step
from bbmcheck.verify import Options, verify

LEVELS = ("L0", "L1", "L2", "L2-noabort")
PROPS = ("invalid-window", "tlb-conflict", "stale-translation", "freed-table-walk", "bbm-required", "nt-misuse")

IPA = 0x40000000  # T1[1]: 1 GiB at IPA 1 GiB
IPA_HI = 0x40200000  # the second 2 MiB under it
BLOCK = "block oa=0x80000000 attr=normal perm=rw"  # 1 GiB (at level 1) or 2 MiB (at level 2) at OA 2 GiB
BLOCK_NT = BLOCK + " nT"
BLOCK_MOVED = "block oa=0xc0000000 attr=normal perm=rw"  # another output address (row 8)
BLOCK_DEVICE = "block oa=0x80000000 attr=device-nGnRE perm=rw"  # other memory attributes (row 8)
BLOCK_RO = "block oa=0x80000000 attr=normal perm=r"  # a permission-only change (rows 9-11)
BLOCK_2M_HI = "block oa=0x80200000 attr=normal perm=rw"
PAGE = "page oa=0x80000000 attr=normal perm=rw"

# T1 (level-1 root) entry 1 is a 1 GiB block.
ONE_BLOCK = {"T1": (1, {1: BLOCK})}
# T1[1] -> T2, whose entries 0 and 1 are 2 MiB blocks mapping exactly what BLOCK maps there: replacing
# T2 by BLOCK (or BLOCK by T2) is a pure size change (RPVTFW).
TABLE_OF_BLOCKS = {"T1": (1, {1: "table T2"}), "T2": (2, {0: BLOCK, 1: BLOCK_2M_HI})}
# T1[1] -> T2, T2[0] -> T3 (level 3), T3[0] a 4 KiB page: a table below a table (rows 12, 13, 23).
THREE_LEVELS = {"T1": (1, {1: "table T2"}), "T2": (2, {0: "table T3"}), "T3": (3, {0: PAGE})}
# The merge (SMMU §3.21.1.2): table -> block(nT=1); TLBI range; DSB; nT 1->0; TLBI block; DSB.
NT_MERGE = [f"str T1[1], {BLOCK_NT}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish",
            f"str T1[1], {BLOCK}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"]
# The split: block nT 0->1; TLBI block; DSB; block -> table; TLBI range; DSB.
NT_SPLIT = [f"str T1[1], {BLOCK_NT}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish",
            "str T1[1], table T2", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"]
# A complete break-before-make of T1[1] into BLOCK_MOVED (RDDMVT steps 1-6).
BBM_MOVE = ["str T1[1], invalid", "dsb ishst", "tlbi vmalls12e1is", "dsb ish", f"str T1[1], {BLOCK_MOVED}",
            "dsb ishst"]


# ---- building models -----------------------------------------------------------------------------

def model(row: str, tables: dict[str, tuple[int, dict[int, str]]], program: list[str], *, level: str = "L0",
          vcpus: int = 1, addresses: tuple[int, ...] | None = None) -> Sequence:
    """A model file as TOML text (the first table is the root), loaded as ``row-<row>.toml``."""
    lines = [f'name = "row-{row}"', f'level = "{level}"', "program = '''", *program, "'''", ""]
    for i, (name, (lvl, entries)) in enumerate(tables.items()):
        body = ", ".join(f'{k} = "{v}"' for k, v in entries.items())
        lines += [f"[tables.{name}]", f"level = {lvl}", f"root = {'true' if i == 0 else 'false'}",
                  f"entries = {{ {body} }}", ""]
    lines += ["[observers]", f"vcpus = {vcpus}"]
    if addresses is not None:
        lines.append("addresses = [" + ", ".join(f'"{a:#x}"' for a in addresses) + "]")
    return load_text("\n".join(lines) + "\n", f"row-{row}.toml")


def check(seq: Sequence, level: str | None = None, **opts) -> Result:  # type: ignore[no-untyped-def]
    """Exhaustive search; a verdict of HOLDS only means something if the search completed."""
    result = verify(seq, Options(level=FeatBBM.parse(level) if level else None, **opts))
    assert result.complete, result.stop_reason
    return result


def cause(name: str) -> str:
    """The cause sentence a finding lists for an event cause (``bbmcheck.arch.rules.CAUSES``)."""
    text, rules = CAUSES[name].text, CAUSES[name].rules
    return f"{text} ({rules})"


def violated(result: Result, prop: str, *causes: str, when: tuple[str, ...] = (),
             persisting: bool | None = None) -> Finding:
    """``prop`` is VIOLATED on exactly the implementations ``when`` (() = all), its causes are exactly
    ``causes`` (event cause names), and it persists after the sequence completes iff ``persisting``."""
    f = result.finding(prop)
    assert f.verdict is Verdict.VIOLATED, f"{prop}: {f.verdict.name}"
    assert f.violated_when == when, f.violated_when
    if causes:
        assert set(f.causes) == {cause(c) for c in causes}, f.causes
    if persisting is not None:
        assert f.persisting is persisting, f.persisting_when
    assert f.trace is not None and f.trace.replayed
    return f


def holds(result: Result, *props: str) -> None:
    for prop in props:
        f = result.finding(prop)
        assert f.verdict is Verdict.HOLDS, f"{prop}: {f.verdict.name} {f.causes} when {f.violated_when}"


def holds_except(result: Result, *props: str) -> None:
    holds(result, *(p for p in PROPS if p not in props))


def system(seq: Sequence, level: str | None = None, space: ChoiceSpace | None = None,
           rmrrpw: Rmrrpw = Rmrrpw.OVERLAP) -> System:
    lvl = FeatBBM.parse(level) if level else seq.level
    return build(seq, Config(level=lvl, rmrrpw=rmrrpw, space=space or ChoiceSpace()), vcpus=seq.vcpus)


# ---- driving the transition relation by hand ---------------------------------------------------------

class Run:
    """One path through ``step`` from an initial state; every action must be enabled."""

    def __init__(self, s: System, **choice: object) -> None:
        self.s = s
        matches = [i for i, c in enumerate(s.choices) if all(getattr(c, k) == v for k, v in choice.items())]
        assert len(matches) == 1, (choice, [c.label() for c in s.choices])
        self.ci = matches[0]
        self.st = initial_states(s)[self.ci]
        self.path: list[tuple] = []
        self.last: list[tuple] = []  # events of the last action

    def do(self, *acts: tuple) -> Run:
        for code in acts:
            a = Action.of(*code)
            if a.kind != "l":
                assert a in actions(self.s, self.st, evictions=True), f"{a} not enabled"
            self.st, self.last = step(self.s, self.st, a)
            self.path.append(a)
        return self

    def updater(self, n: int = 1) -> Run:
        return self.do(*[("u",)] * n)

    def to_end(self) -> Run:
        return self.updater(self.s.end - self.pc)

    def visible(self, table: str, index: int) -> Run:
        """The oldest store to ``table[index]`` that walkers cannot see yet becomes visible."""
        return self.do(("p", self.s.wlocs.index(Loc(table, index))))

    def tlbi_acts(self, v: int, pc: int) -> Run:
        return self.do(("t", v, pc))

    def walk(self, v: int, ipa: int, start: str | None = None) -> list[tuple]:
        """A whole walk of ``ipa`` by vCPU ``v`` from the root (or a cached pointer to ``start``);
        returns the events of all its steps."""
        events = []
        ti = self.s.root if start is None else self.s.tables.index(start)
        self.do(("w", v, self.addr(ipa), ti))
        events += self.last
        while self.st[3][v][2]:
            self.do(("s", v))
            events += self.last
        return events

    def lookup(self, v: int, ipa: int) -> list[tuple]:
        self.do(("l", v, self.addr(ipa)))
        return self.last

    def addr(self, ipa: int) -> int:
        return self.s.addresses.index(ipa)

    @property
    def pc(self) -> int:
        return self.st[1]

    def tlb(self, v: int) -> list[LeafEntry]:
        return [e for b, e in enumerate(self.s.leaf_entries) if self.st[3][v][0] >> b & 1]

    def walk_cache(self, v: int) -> list[WalkEntry]:
        return [w for b, w in enumerate(self.s.walk_entries) if self.st[3][v][1] >> b & 1]

    def can_start_at(self, v: int, ipa: int, table: str) -> bool:
        return Action.of("w", v, self.addr(ipa), self.s.tables.index(table)) in actions(self.s, self.st)

    def replayed(self, expect: tuple | None = None) -> None:
        """The same path through the library's replayer (raises ReplayError if not enabled)."""
        replay(self.s, self.ci, self.path, expect=expect)


def transitions(s: System, ci: int | None = None) -> Iterator[tuple[tuple, tuple, tuple, list[tuple]]]:
    """Every reachable transition (state, action, next state, events), plain breadth-first search
    without symmetry reduction: for state invariants the findings do not express."""
    starts = initial_states(s)
    queue = deque(starts if ci is None else [starts[ci]])
    seen = set(queue)
    while queue:
        st = queue.popleft()
        for a in actions(s, st):
            nxt, events = step(s, st, a)
            yield st, a, nxt, events
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
        for v in range(s.vcpus):
            for ai in range(len(s.addresses)):
                yield st, ("l", v, ai), st, lookup_events(s, st, v, ai)


def level_entry(level: int, base: int, oa: int = 0x80000000, perm: str = "rw", attr: str = "normal"
                ) -> tuple[int, int, int, str, str]:
    return (level, base, oa, attr, perm)


# ---- row 1 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", LEVELS)
def test_row01_invalid_entry_faults_and_nothing_is_cached(level):
    """Row 1 (IWZCBG): a walk that reads an invalid entry takes a Translation fault at every level and
    caches nothing. During a break-before-make of a mapped address the fault is the invalid window;
    on an address never mapped it is no finding at all."""
    never_mapped = 0x80000000  # T1[2], invalid throughout
    seq = model("1", ONE_BLOCK, BBM_MOVE, level=level, addresses=(IPA, never_mapped))
    run = Run(system(seq))
    run.updater(2)  # str T1[1], invalid; dsb ishst
    assert run.walk(0, IPA) == [("invalid-window", 0, run.addr(IPA), "invalid")]
    assert run.tlb(0) == [] and run.walk_cache(0) == []
    assert run.walk(0, never_mapped) == [] and run.tlb(0) == []
    run.replayed()

    # exhaustively: no walk that faults on an invalid entry ever adds a TLB or walk-cache entry
    s = system(seq)
    faulting = [(st, nxt) for st, a, nxt, evs in transitions(s) if a[0] in "ws" and nxt[3][a[1]][2] == 0
                and s.value(s.walk_loc[_walk_pos(s, st, a)], st[2])[0].kind == "invalid"]
    assert faulting
    for st, nxt in faulting:
        assert [vc[:2] for vc in st[3]] == [vc[:2] for vc in nxt[3]]

    result = check(seq)
    f = violated(result, "invalid-window", "invalid", persisting=False)
    # from the invalid store until the DSB that makes the new one visible (line 'dsb ishst', pc 5)
    assert f.window is not None and (f.window.opens_pc, f.window.closes_pc) == (1, 5)
    holds_except(result, "invalid-window")


def _walk_pos(s: System, st: tuple, a: tuple) -> tuple[int, int]:
    """(table, address) a walk action reads."""
    if a[0] == "w":
        return a[3], a[2]
    w = st[3][a[1]][2] - 1
    return w % len(s.tables), w // len(s.tables)


# ---- row 2 ---------------------------------------------------------------------------------------------

def test_row02_valid_leaf_is_cached_any_time_and_kept_until_a_tlbi():
    """Row 2 (INDFND, RFFWJK, G5.8): a valid AF=1 nT=0 leaf translates and may be cached at any time,
    before the updater does anything; it stays until a TLBI removes it (or it is evicted)."""
    seq = model("2", ONE_BLOCK, ["tlbi vmalls12e1is", "dsb ish"])
    run = Run(system(seq))
    assert run.walk(0, IPA) == []
    assert [e.content for e in run.tlb(0)] == [level_entry(1, IPA)]
    assert run.lookup(0, IPA) == []  # a single match: translate
    run.updater()  # the TLBI is issued but has not acted on this PE
    assert len(run.tlb(0)) == 1
    run.updater()  # DSB ISH completes it everywhere (RYNJCP)
    assert run.tlb(0) == []
    run.replayed()

    evicted = Run(system(seq))
    evicted.walk(0, IPA)
    evicted.do(("e", 0, 0, evicted.st[3][0][0].bit_length() - 1))  # IYGYRY: evictable at any time
    assert evicted.tlb(0) == []

    result = check(seq)
    holds(result, *PROPS)
    assert result.witnesses == {"updater-done": True}


# ---- row 3 ---------------------------------------------------------------------------------------------

def test_row03_access_flag_zero_is_never_cached_and_no_finding():
    """Row 3 (RXFXTY, RLFTXR): a leaf with AF=0 gives an Access flag fault (no HA): it is never cached
    and the fault is not reported as a translation-fault invalid window."""
    seq = model("3", {"T1": (1, {1: BLOCK + " af=0"})}, ["dsb ish"], vcpus=2)
    run = Run(system(seq))
    assert run.walk(0, IPA) == [] and run.tlb(0) == []
    s = system(seq)
    assert all(vc[0] == 0 for _, _, nxt, _ in transitions(s) for vc in nxt[3])
    holds(check(seq), *PROPS)


def test_row03_software_sets_access_flag_without_tlbi():
    """Rows 3 and 16 (IWZCBG / IHQBRF): AF 0 -> 1 by a plain store needs no TLBI, since the AF=0 entry
    was never cached; the new mapping is used once the store is visible."""
    seq = model("3b", {"T1": (1, {1: BLOCK + " af=0"})}, [f"str T1[1], {BLOCK}", "dsb ishst"], vcpus=2)
    run = Run(system(seq))
    run.updater()
    assert run.walk(0, IPA) == [] and run.tlb(0) == []  # store not visible yet: AF fault, nothing cached
    run.visible("T1", 1)
    assert run.walk(0, IPA) == [("witness", 0, run.addr(IPA), "new-mapping")]
    run.replayed(("witness", 0, run.addr(IPA), "new-mapping"))
    result = check(seq)
    holds(result, *PROPS)
    assert result.witnesses == {"updater-done": True, "new-mapping-used": True}


# ---- row 4 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tlbi", "kept"), [
    ("tlbi ipas2le1is, 0x40000000", True),  # leaf only (RJXKNN): walk caches keep the pointer
    ("tlbi vmalle1is", True),  # stage-1 and combined entries only (RZSXRQ)
    ("tlbi ipas2e1is, 0x40000000", False),  # all levels for the IPA, walk cache included
    ("tlbi vmalls12e1is", False),  # everything of the VMID (RVMSWQ)
])
def test_row04_table_pointer_cached_and_reused_until_a_non_leaf_tlbi(tlbi, kept):
    """Row 4 (RRVJDB, G5.8 note): a walk through a valid table entry may cache the table pointer; later
    walks of any address under it may start from the cached pointer, until a TLBI that reaches
    non-final levels (not a leaf-only one) removes it."""
    seq = model("4", TABLE_OF_BLOCKS, [tlbi, "dsb ish"])
    run = Run(system(seq))
    assert not run.can_start_at(0, IPA_HI, "T2")
    run.walk(0, IPA)
    assert [w.text() for w in run.walk_cache(0)] == ["L1 0x40000000->T2"]
    assert run.can_start_at(0, IPA_HI, "T2")  # reused for another address under the same table
    run.walk(0, IPA_HI, start="T2")
    assert {e.content for e in run.tlb(0)} >= {level_entry(2, IPA_HI, oa=0x80200000)}
    run.to_end()
    assert bool(run.walk_cache(0)) is kept
    assert run.can_start_at(0, IPA, "T2") is kept
    run.replayed()
    holds(check(seq), *PROPS)  # nothing changed in memory: nothing to get wrong


# ---- row 5 ---------------------------------------------------------------------------------------------

NT_STORE = [f"str T1[1], {BLOCK_NT}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"]


def test_row05_nt_block_at_l1_faults_only_where_the_implementation_faults():
    """Row 5, L1 (RMRRPW, IPJZBK): whether using an nT=1 block takes a Translation fault is
    IMPLEMENTATION DEFINED. Pinned to nt_fault=always the walk faults, caches nothing and no conflict
    is possible; the fault on an address mapped before and after is an invalid window."""
    seq = model("5", TABLE_OF_BLOCKS, NT_STORE, level="L1")
    always = ChoiceSpace(nt_fault=(NtFault.ALWAYS,))
    run = Run(system(seq, space=always))
    run.updater(2)
    assert run.walk(0, IPA) == [("invalid-window", 0, run.addr(IPA), "nt-fault")]
    assert run.tlb(0) == []
    result = check(seq, space=always)
    violated(result, "invalid-window", "nt-fault", persisting=True)  # the nT=1 block stays in place
    holds_except(result, "invalid-window")


def test_row05_nt_block_at_l1_conflicts_only_where_it_translates():
    """Row 5, L1 (RMRRPW second sentence, spec §3.3 [INF] default reading): a PE that does not fault
    translates through the nT=1 block without caching it conflictingly; a TLB conflict abort is
    possible while an overlapping (here: the old 2 MiB) entry is cached, and only then."""
    seq = model("5", TABLE_OF_BLOCKS, NT_STORE, level="L1")
    never = ChoiceSpace(nt_fault=(NtFault.NEVER,), nt_cache=(NtCache.NONE,))
    run = Run(system(seq, space=never))
    run.walk(0, IPA)  # the old 2 MiB block is cached
    run.updater(2)
    ai = run.addr(IPA)
    assert run.walk(0, IPA) == [("tlb-conflict", 0, ai, "rmrrpw"), ("witness", 0, ai, "new-mapping")]
    assert [e.level for e in run.tlb(0)] == [2]  # the nT=1 block itself is not cached (nt_cache=none)
    run.replayed(("tlb-conflict", 0, run.addr(IPA), "rmrrpw"))

    clean = Run(system(seq, space=never)).updater(2)
    assert clean.walk(0, IPA) == [("witness", 0, clean.addr(IPA), "new-mapping")]  # no overlap: no abort
    literal = Run(system(seq, space=never, rmrrpw=Rmrrpw.LITERAL)).updater(2)
    assert ("tlb-conflict", 0, literal.addr(IPA), "rmrrpw") in literal.walk(0, IPA)  # rmrrpw_literal: any use may abort

    result = check(seq, space=never)
    violated(result, "tlb-conflict", "rmrrpw", persisting=False)  # VMALLS12E1IS + DSB ISH ends the overlap
    holds_except(result, "tlb-conflict")
    # over every implementation: faults only with nt_fault=always, conflicts only with nt_fault=never
    every = check(seq)
    violated(every, "invalid-window", "nt-fault", when=("nt_fault=always",))
    violated(every, "tlb-conflict", when=("nt_fault=never",))


def test_row05_nt_shadow_is_cached_non_conflicting():
    """Row 5, L1 with nt_cache=shadow (SMMU §3.21.1, spec §3.3 [INF]): the nT=1 block is cached as a
    non-conflicting shadow entry, not as a normal entry."""
    seq = model("5", TABLE_OF_BLOCKS, NT_STORE, level="L1")
    shadow = ChoiceSpace(nt_fault=(NtFault.NEVER,), nt_cache=(NtCache.SHADOW,))
    run = Run(system(seq, space=shadow)).updater(2)
    run.walk(0, IPA)
    assert [(e.level, e.kind) for e in run.tlb(0)] == [(1, "shadow")]


def test_row05_nt_block_at_l2_ignoring_pe_caches_a_normal_block():
    """Row 5, L2 (spec §3.3 [INF], SMMU §3.21.1.3): a level-2 PE may ignore nT; the nT=1 block is then
    cached as a normal 1 GiB block and never faults, and a lookup matching it and the old 2 MiB block
    is the ordinary size conflict of row 6."""
    seq = model("5", TABLE_OF_BLOCKS, NT_STORE, level="L2")
    ignores = ChoiceSpace(l2_nt=(L2Nt.IGNORES,))
    run = Run(system(seq, level="L2", space=ignores))
    run.walk(0, IPA)
    run.updater(2)
    assert run.walk(0, IPA) == [("witness", 0, run.addr(IPA), "new-mapping")]
    assert sorted((e.level, e.kind) for e in run.tlb(0)) == [(1, "s2"), (2, "s2")]
    assert run.lookup(0, IPA) == [("tlb-conflict", 0, run.addr(IPA), "size")]
    run.replayed(("tlb-conflict", 0, run.addr(IPA), "size"))
    result = check(seq, space=ignores)
    violated(result, "tlb-conflict", "size", persisting=False)
    holds_except(result, "tlb-conflict")
    # an honouring L2 PE behaves as L1
    every = check(seq)
    violated(every, "invalid-window", "nt-fault", when=("nt_fault=always and l2_nt=honours",))


def test_row05_nt_block_at_l2_noabort_never_conflicts():
    """Row 5, L2-noabort ("as L2 minus C"; Linux BBML2_NOABORT): faults where nT is honoured and
    faults, never a conflict abort, whatever the implementation or the RMRRPW reading."""
    seq = model("5", TABLE_OF_BLOCKS, NT_STORE, level="L2-noabort")
    for rmrrpw in Rmrrpw:
        result = check(seq, rmrrpw=rmrrpw)
        violated(result, "invalid-window", "nt-fault", when=("nt_fault=always and l2_nt=honours",))
        holds_except(result, "invalid-window")


def test_row05_nt_block_at_l0_is_misuse():
    """Row 5, L0 (RDFJNG, IPJZBK): without FEAT_BBML1 bit 16 is RES0: storing an nT=1 block, and a walk
    reading one, are nt-misuse; an nT bit on a page descriptor is misuse at every level."""
    result = check(model("5", TABLE_OF_BLOCKS, NT_STORE, level="L0"))
    violated(result, "nt-misuse", "nt-store-l0", "nt-walk-l0")
    violated(result, "bbm-required")  # and the nT sequence is no BBM at L0 (RKFLJB)
    run = Run(system(model("5", TABLE_OF_BLOCKS, NT_STORE, level="L0"))).updater(2)
    ai = run.addr(IPA)
    assert run.walk(0, IPA) == [("nt-misuse", 0, ai, "nt-walk-l0"), ("witness", 0, ai, "new-mapping")]

    page_nt = model("5", THREE_LEVELS, [f"str T3[0], {PAGE} nT", "dsb ishst"], level="L1")
    violated(check(page_nt), "nt-misuse", "nt-not-block")


# ---- rows 6 and 7 --------------------------------------------------------------------------------------

DIRECT_MERGE = [f"str T1[1], {BLOCK}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"]


@pytest.mark.parametrize("level", LEVELS)
def test_row06_size_only_multi_match(level):
    """Row 6 (RFVQCK at L0; RNGLXZ, RFCPSG, I_HYQMB at L1/L2; Linux BBML2_NOABORT): a lookup matching a
    1 GiB and a 2 MiB entry with the same OA, attributes and permissions may take a TLB conflict abort
    at L0, L1 and L2, never at L2-noabort; the translations agree, so it is never a stale one."""
    seq = model("6", TABLE_OF_BLOCKS, DIRECT_MERGE, level=level)
    run = Run(system(seq))
    run.walk(0, IPA)
    run.updater(2)
    run.walk(0, IPA)
    assert sorted(e.level for e in run.tlb(0)) == [1, 2]
    expected = [] if level == "L2-noabort" else [("tlb-conflict", 0, run.addr(IPA), "size")]
    assert run.lookup(0, IPA) == expected
    result = check(seq)
    if level == "L2-noabort":
        holds(result, "tlb-conflict")
    else:
        violated(result, "tlb-conflict", "size", persisting=False)
    holds(result, "stale-translation", "invalid-window", "freed-table-walk", "nt-misuse")


@pytest.mark.parametrize("level", LEVELS)
def test_row07_size_plus_permission_multi_match(level):
    """Row 7 (RJQQTC; the 2025 reading, [MAINT]): entries differing in size and permissions have row 6's
    outcomes (C or 1 at L1/L2, 1 at L2-noabort); at L2 the direct write is allowed with a note that
    the permission difference is ambiguous (spec §1.3: warn, not error)."""
    tables = {"T1": (1, {1: "table T2"}), "T2": (2, {0: BLOCK_RO, 1: BLOCK_2M_HI})}
    seq = model("7", tables, DIRECT_MERGE, level=level)
    result = check(seq)
    if level == "L2-noabort":
        holds(result, "tlb-conflict")
    else:
        violated(result, "tlb-conflict", "size", persisting=False)
    holds(result, "stale-translation")
    assert (result.finding("bbm-required").verdict is Verdict.VIOLATED) == (level in ("L0", "L1"))
    assert any("ambiguous" in note for note in result.notes), result.notes


# ---- row 8 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("new", [BLOCK_MOVED, BLOCK_DEVICE], ids=["oa", "memattr"])
def test_row08_oa_or_attribute_change_conflicts_at_every_level(level, new):
    """Row 8 (RWHZWS, RPVTFW, RFVQCK): two matching entries that differ in OA or memory attributes may
    conflict (or amalgamate) at every level, L2-noabort included (noabort covers size changes only),
    and the two translations are incoherent (ITHWDH): stale-translation."""
    seq = model("8", ONE_BLOCK, [f"str T1[1], {new}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"], level=level)
    run = Run(system(seq))
    run.walk(0, IPA)
    run.updater(2)
    ai = run.addr(IPA)
    assert run.walk(0, IPA) == [("stale-translation", 0, ai, "incoherent"), ("witness", 0, ai, "new-mapping")]
    ai = run.addr(IPA)
    assert run.lookup(0, IPA) == [("tlb-conflict", 0, ai, "oa-attr"), ("stale-translation", 0, ai, "incoherent")]
    run.replayed(("tlb-conflict", 0, run.addr(IPA), "oa-attr"))
    result = check(seq)
    violated(result, "tlb-conflict", "oa-attr", persisting=False)
    violated(result, "stale-translation", "incoherent", persisting=False)
    violated(result, "bbm-required")
    holds(result, "invalid-window", "freed-table-walk", "nt-misuse")


@pytest.mark.parametrize("level", LEVELS)
def test_row08_size_plus_oa_change_is_not_relaxed_by_any_level(level):
    """Row 8 with a size change (RPVTFW): FEAT_BBM relaxes only pure size changes; a table -> block
    write whose block maps another OA needs BBM even at L2, and conflicts even at L2-noabort."""
    seq = model("8b", TABLE_OF_BLOCKS, [f"str T1[1], {BLOCK_MOVED}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"],
                level=level)
    result = check(seq)
    violated(result, "tlb-conflict", "oa-attr", persisting=False)
    violated(result, "stale-translation", "incoherent")
    f = violated(result, "bbm-required")
    assert "not a pure size change (RPVTFW)" in f.causes[0]


@pytest.mark.parametrize("level", LEVELS)
def test_row08_the_same_change_with_bbm_is_safe(level):
    """Rows 8 and 10 (RDDMVT): the same OA change through the six BBM steps never has two entries
    (only the invalid window of row 1 remains)."""
    result = check(model("8c", ONE_BLOCK, BBM_MOVE, level=level, vcpus=2))
    violated(result, "invalid-window", "invalid", persisting=False)
    holds_except(result, "invalid-window")


# ---- rows 9 and 10 -------------------------------------------------------------------------------------

PERM_CHANGE = [f"str T1[1], {BLOCK_RO}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"]


def test_row09_before_the_covering_tlbi_completes_old_or_new():
    """Row 9 (RFFWJK, RGPPYH): after the new store and before a covering TLBI completes, a vCPU may use
    the old (stale, self-consistent) entry while another already uses the new one. A permission-only
    change needs no BBM (RWHZWS), so neither is a finding."""
    seq = model("9", ONE_BLOCK, PERM_CHANGE, vcpus=2)
    run = Run(system(seq))
    run.walk(0, IPA)
    run.updater(2)  # store + DSB ISHST: visible, TLBI not yet issued
    assert run.walk(1, IPA) == [("witness", 1, run.addr(IPA), "new-mapping")]
    assert [e.perm for e in run.tlb(0)] == ["rw"] and [e.perm for e in run.tlb(1)] == ["r"]
    assert run.lookup(0, IPA) == [] and run.lookup(1, IPA) == []
    run.updater()  # TLBI issued, not complete: it may act on one PE before the other
    run.tlbi_acts(1, 2)
    assert [e.perm for e in run.tlb(0)] == ["rw"] and run.tlb(1) == []
    run.replayed()


def test_row10_after_broadcast_tlbi_and_dsb_ish_only_the_new():
    """Row 10 (RLXHLD, RYNJCP, ICPZSM): once a covering broadcast TLBI has been completed by the
    issuer's DSB ISH, no PE holds or uses the old entry: in every reachable state at the end of the
    sequence every cached entry is the new one, and the new mapping is used."""
    seq = model("10", ONE_BLOCK, PERM_CHANGE, vcpus=2)
    s = system(seq)
    final = level_entry(1, IPA, perm="r")
    at_end = [nxt for _, _, nxt, _ in transitions(s) if nxt[1] == s.end]
    assert at_end
    for st in at_end:
        for tlb, _wc, _walk, _applied in st[3]:
            assert all(s.leaf_entries[b].content == final for b in range(len(s.leaf_entries)) if tlb >> b & 1)
    run = Run(s)
    run.walk(0, IPA)
    run.to_end()
    assert run.tlb(0) == []
    result = check(seq)
    holds(result, *PROPS)
    assert result.witnesses["new-mapping-used"]


@pytest.mark.parametrize(("completion", "persists"), [
    (["tlbi vmalls12e1is", "dsb ish"], False),
    (["tlbi vmalls12e1is", "dsb ishst"], True),  # RPSMWS: only a DSB covering loads and stores completes it
    (["tlbi vmalls12e1is", "dsb nsh"], True),  # RPSMWS: DSB ISH for an Inner Shareable TLBI
    (["tlbi ipas2e1is, 0x40000000", "dsb ish"], True),  # RVZZVZ: combined S1+S2 entries survive
    (["tlbi ipas2e1is, 0x40000000", "dsb ish", "tlbi vmalle1is", "dsb ish"], False),  # KVM's pair
])
def test_row10_only_a_covering_completed_tlbi_counts(completion, persists):
    """Row 10 (RLXHLD, RYNJCP, RPSMWS, RVZZVZ, ICKZGP): the TLBI must cover every cached form of the
    entry and be completed by a DSB ISH; otherwise the old entry outlives the sequence (row 9's S)."""
    result = check(model("10b", ONE_BLOCK, [f"str T1[1], {BLOCK_RO}", "dsb ishst", *completion]))
    if persists:
        violated(result, "stale-translation", "after-completion", persisting=True)
    else:
        holds(result, *PROPS)


def test_row10_access_flag_clear_without_tlbi_leaves_the_old_entry():
    """Rows 9/10 with AF 1 -> 0 (RGPPYH, spec §1.2): without a TLBI the AF=1 entry survives the update
    exactly as a permission change's old entry does; with a TLBI + DSB ISH it does not."""
    with_tlbi = check(model("10c", ONE_BLOCK, [f"str T1[1], {BLOCK} af=0", "dsb ishst", "tlbi vmalls12e1is",
                                               "dsb ish"]))
    holds(with_tlbi, *PROPS)
    seq = model("10c", ONE_BLOCK, [f"str T1[1], {BLOCK} af=0", "dsb ishst"])
    run = Run(system(seq))
    run.walk(0, IPA)
    run.to_end()
    assert [e.content for e in run.tlb(0)] == [level_entry(1, IPA)]  # the AF=1 entry outlives the update
    violated(check(seq), "stale-translation", "after-completion", persisting=True)


# ---- row 11 --------------------------------------------------------------------------------------------

def test_row11_local_tlbi_leaves_other_pes_entries():
    """Row 11 (IDMCXY, RQRNJC): a non-IS TLBI acts on the issuing PE only; the vCPUs' PEs keep the old
    entry (row 9's S) after the sequence, even with DSB ISH."""
    seq = model("11", ONE_BLOCK, [f"str T1[1], {BLOCK_RO}", "dsb ishst", "tlbi vmalls12e1", "dsb ish"], vcpus=2)
    run = Run(system(seq))
    run.walk(0, IPA)
    run.updater(3)
    assert not any(a[0] == "t" for a in actions(run.s, run.st))  # nothing pending for the vCPUs
    run.updater()
    assert [e.perm for e in run.tlb(0)] == ["rw"]
    assert run.lookup(0, IPA) == [("stale-translation", 0, run.addr(IPA), "after-completion")]
    run.replayed(("stale-translation", 0, run.addr(IPA), "after-completion"))
    result = check(seq)
    violated(result, "stale-translation", "after-completion", persisting=True)
    holds_except(result, "stale-translation")
    broadcast = check(model("11b", ONE_BLOCK, PERM_CHANGE, vcpus=2))
    holds(broadcast, *PROPS)


# ---- row 12 --------------------------------------------------------------------------------------------

def _unlink_t3(tlbi: str, free: bool) -> list[str]:
    return ["str T2[0], invalid", "dsb ishst", tlbi, "dsb ish", "tlbi vmalle1is", "dsb ish"] + (
        ["free T3"] if free else [])


def test_row12_leaf_only_tlbi_leaves_the_table_pointer():
    """Row 12 (RSQXYZ, RRVJDB; f62d4c3eb687): T2[0] -> T3 is unlinked but only a leaf-only TLBI
    (IPAS2LE1IS) is issued: the walk-cache pointer to T3 survives, walks start from it and translate
    through the unlinked table after the sequence completed (S)."""
    seq = model("12", THREE_LEVELS, _unlink_t3("tlbi ipas2le1is, 0x40000000", free=False))
    run = Run(system(seq))
    run.walk(0, IPA)
    assert sorted(w.text() for w in run.walk_cache(0)) == ["L1 0x40000000->T2", "L2 0x40000000->T3"]
    run.to_end()
    assert run.tlb(0) == []
    assert sorted(w.text() for w in run.walk_cache(0)) == ["L1 0x40000000->T2", "L2 0x40000000->T3"]
    run.walk(0, IPA, start="T3")
    assert {e.content for e in run.tlb(0)} == {level_entry(3, IPA)}  # stage-2 and combined forms
    assert run.lookup(0, IPA) == [("stale-translation", 0, run.addr(IPA), "after-completion")]
    run.replayed(("stale-translation", 0, run.addr(IPA), "after-completion"))
    result = check(seq)
    violated(result, "stale-translation", "after-completion", persisting=True)
    holds_except(result, "stale-translation")


def test_row12_leaf_only_tlbi_then_free_walks_freed_memory():
    """Row 12 then row 23 (RRVJDB, RLXHLD): freeing T3 after the leaf-only TLBI lets a walk through the
    cached pointer read the freed page (U): freed-table-walk, persisting."""
    seq = model("12b", THREE_LEVELS, _unlink_t3("tlbi ipas2le1is, 0x40000000", free=True))
    run = Run(system(seq))
    run.walk(0, IPA)
    run.to_end()
    assert run.walk(0, IPA, start="T3") == [("freed-table-walk", 0, run.addr(IPA), "freed")]
    run.replayed(("freed-table-walk", 0, run.addr(IPA), "freed"))
    result = check(seq)
    violated(result, "freed-table-walk", "freed", persisting=True)
    violated(result, "stale-translation", persisting=True)
    holds(result, "invalid-window", "tlb-conflict", "bbm-required", "nt-misuse")


@pytest.mark.parametrize("tlbi", ["tlbi ipas2e1is, 0x40000000", "tlbi vmalls12e1is"])
def test_row12_non_leaf_tlbi_before_free_is_safe(tlbi):
    """Row 12's contrast (§2.3 walk-cache trap, §5.3): a TLBI reaching non-final levels removes the
    pointer (and walks in flight through it) before the free."""
    holds(check(model("12c", THREE_LEVELS, _unlink_t3(tlbi, free=True), vcpus=2)), *PROPS)


# ---- row 13 --------------------------------------------------------------------------------------------

def _verdicts(result: Result) -> dict[str, tuple[Verdict, bool]]:
    return {f.property: (f.verdict, f.persisting) for f in result.findings}


def test_row13_wrong_ttl_is_as_if_no_tlbi():
    """Row 13 (RSQXYZ, ILTZBK): a TTL hint naming another level than the leaf's (here 2, the page is at
    level 3) requires nothing to be invalidated: the verdicts equal those without the TLBI, and the
    stage-2 page entry outlives the sequence. The right hint (3) removes it."""
    def unmap(tlbi: list[str]) -> Sequence:
        return model("13", THREE_LEVELS, ["str T3[0], invalid", "dsb ishst", *tlbi, "tlbi vmalle1is", "dsb ish"])

    wrong = unmap(["tlbi ipas2e1is, 0x40000000, ttl=2", "dsb ish"])
    none = unmap([])
    assert _verdicts(check(wrong)) == _verdicts(check(none))
    violated(check(wrong), "stale-translation", "after-completion", persisting=True)
    run = Run(system(wrong))
    run.walk(0, IPA)
    run.to_end()
    assert [(e.level, e.kind) for e in run.tlb(0)] == [(3, "s2")]
    holds(check(unmap(["tlbi ipas2e1is, 0x40000000, ttl=3", "dsb ish"])), *PROPS)


@pytest.mark.parametrize(("ttl", "right"), [(", ttl=1", False), (", ttl=2", False), (", ttl=3", True), ("", True)])
def test_row13_ttl_on_a_table_unlink_then_free(ttl, right):
    """Rows 13, 12, 23 (RSQXYZ, ILTZBK, §2.3 walk-cache trap): unlinking T2[0] -> T3 (whose leaf, the
    page, is at level 3) and freeing T3. A hint naming the level of the table entry (2; bug class of
    36e008323926) or above it is wrong: as if no by-IPA TLBI, the freed table can be walked. The
    leaf's level (3) or no hint removes every level on the walk."""
    def unlink(tlbi: list[str]) -> Sequence:
        return model("13c", THREE_LEVELS, ["str T2[0], invalid", "dsb ishst", *tlbi, "tlbi vmalle1is", "dsb ish",
                                           "free T3"])

    result = check(unlink([f"tlbi ipas2e1is, 0x40000000{ttl}", "dsb ish"]))
    if right:
        holds(result, *PROPS)
    else:
        assert _verdicts(result) == _verdicts(check(unlink([])))
        violated(result, "freed-table-walk", "freed", persisting=True)


def test_row13_wrong_ttl_deeper_than_the_leaf_is_as_if_no_tlbi():
    """Row 13 (RSQXYZ) then row 23: a TTL deeper than the leaf (3 for a 2 MiB block) is as wrong as a
    shallower one; unlinking and freeing T2 behind it must show the same verdicts as no TLBI."""
    def unlink(tlbi: list[str]) -> Sequence:
        return model("13b", {"T1": (1, {1: "table T2"}), "T2": (2, {0: BLOCK})},
                     ["str T1[1], invalid", "dsb ishst", *tlbi, "tlbi vmalle1is", "dsb ish", "free T2"])

    none = check(unlink([]))
    violated(none, "freed-table-walk", "freed", persisting=True)
    wrong = check(unlink(["tlbi ipas2e1is, 0x40000000, ttl=3", "dsb ish"]))
    assert _verdicts(wrong) == _verdicts(none)


# ---- row 14 --------------------------------------------------------------------------------------------

def test_row14_tlbi_without_dsb_after_the_store_allows_a_refetch():
    """Row 14 (RTGVWD, RDDMVT step 2; casemate): with no DSB between the invalidating store and the
    TLBI, the TLBI may act before walkers see the store; a walk then refetches the old entry, and
    the final DSB ISH does not remove it again: as if no TLBI."""
    seq = model("14", ONE_BLOCK, ["str T1[1], invalid", "tlbi vmalls12e1is", "dsb ish"])
    run = Run(system(seq))
    run.walk(0, IPA)
    run.updater(2)
    run.tlbi_acts(0, 1)
    assert run.tlb(0) == []
    run.walk(0, IPA)  # the invalid store is not visible yet: the old block is refetched
    run.updater()
    assert run.pc == run.s.end and [e.content for e in run.tlb(0)] == [level_entry(1, IPA)]
    assert run.lookup(0, IPA) == [("stale-translation", 0, run.addr(IPA), "after-completion")]
    run.replayed(("stale-translation", 0, run.addr(IPA), "after-completion"))
    violated(check(seq), "stale-translation", "after-completion", persisting=True)
    holds(check(model("14b", ONE_BLOCK, ["str T1[1], invalid", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"])),
          *PROPS)


def test_row14_missing_dsb_also_breaks_the_bbm():
    """Row 14 in a remap (RDDMVT): without step 2 the break is not complete when the new entry is
    written, so the OA change was made without BBM (rows 8, 15)."""
    seq = model("14c", ONE_BLOCK, ["str T1[1], invalid", "tlbi vmalls12e1is", "dsb ish",
                                    f"str T1[1], {BLOCK_MOVED}", "dsb ishst"])
    result = check(seq)
    violated(result, "bbm-required")
    violated(result, "tlb-conflict", "oa-attr")


# ---- row 15 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", LEVELS)
def test_row15_new_entry_before_the_tlbi_completes_coexists(level):
    """Row 15 (RDDMVT; casemate 'invalid unclean -> valid'): writing the new entry before the TLBI is
    completed lets the old and the new entry coexist in one TLB: rows 6-8 (an OA change: C at every
    level, incoherent). The final DSB ISH completes the VMALL TLBI, so it is transient."""
    seq = model("15", ONE_BLOCK, ["str T1[1], invalid", "dsb ishst", "tlbi vmalls12e1is",
                                  f"str T1[1], {BLOCK_MOVED}", "dsb ish"], level=level)
    run = Run(system(seq))
    run.walk(0, IPA)
    run.updater(4)
    run.visible("T1", 1)
    run.walk(0, IPA)
    assert sorted(e.oa for e in run.tlb(0)) == [0x80000000, 0xC0000000]
    assert ("tlb-conflict", 0, run.addr(IPA), "oa-attr") in run.lookup(0, IPA)
    result = check(seq)
    violated(result, "tlb-conflict", "oa-attr", persisting=False)
    violated(result, "stale-translation", "incoherent", persisting=False)
    f = violated(result, "bbm-required")
    # the break is not complete (no DSB ISH after the TLBI), and the finding says what is missing
    assert "made before the break at line 4 completed (TLBI VMALLS12E1IS at line 6 is not completed by a DSB ISH" \
        in f.causes[0] and "output address changes (RWHZWS item 2)" in f.causes[0]


# ---- row 16 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", LEVELS)
def test_row16_invalid_to_valid_needs_no_tlbi(level):
    """Row 16 (IWZCBG): a fresh mapping needs no TLBI. Walks fault until the store is visible, but the
    address was not mapped before, so that is no invalid window; then the new mapping is used."""
    seq = model("16", {"T1": (1, {})}, [f"str T1[1], {BLOCK}", "dsb ishst"], level=level, vcpus=2)
    run = Run(system(seq))
    run.updater()
    assert run.walk(0, IPA) == [] and run.tlb(0) == []  # F, not a finding
    run.visible("T1", 1)
    assert run.walk(0, IPA) == [("witness", 0, run.addr(IPA), "new-mapping")]
    run.replayed(("witness", 0, run.addr(IPA), "new-mapping"))
    result = check(seq)
    holds(result, *PROPS)
    assert result.witnesses == {"updater-done": True, "new-mapping-used": True}


# ---- row 17 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("direction", ["merge", "split"])
def test_row17_direct_pure_size_change(level, direction):
    """Row 17 (RKFLJB, I_HYQMB): table -> block (or block -> table) written directly, a pure size
    change: BBM required at L0 (BBM only) and L1 (BBM or nT); allowed at L2 with a transient
    conflict until the covering TLBI completes; allowed at L2-noabort with no conflict."""
    if direction == "merge":
        seq = model("17", TABLE_OF_BLOCKS, DIRECT_MERGE, level=level)
    else:
        tables = {"T1": (1, {1: BLOCK}), "T2": (2, {0: BLOCK, 1: BLOCK_2M_HI})}
        seq = model("17", tables, ["str T1[1], table T2", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"], level=level)
    result = check(seq)
    if level in ("L0", "L1"):
        f = violated(result, "bbm-required")
        allowed = "break-before-make" if level == "L0" else "break-before-make, nT sequence"
        assert f"permits only {allowed} (a pure block-size change (RKFLJB))" in f.causes[0], f.causes
    else:
        holds(result, "bbm-required")
    if level == "L2-noabort":
        holds(result, "tlb-conflict")
    else:
        violated(result, "tlb-conflict", "size", persisting=False)
    holds(result, "invalid-window", "stale-translation", "freed-table-walk", "nt-misuse")


def test_row17_l2_conflict_lasts_until_a_covering_tlbi():
    """Row 17, L2 (I_HYQMB): without the TLBI after the direct write the size conflict stays possible
    after the sequence; at L2-noabort it never is."""
    seq = model("17b", TABLE_OF_BLOCKS, [f"str T1[1], {BLOCK}", "dsb ishst"], level="L2")
    violated(check(seq), "tlb-conflict", "size", persisting=True)
    holds(check(seq, level="L2-noabort"), "tlb-conflict")


# ---- row 18 --------------------------------------------------------------------------------------------

def test_row18_nt_merge_with_final_tlbi_is_transient():
    """Row 18, L1 (SMMU §3.21.1.2, RMRRPW, I_HYQMB): in the window S, F (where nT faults) or C (where it
    translates while old entries are cached); with the final TLBI after clearing nT, nothing persists."""
    result = check(model("18", TABLE_OF_BLOCKS, NT_MERGE, level="L1"))
    violated(result, "invalid-window", "nt-fault", when=("nt_fault=always",), persisting=False)
    conflict = violated(result, "tlb-conflict", when=("nt_fault=never",), persisting=False)
    assert cause("rmrrpw") in conflict.causes
    holds(result, "stale-translation", "freed-table-walk", "bbm-required", "nt-misuse")


def test_row18_nt_merge_without_final_tlbi_persists_only_with_shadows():
    """Row 18, L1 (§8.2 item 3, I_HYQMB): clearing nT with no TLBI after it leaves a conflict possible
    after the sequence only where nT=1 blocks are cached as shadows (nt_cache=shadow): the shadow and
    the nT=0 block both match."""
    seq = model("18b", TABLE_OF_BLOCKS, NT_MERGE[:6], level="L1")
    result = check(seq)
    conflict = violated(result, "tlb-conflict", when=("nt_fault=never",), persisting=True)
    assert conflict.persisting_when == ("nt_fault=never and nt_cache=shadow",)
    holds(result, "stale-translation", "freed-table-walk", "bbm-required", "nt-misuse")
    violated(check(seq, space=ChoiceSpace(nt_cache=(NtCache.NONE,))), "tlb-conflict", when=("nt_fault=never",),
             persisting=False)

    run = Run(system(seq), nt_fault=NtFault.NEVER, nt_cache=NtCache.SHADOW)
    run.updater(4)  # nT store visible, VMALLS12E1IS completed
    assert run.walk(0, IPA) == []  # translates through the nT=1 block: no overlap, no abort
    assert [(e.level, e.kind) for e in run.tlb(0)] == [(1, "shadow")]
    run.updater(2)  # nT 1 -> 0, DSB ISHST: the end
    run.walk(0, IPA)
    assert sorted((e.level, e.kind) for e in run.tlb(0)) == [(1, "s2"), (1, "shadow")]
    assert run.lookup(0, IPA) == [("tlb-conflict", 0, run.addr(IPA), "nt-shadow")]
    run.replayed(("tlb-conflict", 0, run.addr(IPA), "nt-shadow"))


def test_row18_nt_merge_at_l2_and_l2_noabort():
    """Row 18, L2: as L1, or as row 17 where nT is ignored (a size conflict, no fault); L2-noabort: as
    L2 minus C. L0: nT is misuse (RDFJNG)."""
    seq = model("18c", TABLE_OF_BLOCKS, NT_MERGE, level="L2")
    ignoring = check(seq, space=ChoiceSpace(l2_nt=(L2Nt.IGNORES,)))
    violated(ignoring, "tlb-conflict", "size", persisting=False)
    holds_except(ignoring, "tlb-conflict")
    noabort = check(seq, level="L2-noabort")
    holds(noabort, "tlb-conflict", "stale-translation", "bbm-required")
    violated(noabort, "invalid-window", "nt-fault", when=("nt_fault=always and l2_nt=honours",))
    violated(check(seq, level="L0"), "nt-misuse", "nt-store-l0", "nt-walk-l0")


# ---- row 19 --------------------------------------------------------------------------------------------

SPLIT_TABLES = {"T1": (1, {1: BLOCK}), "T2": (2, {0: BLOCK, 1: BLOCK_2M_HI})}


def test_row19_nt_split():
    """Row 19, L1 (SMMU §3.21.1.2, RMRRPW): block nT 0->1; TLBI; block -> table; TLBI. In the window F
    where nT faults, C only where the nT=1 block is cached as a shadow next to the new 2 MiB entries;
    after the final TLBI nothing; the nT sequence is a permitted protocol at L1 (RKFLJB)."""
    seq = model("19", SPLIT_TABLES, NT_SPLIT, level="L1")
    result = check(seq)
    violated(result, "invalid-window", "nt-fault", when=("nt_fault=always",), persisting=False)
    violated(result, "tlb-conflict", when=("nt_fault=never and nt_cache=shadow",), persisting=False)
    holds(result, "stale-translation", "freed-table-walk", "bbm-required", "nt-misuse")

    run = Run(system(seq), nt_fault=NtFault.NEVER, nt_cache=NtCache.SHADOW)
    run.updater(4)
    run.walk(0, IPA)  # the nT=1 block: a shadow
    run.updater(2)  # the table is installed and visible; the final TLBI is not issued yet
    run.walk(0, IPA)
    assert sorted((e.level, e.kind) for e in run.tlb(0)) == [(1, "shadow"), (2, "s2")]
    assert run.lookup(0, IPA) == [("tlb-conflict", 0, run.addr(IPA), "size")]
    run.to_end()
    assert run.tlb(0) == []


def test_row19_nt_split_at_other_levels():
    """Row 19: at L2-noabort as L2 minus C; at L0 nT is misuse and the split is no BBM."""
    seq = model("19b", SPLIT_TABLES, NT_SPLIT, level="L1")
    noabort = check(seq, level="L2-noabort")
    holds(noabort, "tlb-conflict", "stale-translation", "bbm-required")
    l0 = check(seq, level="L0")
    violated(l0, "nt-misuse", "nt-store-l0", "nt-walk-l0")
    violated(l0, "bbm-required")


# ---- row 23 --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("program", [
    ["str T1[1], invalid", "dsb ishst", "free T2", "tlbi vmalls12e1is", "dsb ish"],
    ["str T1[1], invalid", "dsb ishst", "tlbi vmalls12e1is", "free T2", "dsb ish"],
], ids=["free-before-tlbi", "free-before-dsb"])
def test_row23_table_freed_before_tlbi_and_dsb(program):
    """Row 23 (RRVJDB, §5.3 conditions 2-3; casemate, Xen p2m_free_entry): freeing the unlinked table
    before the non-leaf TLBI has been completed by DSB ISH lets a walk through a cached pointer read
    the freed page (U). The completion removes the pointer, so the hazard does not persist."""
    seq = model("23", TABLE_OF_BLOCKS, program)
    run = Run(system(seq))
    run.walk(0, IPA)
    run.updater(program.index("free T2") + 1)  # up to and including the free
    assert run.walk(0, IPA, start="T2") == [("freed-table-walk", 0, run.addr(IPA), "freed")]
    run.replayed(("freed-table-walk", 0, run.addr(IPA), "freed"))
    result = check(seq)
    violated(result, "freed-table-walk", "freed", persisting=False)
    holds(result, "invalid-window", "tlb-conflict", "bbm-required", "nt-misuse")


def test_row23_free_after_completion_is_safe():
    """Row 23's contrast (§5.3): unlink, DSB ISHST, VMALLS12E1IS, DSB ISH, then free."""
    seq = model("23b", TABLE_OF_BLOCKS, ["str T1[1], invalid", "dsb ishst", "tlbi vmalls12e1is", "dsb ish",
                                         "free T2"], vcpus=2)
    holds(check(seq), *PROPS)


# ---- rows the model does not cover ---------------------------------------------------------------------

# Each known gap is a strict xfail: the body asserts what closing the gap would add and fails with an
# AssertionError today; once the model changes so that the assertion holds, the test passes and, being
# strict, turns red until the gap is re-examined. A precondition on today's behaviour that no longer
# holds is pytest.fail (not an AssertionError), so it is red too.

@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "Row 20 (R_FWRMB): the EL2 routing appears only in the cause text of size/rmrrpw conflicts; the model has "
    "no exception levels, so no outcome distinguishes EL1 from EL2"))
def test_known_gap_row20_conflict_abort_routing_to_el2():
    """Row 20 (R_FWRMB): a stage-2 conflict abort from a size change with BBML1/2 is taken to EL2."""
    from bbmcheck.system.state import Event

    if not ("EL2" in cause("size") and "R_FWRMB" in cause("size")):
        pytest.fail("the size-conflict cause no longer states the EL2 routing (R_FWRMB)")
    assert set(Event._fields) - {"prop", "vcpu", "address", "cause"}, "an event names no exception level"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "Row 21 (G5.8.5): which stage reports a conflict abort from other causes is IMPLEMENTATION DEFINED; the "
    "model reports tlb-conflict without a stage"))
def test_known_gap_row21_conflict_abort_stage_for_other_causes():
    from dataclasses import fields

    from bbmcheck.system.state import Event

    named = [n for n in (*Event._fields, *(f.name for f in fields(Finding))) if "stage" in n]
    assert named, "neither an event nor a finding names the stage that reports a conflict abort"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "Row 22 (RBLRKC, IJCCRT, RGRVDR): recovery after a conflict abort (by-address TLBI not guaranteed, "
    "VMALLS12E1/ALLE1 guaranteed, local suffices) is not modelled: there is no abort handler and no "
    "observer-side TLBI"))
def test_known_gap_row22_conflict_abort_recovery():
    from bbmcheck.system.state import Kind

    others = {k.value for k in Kind} - set("uptwsel")
    assert others, "no action is an abort handler or a TLBI issued by an observer"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "Row 24 (RLFTXR, RPQJJR, IBMRWH): hardware Access-flag/dirty read-modify-writes racing plain software "
    "stores are not modelled (no FEAT_HAFDBS, no LOST_HW_UPDATE property)"))
def test_known_gap_row24_hw_access_flag_updates():
    from bbmcheck.arch.rules import PROPERTIES

    assert any(word in p for p in PROPERTIES for word in ("lost", "hw", "dirty", "access-flag")), PROPERTIES


def test_every_row_the_model_implements_has_a_test():
    """bbmcheck.arch.rules.ROWS lists the §9.3 rows the model states; each has a test (or a named known gap)."""
    import re
    import sys

    from bbmcheck.arch.rules import ROWS

    covered = set()
    for name in dir(sys.modules[__name__]):
        if name.startswith(("test_row", "test_known_gap_row")):
            for group in re.findall(r"rows?((?:\d\d_?)+)", name):
                covered |= {int(x) for x in re.findall(r"\d\d", group)}
    assert not sorted(set(ROWS) - covered), f"rows without a test: {sorted(set(ROWS) - covered)}"


def test_row05_nt_on_a_page_in_the_tables_is_misuse():
    """IPJZBK: nT exists only in block descriptors; a page carrying it in the tables before the
    update is reported when a walk reads it, not only when the program stores one."""
    from bbmcheck.sequences.edit import sequence

    seq = sequence("nt-page", level="L1", vcpus=1, program=["dsb ish"], tables={
        "T1": {"level": 1, "root": True, "entries": {1: "table T2"}},
        "T2": {"level": 2, "entries": {0: "table T3"}},
        "T3": {"level": 3, "entries": {0: "page oa=0x80000000 attr=normal perm=rw nT"}}})
    assert verify(seq).finding("nt-misuse").verdict is Verdict.VIOLATED


@pytest.mark.parametrize("level", LEVELS)
def test_row17_larger_entry_may_linger_after_a_split_from_bbml2(level):
    """RKFLJB: from FEAT_BBML2 a block may be split with no TLBI after it and the larger entry may
    linger (Linux split_pmd()); it is not a stale translation there (same OA, attributes and
    permissions), while at L0/L1 the split needs BBM and the lingering block is stale.

    Only IPA 0x40000000 is checked: T2 maps just its first 2 MiB, so the rest of the old 1 GiB
    block is unmapped by the split, and a lingering block translating IPA 0x40200000 is stale at
    every level (the default representatives include that region; the report names it when the
    listed addresses leave it out)."""
    from bbmcheck.sequences.edit import sequence

    tables = {"T1": {"level": 1, "root": True, "entries": {1: "block oa=0x80000000 attr=normal perm=rw"}},
              "T2": {"level": 2, "entries": {0: "block oa=0x80000000 attr=normal perm=rw"}}}
    program = ["dsb ishst", "stlr T1[1], table T2", "dsb ishst"]
    seq = sequence("split-no-tlbi", level=level, vcpus=1, program=program, tables=tables, addresses=[IPA])
    result = verify(seq)
    assert any("IPA 0x40200000" in n for n in result.notes), result.notes
    unmapped = verify(sequence("split-no-tlbi", level=level, vcpus=1, program=program, tables=tables))
    violated(unmapped, "stale-translation", "after-completion", persisting=True)
    stale = result.finding("stale-translation").verdict
    assert (stale is Verdict.HOLDS) == (level in ("L2", "L2-noabort")), stale
    assert (result.finding("bbm-required").verdict is Verdict.VIOLATED) == (level in ("L0", "L1"))
    assert (result.finding("tlb-conflict").verdict is Verdict.VIOLATED) == (level != "L2-noabort")
