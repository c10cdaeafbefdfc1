"""The layered search over repeating stretches (bbmcheck/system/periods.py, engines/layered.py;
ARCHITECTURE.md, "Repeating blocks") against the 0-1 search of the same collapsed address system:
for every (property, implementation class) the same shortest depth, pcs, updater pcs, causes and
persisting depth, the same classes finishing; every shortest trace, carried ones included, is a
run of the system of exactly that depth ending in the recorded event."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace

import pytest

import bbmcheck.system.periods as periods_module
from bbmcheck.arch.config import Config
from bbmcheck.engines.decompose import part
from bbmcheck.engines.explicit import explore
from bbmcheck.engines.layered import Layered, search
from bbmcheck.sequences.edit import instr_text, sequence, to_toml
from bbmcheck.sequences.load import load_text
from bbmcheck.sequences.schema import Sequence
from bbmcheck.system.build import System, build
from bbmcheck.system.collapse import expand
from bbmcheck.system.periods import periods
from bbmcheck.system.step import machine
from bbmcheck.testing.signature import difference, occurrences_summary
from bbmcheck.testing.strategies import alphabet, drawn_sequences
from bbmcheck.verify import Options, verify


def _check_traces(ex, sub: System, evictions: bool) -> None:
    m = machine(sub)
    for o in ex.occurrences.values():
        for depth, key, action, event in [(o.depth, o.key, o.action, o.event)] + ([o.persisting] if o.persisting
                                                                                  else []):
            trace = ex.trace_to(key)
            st = m.initial_states()[key[0]]
            for a in trace:
                assert a in m.actions(st, evictions), (a, st)  # enabled, not merely applicable
                st, _ = m.step(st, a)
            assert m.canonical(st) == key
            events = m.lookup(st, action.vcpu, action.arg) if action.kind == "l" else m.step(st, action)[1]
            assert event in events and len(expand(sub, trace)) + 1 == depth


def _check_carried(ex: Layered, sub: System, evictions: bool, most: int = 300) -> None:
    """The trace of every carried state (up to ``most``) is a run of the system to it, of its depth."""
    m = machine(sub)
    for key in sorted(ex.carried)[:most]:
        st = m.initial_states()[key[0]]
        trace = ex.trace_to(key)
        for a in trace:
            assert a in m.actions(st, evictions), (a, st)
            st, _ = m.step(st, a)
        assert m.canonical(st) == key and len(expand(sub, trace)) == ex.visited[key][2]


def compare(seq: Sequence, vcpus: int = 2, evictions: bool = False) -> tuple[int, list[str]]:
    """(how many address systems skipped blocks, the disagreements)."""
    s = build(seq, Config(level=seq.level), vcpus=vcpus)
    skipped, problems = 0, []
    for ai in range(len(s.addresses)):
        sub = part(s, ai).system
        sub.periods = periods(sub)
        if not sub.periods:
            continue
        layered = search(sub, evictions=evictions)
        assert isinstance(layered, Layered)
        found = sub.periods
        sub.periods = []
        plain = explore(sub, evictions=evictions)
        sub.periods = found
        x, y = occurrences_summary(layered, sub), occurrences_summary(plain, sub)
        if x != y:
            problems.append(f"{seq.name} {s.addresses[ai]:#x}: {x} != {y}")
            continue
        _check_traces(layered, sub, evictions)
        _check_carried(layered, sub, evictions)
        if layered.skipped:
            skipped += 1
            assert layered.states < plain.states
    return skipped, problems


def _pages(n: int, remade: int, vcpus: int = 2) -> Sequence:
    """``remade`` of ``n`` pages given new output addresses one by one, each with KVM's by-IPA
    flush (by IPA, then VMALLE1IS for the combined entries)."""
    pages = {i: f"page oa={0x80000000 + i * 0x1000:#x} attr=normal perm=rw" for i in range(n)}
    program = []
    for i in range(remade):
        program += [f"str T3[{i}], invalid", "dsb ishst", f"tlbi ipas2e1is, {0x40000000 + i * 0x1000:#x}",
                    "dsb ish", "tlbi vmalle1is", "dsb ish",
                    f"str T3[{i}], page oa={0x90000000 + i * 0x1000:#x} attr=normal perm=rw", "dsb ishst"]
    return sequence(f"remake-{remade}", level="L0", vcpus=vcpus, program=program,
                    tables={"T1": {"level": 1, "root": True, "entries": {1: "table T2"}},
                            "T2": {"level": 2, "entries": {0: "table T3"}}, "T3": {"level": 3, "entries": pages}})


def test_pages_remade_one_by_one():
    skipped, problems = compare(_pages(12, 12))
    assert not problems, problems
    assert skipped >= 10  # every page but the first and last few has a long stretch before or after it


def test_pages_remade_one_by_one_at_three_vcpus(monkeypatch):
    """Three vCPUs: symmetry stores states as some ordering of their vCPUs, which a carried trace
    must rename onto the state it continues from."""
    monkeypatch.setattr(periods_module, "MIN_KEPT", 0)
    skipped, problems = compare(_pages(6, 6), vcpus=3)
    assert not problems, problems
    assert skipped >= 4


def test_pages_remade_one_by_one_with_evictions(monkeypatch):
    """Evictions add moves inside every block."""
    monkeypatch.setattr(periods_module, "MIN_KEPT", 0)
    skipped, problems = compare(_pages(4, 4), evictions=True)
    assert not problems, problems
    assert skipped >= 2


def test_the_verdicts_equal_the_monolithic_search(monkeypatch):
    monkeypatch.setattr(periods_module, "MIN_KEPT", 0)
    seq = _pages(5, 5)  # the monolithic search of five pages has 116,183 states at one vCPU (2 M at two)
    options = Options(claims="none", vcpus=1)
    assert not difference(verify(seq, options), verify(seq, replace(options, decompose=False)))


def test_a_stretch_needs_the_same_commands_moved(monkeypatch):
    """A block that differs in one TLBI's scope from the others does not join them."""
    monkeypatch.setattr(periods_module, "MIN_KEPT", 0)
    seq = _pages(8, 8)
    s = build(seq, Config(level=seq.level), vcpus=2)
    sub = part(s, s.addresses.index(0x40007000)).system
    found = periods(sub)
    assert found and all(p.length == 8 for p in found), found
    program = [instr_text(i) for i in seq.program]
    program[4 * 8 + 4] = "tlbi vmalls12e1is"  # block 4 flushes stage 2 as well
    other = load_text(to_toml(seq, program), "<edited>")
    s2 = build(other, Config(level=other.level), vcpus=2)
    sub2 = part(s2, s2.addresses.index(0x40007000)).system
    for p in periods(sub2):
        assert not (p.start <= 4 * 8 + 4 < p.end), p


