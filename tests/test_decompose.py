"""The per-address decomposition (bbmcheck/engines/decompose.py; ARCHITECTURE.md, "Per-address
decomposition") against the monolithic search: the same verdicts, implementation conditions,
persistence, windows, causes, lines, witnesses and shortest-trace lengths, on every pinned run of
the bundled models, at 3 vCPUs on the small ones, on 200 generated sequences and on tables of
alike pages. Every trace the decomposed search prints is replayed against the full system by
``verify.assemble``, so these runs also check that each per-address trace is a run of it."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest
from golden_runs import check, run_id, runs

from bbmcheck.arch.config import Config
from bbmcheck.engines.decompose import explore_decomposed, parts
from bbmcheck.sequences.edit import edit, sequence
from bbmcheck.sequences.load import load_model
from bbmcheck.sequences.schema import Sequence
from bbmcheck.system.build import build
from bbmcheck.testing.signature import difference
from bbmcheck.testing.strategies import drawn_sequences
from bbmcheck.verify import Options, verify

RUNS = runs()
GOLDEN = json.loads((Path(__file__).parent / "golden" / "models.json").read_text())
SMALL = ["free-before-tlbi", "leaf-only-tlbi", "oa-change-no-bbm", "split-bbm", "wrong-ttl", "ttrem0"]
GENERATED = 200


@pytest.mark.parametrize(("name", "level"), RUNS, ids=[run_id(n, lvl) for n, lvl in RUNS])
def test_bundled_runs_equal_the_monolithic_search(name, level):
    whole, parted = check(name, level, decompose=False), check(name, level)
    assert not difference(parted, whole)
    assert whole.stats.states == GOLDEN[run_id(name, level)]["states_whole"]  # the monolithic count, pinned
    assert parted.stats.states <= whole.stats.states


@pytest.mark.parametrize("name", SMALL)
def test_three_vcpus_equal_the_monolithic_search(name):
    options = Options(vcpus=3, cutoff=False)
    seq = load_model(name)
    assert not difference(verify(seq, options), verify(seq, replace(options, decompose=False)))


def _compare(item: tuple[str, Sequence]) -> str | None:
    label, seq = item
    options = Options(vcpus=2, claims="none", cutoff=False)
    diff = difference(verify(seq, options), verify(seq, replace(options, decompose=False)))
    return f"{label}: {diff}" if diff else None


@pytest.mark.xdist_group("timing")  # starts worker processes: kept apart from the timed tests
def test_generated_sequences_equal_the_monolithic_search():
    items = drawn_sequences(GENERATED, max_len=3)
    assert len(items) >= GENERATED
    with multiprocessing.get_context("fork").Pool(2) as pool:
        problems = [p for p in pool.map(_compare, items, chunksize=8) if p]
    assert not problems, f"{len(problems)} of {len(items)} disagree:\n" + "\n".join(problems)


def _pages(n: int, program: list[str], *, same_oa_step: bool = True) -> Sequence:
    """A level-3 table of ``n`` pages under a level-2 entry, changed by ``program``."""
    step = 0x1000 if same_oa_step else 0x2000
    pages = {i: f"page oa={0x80000000 + i * step:#x} attr=normal perm=rw" for i in range(n)}
    return sequence(f"pages-{n}", level="L0", vcpus=1, program=program,
                    tables={"T1": {"level": 1, "root": True, "entries": {1: "table T2"}},
                            "T2": {"level": 2, "entries": {0: "table T3"}}, "T3": {"level": 3, "entries": pages}})


COALESCE = ["str T2[0], invalid", "dsb ishst", "tlbi vmalls12e1is", "dsb ish",
            "str T2[0], block oa=0x80000000 attr=normal perm=rw", "dsb ishst", "free T3"]
NO_FLUSH = ["str T2[0], invalid", "dsb ishst", "str T2[0], block oa=0x80000000 attr=normal perm=rw", "dsb ishst"]


@pytest.mark.parametrize("program", [COALESCE, NO_FLUSH], ids=["bbm", "no-flush"])
def test_alike_pages_are_one_search_and_equal_the_monolithic_search(program):
    seq = _pages(4, program)
    s = build(seq, Config(level=seq.level), vcpus=1)
    ex = explore_decomposed(s)
    pages = [ai for ai, a in enumerate(s.addresses) if 0x40000000 <= a < 0x40004000]
    assert len(pages) == 4
    # the four pages are alike up to their output address: one class, searched once
    assert any(set(pages) <= set(members) for members in ex.classes.values()), ex.classes
    assert not difference(verify(seq), verify(seq, Options(decompose=False)))


def test_pages_unlike_the_block_are_searched_apart():
    """With output addresses that the block does not continue (0x2000 apart), each page's
    translation differs from the block's in its own way: the classes must not merge them blindly,
    and the verdicts still equal the monolithic search."""
    seq = _pages(3, NO_FLUSH, same_oa_step=False)
    assert not difference(verify(seq), verify(seq, Options(decompose=False)))


def test_an_address_system_tracks_only_what_its_walks_read():
    """Page 1's store is no other page's; the TLBI by page 1's IPA removes the walk-cache pointers
    covering every page (so every page tracks it); one by an IPA under no table removes nothing any
    page can hold (so none does)."""
    seq = _pages(4, ["str T3[1], invalid", "dsb ishst", "tlbi ipas2e1is, 0x40001000", "tlbi ipas2e1is, 0x80000000",
                     "dsb ish", "str T3[1], page oa=0x90000000 attr=normal perm=rw", "dsb ishst"])
    s = build(seq, Config(level=seq.level), vcpus=1)
    by_address = {s.addresses[p.address]: p.system for p in parts(s)}
    untouched, changed = by_address[0x40000000], by_address[0x40001000]
    assert untouched.wlocs == () and sorted(untouched.tlbi_leaf_kill) == [2]
    assert [loc.text() for loc in changed.wlocs] == ["T3[1]"] and sorted(changed.tlbi_leaf_kill) == [2]
    assert sorted(s.tlbi_leaf_kill) == [2, 3]
    assert not difference(verify(seq), verify(seq, Options(decompose=False)))


def test_a_release_store_keeps_the_entries_it_waits_for():
    """stlr to a page waits for an earlier store to another page (B2.3) when no DSB orders them:
    that entry stays tracked in the page's system; with a DSB between, it is not needed."""
    racing = _pages(2, ["str T3[0], invalid", "stlr T3[1], page oa=0x90000000 attr=normal perm=rw", "dsb ishst"])
    ordered = _pages(2, ["str T3[0], invalid", "dsb ishst", "stlr T3[1], page oa=0x90000000 attr=normal perm=rw",
                         "dsb ishst"])
    for seq, kept in ((racing, ["T3[0]", "T3[1]"]), (ordered, ["T3[1]"])):
        s = build(seq, Config(level=seq.level), vcpus=1, only=0x40001000)
        assert [loc.text() for loc in s.wlocs] == kept
        assert not difference(verify(seq), verify(seq, Options(decompose=False)))


