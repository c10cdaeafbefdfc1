"""Runs of instructions invisible to an address (bbmcheck/system/collapse.py; ARCHITECTURE.md,
"Invisible instructions") against the same address's search without them collapsed: for every
(property, implementation class) the same shortest depth, the same pcs (a run's pcs stand for its
first), the same updater pcs, causes and persisting depth, and the same classes that finish; and
every expanded trace is a run of the uncollapsed system that ends in the recorded event."""

from __future__ import annotations

import multiprocessing

import pytest

from bbmcheck.arch.config import Config, FeatBBM
from bbmcheck.engines.decompose import part
from bbmcheck.engines.explicit import explore
from bbmcheck.sequences.edit import sequence
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.sequences.schema import Sequence
from bbmcheck.system.build import System, build, for_address
from bbmcheck.system.collapse import collapse, expand
from bbmcheck.system.step import machine
from bbmcheck.testing.signature import occurrences_summary
from bbmcheck.testing.strategies import drawn_sequences

LEVELS = ("L0", "L1", "L2")


def _replays(ex, sub: System, plain: System) -> None:
    """Every shortest occurrence's trace, expanded, is a run of the uncollapsed system of that
    length whose last step (or lookup) shows the event."""
    m = machine(plain)
    for o in ex.occurrences.values():
        actions = expand(sub, ex.trace_to(o.key))
        st = _start(m, ex, o.key)
        for a in actions:
            st, _ = m.step(st, a)
        events = m.step(st, o.action)[1] if o.action.kind != "l" else m.lookup(st, o.action.vcpu, o.action.arg)
        assert o.event in events and len(actions) + 1 == o.depth, (o, actions)


def _start(m, ex, key):
    while True:
        parent, index, _ = ex.visited[key]
        if parent is None:
            return m.initial_states()[index]
        key = parent


def compare(seq: Sequence, level: str | None = None, vcpus: int = 2) -> tuple[int, list[str]]:
    """(how many address systems had a run to collapse, the disagreements)."""
    s = build(seq, Config(level=FeatBBM.parse(level) if level else seq.level), vcpus=vcpus)
    collapsed, problems = 0, []
    for ai in range(len(s.addresses)):
        plain = for_address(s, ai)
        sub = collapse(for_address(s, ai))
        if not sub.jumps:
            continue
        collapsed += 1
        a, b = explore(plain), explore(sub)
        x, y = occurrences_summary(a, plain), occurrences_summary(b, sub)
        if x != y:
            problems.append(f"{seq.name} {s.addresses[ai]:#x}: {x} != {y}")
            continue
        assert b.states < a.states
        _replays(b, sub, plain)
    return collapsed, problems


@pytest.mark.parametrize("name", bundled_models())
def test_bundled_models_at_every_level(name):
    seq = load_model(name)
    for level in LEVELS:
        try:
            _, problems = compare(seq, level)
        except Exception as e:  # a level the model's program does not build at (nT at L0, ...)
            if type(e).__name__ != "InputError":
                raise
            continue
        assert not problems, problems


def _pages(n: int, program: list[str]) -> Sequence:
    pages = {i: f"page oa={0x80000000 + i * 0x1000:#x} attr=normal perm=rw" for i in range(n)}
    return sequence(f"pages-{n}", level="L0", vcpus=2, program=program,
                    tables={"T1": {"level": 1, "root": True, "entries": {1: "table T2"}},
                            "T2": {"level": 2, "entries": {0: "table T3"}}, "T3": {"level": 3, "entries": pages}})


def test_a_long_break_is_one_step_for_each_page():
    """Breaking and remaking 16 pages one store at a time: for page 5 the other pages' stores are
    four runs (before and after its own store, in the break and in the make); the DSBs after its
    stores and the TLBI are kept."""
    n = 16
    program = [f"str T3[{i}], invalid" for i in range(n)] + ["dsb ishst", "tlbi vmalls12e1is", "dsb ish"]
    program += [f"str T3[{i}], page oa={0x90000000 + i * 0x1000:#x} attr=normal perm=rw" for i in range(n)]
    program += ["dsb ishst"]
    seq = _pages(n, program)
    s = build(seq, Config(level=seq.level), vcpus=2)
    ai = s.addresses.index(0x40005000)
    sub = part(s, ai).system
    assert sub.jumps == {0: 5, 6: 16, 19: 24, 25: 35}, sub.jumps
    collapsed, problems = compare(seq)
    assert collapsed >= n and not problems, problems


def test_a_dsb_with_something_to_wait_for_is_kept():
    """A store DSB after a tracked store, and a full DSB after a TLBI that removes something the
    address holds, change the state: they are never part of a run."""
    seq = _pages(4, ["str T3[1], invalid", "str T3[2], invalid", "str T3[3], invalid", "dsb ishst",
                     "tlbi vmalls12e1is", "str T3[2], invalid", "str T3[3], invalid", "dsb ish"])
    s = build(seq, Config(level=seq.level), vcpus=2)
    sub = part(s, s.addresses.index(0x40001000)).system
    assert sub.jumps == {1: 3, 5: 7}, sub.jumps
    assert not compare(seq)[1]


def _compare_item(item: tuple[str, Sequence]) -> list[str]:
    return compare(item[1])[1]


@pytest.mark.xdist_group("timing")  # starts worker processes: kept apart from the timed tests
def test_generated_sequences():
    """Longer generated programs (up to 8 instructions over the bundled scenarios), so that runs
    occur; at least a hundred address systems have one."""
    items = drawn_sequences(150, max_len=8)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map(_count_item, items, chunksize=8)
    problems = [p for _, ps in got for p in ps]
    assert not problems, f"{len(problems)} disagree:\n" + "\n".join(problems[:5])
    assert sum(c for c, _ in got) >= 100


def _count_item(item: tuple[str, Sequence]) -> tuple[int, list[str]]:
    return compare(item[1])
