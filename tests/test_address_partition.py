"""Conformance of the representative-address reduction (bbmcheck/system/partition.py) against a
dense search that does not use it.

The dense set of a model is, for every level-3 table, every 4 KiB page base of its range; for every
other table, the base of a fixed sample of its entries (the first eight, every power of two, the
last two), chosen without looking at what the entries hold; plus the default representatives, so
that the dense search sees every region the reduction sees. The reduction is sound only if
searching the dense set finds exactly the verdicts the representatives give: same property
verdicts, same violating implementations, same persistence.

One vCPU keeps the dense searches small enough for every bundled model and 200 generated
sequences (the reduction concerns addresses, not observers; observer counts are argued and tested
elsewhere). The searches run on two worker processes, each address by address (engines/decompose.py,
held to the monolithic search in tests/test_decompose.py). That reduction does not use the
partition: it groups addresses whose compiled systems are equal, so an address the partition
wrongly merged with a representative is searched on its own and shows its difference.
"""

from __future__ import annotations

import multiprocessing
from functools import cache

import pytest

from bbmcheck.arch.config import Config
from bbmcheck.arch.descriptors import ENTRIES_PER_TABLE, size_at
from bbmcheck.results import Result
from bbmcheck.sequences.edit import edit
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.sequences.schema import Sequence
from bbmcheck.system.build import build
from bbmcheck.system.partition import Partition
from bbmcheck.testing.strategies import drawn_sequences
from bbmcheck.verify import Options, verify

SAMPLE = sorted({*range(8), *(1 << k for k in range(9)), ENTRIES_PER_TABLE - 2, ENTRIES_PER_TABLE - 1})
GENERATED = 200
GENERATED_MAX_LEN = 3


def dense(seq: Sequence) -> list[int]:
    s = build(seq, Config(level=seq.level), vcpus=1)
    out = set(s.addresses)
    for name in s.tables:
        base, level = s.table_base[name], s.table_level[name]
        picks = range(ENTRIES_PER_TABLE) if level == 3 else SAMPLE
        out |= {base + i * size_at(level) for i in picks}
    return sorted(out)


def signature(result: Result) -> dict[str, tuple]:
    assert result.complete, result.stop_reason
    return {f.property: (f.verdict.word, f.violated_when, f.persisting_when) for f in result.findings}


def compare(item: tuple[str, Sequence]) -> str | None:
    label, seq = item
    one = edit(seq, vcpus=1, addresses=None)  # the default representatives, not a listed subset
    options = Options(claims="none")
    reduced = signature(verify(one, options))
    full = signature(verify(edit(one, addresses=dense(one)), options))
    if reduced != full:
        diff = {p: (reduced[p], full[p]) for p in reduced if reduced[p] != full[p]}
        return f"{label}: representatives vs dense: {diff}"
    return None


def _all(items: list[tuple[str, Sequence]]) -> list[str]:
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return [p for p in pool.map(compare, items, chunksize=4) if p]


def test_partition_regions_cover_the_dense_set_exactly():
    """Every dense address lies in a region whose representative is in the default set, and each
    representative is its own region's."""
    for name in sorted(bundled_models()):
        seq = edit(load_model(name), addresses=None)
        s = build(seq, Config(level=seq.level), vcpus=1)
        part = _partition(s)
        reps = {r.rep for r in part.regions}
        assert reps <= set(s.addresses)
        assert all(part.region_of(r) == r for r in reps)
        assert {part.region_of(a) for a in dense(seq)} == reps


def _partition(s) -> Partition:  # type: ignore[no-untyped-def]
    assert s.partition is not None
    return s.partition


def test_a_table_with_every_entry_valid_has_no_invalid_region():
    from bbmcheck.sequences.edit import sequence

    pages = {i: f"page oa={0x80000000 + i * 0x1000:#x}" for i in range(ENTRIES_PER_TABLE)}
    seq = sequence("full-table", level="L0", vcpus=1, program=["dsb ish"],
                   tables={"T1": {"level": 1, "root": True, "entries": {1: "table T2"}},
                           "T2": {"level": 2, "entries": {0: "table T3"}}, "T3": {"level": 3, "entries": pages}})
    s = build(seq, Config(level=seq.level), vcpus=1)
    part = _partition(s)
    under_t3 = [r for r in part.regions if 0x40000000 <= r.rep < 0x40200000]
    assert [r.rep for r in under_t3] == [0x40000000 + i * 0x1000 for i in range(ENTRIES_PER_TABLE)]
    assert all("invalid in every version" not in r.why for r in under_t3)


@pytest.mark.xdist_group("timing")  # starts worker processes: kept apart from the timed tests
def test_bundled_models_agree_with_the_dense_search():
    items = [(name, load_model(name)) for name in sorted(bundled_models())]
    problems = _all(items)
    assert not problems, "\n".join(problems)


@cache
def _generated() -> list[tuple[str, Sequence]]:
    return drawn_sequences(GENERATED, max_len=GENERATED_MAX_LEN)


@pytest.mark.xdist_group("timing")  # starts worker processes: kept apart from the timed tests
def test_generated_sequences_agree_with_the_dense_search():
    items = _generated()
    assert len(items) >= GENERATED, len(items)
    problems = _all(items)
    assert not problems, f"{len(problems)} of {len(items)} disagree:\n" + "\n".join(problems)


def test_the_smt_cover_query_finds_no_ipa_outside_the_partition():
    """A second, symbolic argument for completeness: bbmcheck/smt/cover.py asks z3 for an IPA
    that is like none of the representatives (a 64-bit address over the root's whole region,
    constrained by table ranges, indices and block sizes). It finds none, on every bundled model
    and on the first 50 generated sequences."""
    from bbmcheck.smt.cover import cover

    seqs = [edit(load_model(n), addresses=None) for n in sorted(bundled_models())]
    seqs += [edit(seq, addresses=None) for _label, seq in _generated()[:50]]
    for seq in seqs:
        _seq, _s, added = cover(seq, lambda q: build(q, Config(level=q.level), vcpus=1))
        assert added == [], (seq.name, [hex(a) for a in added])


def test_alternative_tables_at_one_base_are_refined_together():
    """T2[1] links T3 before the update and T4 after it: both lie at IPA 0x40200000, and the
    regions below are the common refinement of their entries."""
    from bbmcheck.sequences.edit import sequence

    seq = sequence("two-children", level="L0", vcpus=1,
                   program=["str T2[1], invalid", "dsb ishst", "tlbi vmalls12e1is", "dsb ish",
                            "str T2[1], table T4", "dsb ishst", "free T3"],
                   tables={"T1": {"level": 1, "root": True, "entries": {1: "table T2"}},
                           "T2": {"level": 2, "entries": {1: "table T3"}},
                           "T3": {"level": 3, "entries": {0: "page oa=0x80000000"}},
                           "T4": {"level": 3, "entries": {5: "page oa=0x80005000"}}})
    s = build(seq, Config(level=seq.level), vcpus=1)
    under = sorted(a for a in s.addresses if 0x40200000 <= a < 0x40400000)
    assert under == [0x40200000, 0x40201000, 0x40205000]
    assert compare(("two-children", seq)) is None
