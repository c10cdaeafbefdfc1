"""The five classes of wrong behaviour measured on independently encoded real sequences (Linux KVM,
Xen, Gunyah, Hafnium), one test per class, each a scenario in this project's own words that
reproduces the construct. Every test failed before its class was fixed.

1. representative addresses missed IPAs under tables that hold no leaf (unsound: "holds");
2. bbm-required rejected breaks that invalidate a table page by page with by-IPA TLBIs;
3. bbm-required and nT: a leading invalid store, and nT set and cleared on the same block;
4. an nT=1 shadow reported as conflicting with the identical entry cached before nT was set;
5. stale-translation at FEAT_BBML2 for a lingering entry whose table page was freed.
"""

from __future__ import annotations

import pytest
from test_rows import BLOCK, BLOCK_NT, IPA, IPA_HI, PAGE, Run, check, holds, model, system, violated

from bbmcheck.arch.config import ChoiceSpace, NtCache, NtFault
from bbmcheck.errors import InputError
from bbmcheck.results import Verdict
from bbmcheck.sequences.edit import edit
from bbmcheck.sequences.load import load_model, load_text

EMPTY_T3 = {"T1": (1, {1: "table T2"}), "T2": (2, {0: BLOCK, 1: "table T3"}), "T3": (3, {})}


# ---- class 1: representative addresses ------------------------------------------------------------

def test_class1_walks_under_an_empty_table_are_represented():
    """T2[1] points to an empty level-3 table: walks of IPAs under it cache the pointer and read T3,
    so unlinking T3 with no TLBI and freeing it lets a walk read the freed page (row 23, RRVJDB)."""
    seq = model("c1", EMPTY_T3, ["str T2[1], invalid", "dsb ishst", "free T3"], vcpus=1)
    result = check(seq)
    assert f"{IPA_HI:#x}" in result.addresses
    violated(result, "freed-table-walk", "freed", persisting=True)


def test_class1_tables_with_no_leaf_are_still_walked():
    """A tree with no leaf at all still has regions, walks and a verdict from them."""
    seq = model("c1-empty", {"T1": (1, {1: "table T2"}), "T2": (2, {})}, ["str T1[1], invalid", "dsb ishst",
                                                                          "free T2"], vcpus=1)
    result = check(seq)
    assert result.addresses, "no representative address"
    violated(result, "freed-table-walk", "freed", persisting=True)


def test_class1_listed_addresses_that_leave_a_region_are_reported():
    seq = model("c1-listed", EMPTY_T3, ["str T2[1], invalid", "dsb ishst", "free T3"], vcpus=1, addresses=(IPA,))
    result = check(seq)
    note = next(n for n in result.notes if "without a representative" in n)
    assert "IPA 0x0 " in note or "IPA 0x40200000" in note, note
    complete = model("c1-all", EMPTY_T3, ["str T2[1], invalid"], vcpus=1,
                     addresses=(0x0, IPA, IPA_HI, 0x40400000))
    assert not [n for n in check(complete).notes if "without a representative" in n]


def test_class1_an_empty_address_list_is_a_located_error():
    text = ('name = "x"\nlevel = "L0"\nprogram = "dsb ish"\n[tables.T1]\nlevel = 1\nroot = true\n'
            '[observers]\nvcpus = 1\naddresses = []\n')
    with pytest.raises(InputError) as e:
        load_text(text, "x.toml")
    assert str(e.value).startswith("x.toml:9:")


# ---- class 2: bbm-required coverage by by-IPA TLBIs ------------------------------------------------

TWO_PAGES = {"T1": (1, {1: "table T2"}), "T2": (2, {0: "table T3"}),
             "T3": (3, {0: PAGE, 1: "page oa=0x80001000 attr=normal perm=rw"})}
PAGE_BY_PAGE = ["str T2[0], invalid", "dsb ishst", "tlbi ipas2e1is, 0x40000000", "tlbi ipas2e1is, 0x40001000",
                "dsb ish", "tlbi vmalle1is", "dsb ish", "isb", f"str T2[0], {BLOCK}", "dsb ishst", "free T3"]


@pytest.mark.parametrize("level", ("L0", "L1"))
def test_class2_break_flushed_page_by_page_with_ipas2e1is_is_accepted(level):
    """Gunyah/Hafnium flush a table page by page: IPAS2E1IS (all levels, walk caches too, RJXKNN) for
    every leaf under it, then VMALLE1IS for the combined entries (RVZZVZ)."""
    result = check(model("c2", TWO_PAGES, PAGE_BY_PAGE, level=level))
    holds(result, "bbm-required", "tlb-conflict", "stale-translation", "freed-table-walk")


def test_class2_a_page_left_out_is_named():
    program = [p for p in PAGE_BY_PAGE if "0x40001000" not in p]
    f = violated(check(model("c2-missing", TWO_PAGES, program, vcpus=1)), "bbm-required")
    assert "IPA 0x40001000 under the old entry is never invalidated" in f.causes[0], f.causes


def test_class2_missing_vmalle1is_is_named():
    program = [p for p in PAGE_BY_PAGE if "vmalle1is" not in p]
    f = violated(check(model("c2-comb", TWO_PAGES, program, vcpus=1)), "bbm-required")
    assert "TLBI IPAS2E1IS at line" in f.causes[0] and "add TLBI VMALLE1IS (RVZZVZ)" in f.causes[0], f.causes