def _pages512() -> Sequence:
    return _pages(512, ["str T2[0], invalid", "dsb ishst", "tlbi ipas2e1is, 0x40000000", "dsb ish",
                        "tlbi vmalle1is", "dsb ish", "str T2[0], block oa=0x80000000 attr=normal perm=rw",
                        "dsb ishst", "free T3"])


@pytest.mark.xdist_group("timing")  # starts worker processes: kept apart from the timed tests
def test_the_result_is_byte_identical_whatever_the_worker_count(monkeypatch):
    """512 pages (fingerprinted on the workers) and every search sent to them: the JSON and the
    text report are the same bytes for 1, 2 and 3 workers."""
    from bbmcheck.engines import decompose
    from bbmcheck.report.json import render
    from bbmcheck.report.text import render as report

    monkeypatch.setattr(decompose, "SERIAL_SECONDS", 0.0)
    seq = _pages512()
    runs = [verify(seq, Options(jobs=j)) for j in (1, 2, 3)]
    assert runs[0].complete and len(runs[0].address_classes or ()) < 10  # the pages are one class
    assert len({render(r) for r in runs}) == 1
    assert len({report(r) for r in runs}) == 1


@pytest.mark.xdist_group("timing")
def test_a_local_dask_cluster_gives_the_same_bytes():
    """In child processes, so that the cluster's threads and handlers stay out of the test worker."""
    import subprocess
    import sys

    pytest.importorskip("dask.distributed")
    cmd = [sys.executable, "-c", "from bbmcheck.cli import main; main()", "verify", "ttrem1", "--json"]
    local = subprocess.run([*cmd, "--scheduler", "local"], capture_output=True, text=True, timeout=120)
    alone = subprocess.run([*cmd, "--jobs", "1"], capture_output=True, text=True, timeout=120)
    assert local.returncode == alone.returncode == 1, local.stderr
    assert local.stdout == alone.stdout and local.stdout


def test_jobs_and_scheduler_are_checked_on_the_command_line(capsys):
    from bbmcheck.cli import main

    assert main(["verify", "ttrem1", "--jobs", "0"]) == 2
    assert "<command-line>:1:15: error: --jobs must be at least 1, got 0" in capsys.readouterr().err
    assert main(["verify", "ttrem1", "--scheduler", " "]) == 2
    assert "--scheduler needs an address" in capsys.readouterr().err
    assert main(["verify", "ttrem1", "--no-decompose", "--jobs", "2"]) == 2
    assert ("<command-line>:1:30: error: --jobs runs the per-address searches, which --no-decompose turns off"
            in capsys.readouterr().err)


@pytest.mark.xdist_group("timing")
def test_the_time_cap_holds_for_all_the_searches_together():
    """64 pages flushed one TLBI each: every page's search is large (64 TLBIs pending at once). The
    cap of one second stops the whole decomposed run, which says so and answers UNKNOWN."""
    import time

    flush = [f"tlbi ipas2e1is, {0x40000000 + i * 0x1000:#x}" for i in range(64)]
    seq = _pages(64, ["str T2[0], invalid", "dsb ishst", *flush, "dsb ish",
                      "str T2[0], block oa=0x80000000 attr=normal perm=rw", "dsb ishst"])
    start = time.monotonic()
    result = verify(seq, Options(timeout=1.0, jobs=2))
    assert time.monotonic() - start < 8
    assert not result.complete and result.stop_reason.startswith("time cap of 1 s reached")
    assert result.finding("tlb-conflict").verdict.word == "unknown"


@pytest.mark.parametrize("case", ["no-store", "listed-addresses", "one-address"])
def test_degenerate_inputs_equal_the_monolithic_search(case):
    """A program that stores nothing, a model whose [observers] addresses are listed (one region
    left out), and a model of a single representative address."""
    if case == "no-store":
        seq = _pages(3, ["dsb ish", "tlbi vmalls12e1is", "dsb ish"])
    elif case == "listed-addresses":
        seq = edit(_pages(4, NO_FLUSH), addresses=[0x40000000, 0x40001000])
    else:
        seq = load_model("free-before-tlbi")
    assert not difference(verify(seq), verify(seq, Options(decompose=False)))
    assert verify(seq).notes == verify(seq, Options(decompose=False)).notes