def _repeated(index: int, seq: Sequence, times: int = 4) -> Sequence | None:
    """A generated program with a block of TLBIs and DSBs from its scenario's alphabet repeated
    ``times`` times after it (even ``index``) or before it (odd)."""
    flushes = [line for line in alphabet(seq) if line.startswith(("tlbi", "dsb"))]
    block = [flushes[(index * 5 + j * 7) % len(flushes)] for j in range(1 + index % 3)] + ["dsb ish"]
    drawn = [instr_text(i) for i in seq.program]
    program = drawn + block * times if index % 2 == 0 else block * times + drawn
    try:
        got = load_text(to_toml(seq, program, name=f"{seq.name}-x{times}"), "<generated>")
        build(got, Config(level=got.level), vcpus=1)
    except Exception as e:  # a program that does not build (a table freed twice, ...)
        if type(e).__name__ != "InputError":
            raise
        return None
    return got


def _compare_item(job: tuple[int, tuple[str, Sequence]]) -> tuple[int, list[str]]:
    seq = _repeated(job[0], job[1][1])
    if seq is None:
        return 0, []
    periods_module.MIN_KEPT = 0  # in the worker: small systems are analysed too
    return compare(seq)


@pytest.mark.xdist_group("timing")  # starts worker processes: kept apart from the timed tests
def test_generated_blocks_repeated():
    """Generated programs (up to 4 instructions over the bundled scenarios), each with a block of
    flushes repeated four times before or after it, every system analysed however small; at least
    40 of them skip blocks."""
    items = drawn_sequences(160, max_len=4)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map(_compare_item, list(enumerate(items)), chunksize=8)
    problems = [p for _, ps in got for p in ps]
    assert not problems, f"{len(problems)} disagree:\n" + "\n".join(problems[:5])
    assert sum(n for n, _ in got) >= 40


def test_levels_other_than_the_models(monkeypatch):
    monkeypatch.setattr(periods_module, "MIN_KEPT", 0)
    for level in ("L1", "L2"):
        seq = _pages(8, 8)
        seq = load_text(to_toml(seq, [instr_text(i) for i in seq.program], level=level), "<level>")
        _, problems = compare(seq)
        assert not problems, problems