def test_class2_the_reference_accepts_the_page_by_page_break():
    """tests/reference_bbm.py states the same coverage rule independently."""
    import reference_bbm

    seq = model("c2-ref", TWO_PAGES, PAGE_BY_PAGE)
    prog = reference_bbm.parse(seq)
    leaves = [(0x40000000, 0x1000), (0x40001000, 0x1000)]
    assert not reference_bbm.expect(seq, prog, True, 0x40000000, 0x200000, leaves=leaves).killed
    short = [i for i in prog if i.ipa != 0x40001000]
    assert reference_bbm.expect(seq, short, True, 0x40000000, 0x200000, leaves=leaves).killed


# ---- class 3: bbm-required and nT ------------------------------------------------------------------

def test_class3a_invalid_store_before_the_nt_procedure_is_the_nt_procedure():
    seq = load_model("ttrem1-final-tlbi")
    leading = edit(seq, insert={0: ["str T1[1], invalid"]})
    assert check(seq).finding("bbm-required").verdict is Verdict.HOLDS
    holds(check(leading), "bbm-required")


@pytest.mark.parametrize("back", (BLOCK, "block oa=0x80000000 attr=normal perm=r"))
def test_class3b_nt_set_and_cleared_on_the_same_block_needs_no_break(back):
    program = [f"str T1[1], {BLOCK_NT}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish",
               f"str T1[1], {back}", "dsb ishst", "tlbi vmalls12e1is", "dsb ish"]
    holds(check(model("c3b", {"T1": (1, {1: BLOCK})}, program, level="L1")), "bbm-required")


# ---- class 4: the nT-shadow conflict cause ------------------------------------------------------------

def test_class4_shadow_does_not_conflict_with_the_entry_cached_before_nt_was_set():
    """Spec §3.3: an nT=1 block is cached so as not to conflict with existing entries. Setting nT on
    a cached block and completing a TLBI clears nothing: no conflict, and never the cause "nT was
    cleared" on a trace where it is not."""
    seq = model("c4", {"T1": (1, {1: BLOCK})}, [f"str T1[1], {BLOCK_NT}", "dsb ishst", "tlbi vmalls12e1is",
                                                  "dsb ish"], level="L1")
    shadows = ChoiceSpace(nt_fault=(NtFault.NEVER,), nt_cache=(NtCache.SHADOW,))
    run = Run(system(seq, space=shadows))
    run.walk(0, IPA)  # the nT=0 block is cached
    run.updater(2)
    run.walk(0, IPA)  # the nT=1 block, cached as a shadow
    assert sorted(e.kind for e in run.tlb(0)) == ["s2", "shadow"]
    assert run.lookup(0, IPA) == []
    holds(check(seq, space=shadows), "tlb-conflict")


def test_class4_shadow_conflicts_with_the_entry_after_nt_is_cleared():
    """The hazard the shadow exists for (§8.2 item 3) is still found."""
    seq = model("c4-clear", {"T1": (1, {1: BLOCK})}, [f"str T1[1], {BLOCK_NT}", "dsb ishst", "tlbi vmalls12e1is",
                                                        "dsb ish", f"str T1[1], {BLOCK}", "dsb ishst"], level="L1")
    shadows = ChoiceSpace(nt_fault=(NtFault.NEVER,), nt_cache=(NtCache.SHADOW,))
    violated(check(seq, space=shadows), "tlb-conflict", "nt-shadow", persisting=True)


# ---- class 5: stale-translation at FEAT_BBML2 after a free ---------------------------------------------

@pytest.mark.parametrize("level", ("L2", "L2-noabort"))
def test_class5_lingering_entry_is_not_stale_because_its_table_was_freed(level):
    """RKFLJB: from L2 an entry that differs from the final mapping only in size may linger; a leaf
    TLB entry holds no reference to the page it was read from."""
    tables = {"T1": (1, {1: "table T2"}), "T2": (2, {0: "table T3"}),
              "T3": (3, {i: f"page oa={0x80000000 + i * 0x1000:#x} attr=normal perm=rw" for i in (0, 1)})}
    merge = ["str T2[0], block oa=0x80000000 attr=normal perm=rw", "dsb ishst", "tlbi ipas2e1is, 0x40000000",
             "dsb ish"]
    kept = check(model("c5", tables, merge, level=level, vcpus=1))
    freed = check(model("c5-free", tables, merge + ["free T3"], level=level, vcpus=1))
    assert kept.finding("stale-translation").verdict is Verdict.HOLDS
    # IPAS2E1IS on the block's address removes the walk-cache pointer to T3 and every walk in
    # flight through it; the 4 KiB entry of IPA 0x40001000 may linger (same OA and attributes)
    holds(freed, "stale-translation", "freed-table-walk")


def test_class5_entry_removed_before_completion_is_not_stale_because_its_table_was_freed():
    """Found on Gunyah's unmap path: the table is unlinked, IPAS2E1IS removes its stage-2 entries
    and walk-cache pointer, the page is freed, and VMALLE1IS removes the combined entries before
    the sequence ends. The combined entry maps the data page, not the freed table: not stale."""
    program = ["str T2[1], invalid", "dsb ishst", "tlbi ipas2e1is, 0x40200000", "dsb ish", "free T3",
               "tlbi vmalle1is", "dsb ish"]
    tables = {"T1": (1, {1: "table T2"}), "T2": (2, {0: BLOCK, 1: "table T3"}),
              "T3": (3, {0: "page oa=0x80200000 attr=normal perm=rw"})}
    holds(check(model("c5-gunyah", tables, program)), "stale-translation", "freed-table-walk", "bbm-required")
    late = program[:4] + program[5:] + ["free T3"]
    holds(check(model("c5-after", tables, late)), "stale-translation", "freed-table-walk")
