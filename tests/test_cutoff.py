"""The vCPU cutoff (bbmcheck/system/cutoff.py; ARCHITECTURE.md, "The vCPU cutoff") against the
unreduced search: for 3 and 4 vCPUs, the cutoff's smaller search gives the same verdicts,
implementation conditions, persistence, windows, causes, lines and shortest-trace lengths as the
search over every vCPU. The larger bundled models at 3 and 4 vCPUs are in
``bench/cutoff_check.py`` (minutes, not a test's seconds)."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from functools import cache

import pytest

from bbmcheck.arch.config import Config
from bbmcheck.cli import main
from bbmcheck.sequences.load import load_model
from bbmcheck.sequences.schema import Sequence
from bbmcheck.system.build import build
from bbmcheck.system.commands import AnyTlb, Emit, Not, commands_of, conj
from bbmcheck.system.cutoff import observers_needed, witnesses
from bbmcheck.testing.signature import signature
from bbmcheck.testing.strategies import drawn_sequences
from bbmcheck.verify import Options, verify

SMALL = ["free-before-tlbi", "leaf-only-tlbi", "oa-change-no-bbm", "split-bbm", "wrong-ttl"]
MEDIUM = ["split-nt", "ttrem0"]  # 3 vCPUs only: about 2 s each unreduced
GENERATED = 40


CAP = 120_000  # a generated sequence whose full search is larger is drawn again, not compared


def compare(item: tuple[str, Sequence, int]) -> str | None:
    """None when they agree, "large" when the full search passes CAP, else the disagreement."""
    label, seq, n = item
    options = Options(vcpus=n, claims="none", max_states=CAP)
    full = verify(seq, replace(options, cutoff=False))
    if not full.complete:
        return "large"
    cut = verify(seq, options)
    c = observers_needed(commands_of(build(seq, Config(level=seq.level)))).vcpus
    assert c is not None and c < n and cut.searched_vcpus == c and full.searched_vcpus == n, label
    a, b = signature(cut), signature(full)
    if a != b:
        diff = "; ".join(f"{k}: {a[k]} != {b[k]}" for k in a if a[k] != b[k])
        return f"{label} at {n} vCPUs: cutoff vs full: {diff}"
    return None


def _all(items: list[tuple[str, Sequence, int]]) -> list[str | None]:
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return pool.map(compare, items)


@pytest.mark.xdist_group("timing")  # starts worker processes: kept apart from the timed tests
def test_bundled_models_by_cutoff_equal_the_full_search() -> None:
    items = [(name, load_model(name), n) for name in SMALL for n in (3, 4)]
    items += [(name, load_model(name), 3) for name in MEDIUM]
    problems = [p for p in _all(items) if p]
    assert not problems, "\n".join(problems)


@cache
def _generated() -> list[tuple[str, Sequence]]:
    return drawn_sequences(GENERATED, max_len=4, scenarios=[*SMALL, *MEDIUM])


@pytest.mark.xdist_group("timing")  # starts worker processes: kept apart from the timed tests
def test_generated_sequences_by_cutoff_equal_the_full_search() -> None:
    items = [(label, seq, 3) for label, seq in _generated()]
    got = _all(items)
    problems = [p for p in got if p and p != "large"]
    assert not problems, "\n".join(problems)
    assert got.count(None) >= 30, f"only {got.count(None)} of {len(items)} generated sequences compared"


def test_every_bundled_model_has_cutoff_two() -> None:
    """The incoherence event compares one vCPU's entry with any TLB: one witness besides itself."""
    from bbmcheck.sequences.load import bundled_models

    for name in bundled_models():
        seq = load_model(name)
        assert observers_needed(commands_of(build(seq, Config(level=seq.level)))).vcpus == 2, name


def test_witness_counts_follow_the_shape_of_the_condition() -> None:
    a, b = AnyTlb(1), AnyTlb(2)
    assert witnesses(a) == 1
    assert witnesses(conj(a, b)) == 2
    assert witnesses(Not(a)) is None


def test_a_negative_or_joint_condition_on_other_tlbs_changes_the_cutoff() -> None:
    """A made-up lookup event that needs two other vCPUs' TLBs at once raises the cutoff to 3; one
    that reads them under Not removes it, and then every vCPU is searched."""
    seq = load_model("split-bbm")
    s = build(seq, Config(level=seq.level), vcpus=4)
    cmds = commands_of(s)
    look = cmds.lookups[0]
    both = replace(look, events=(*look.events, Emit("nt-misuse", "nt-not-block", conj(AnyTlb(1), AnyTlb(2)))))
    assert observers_needed(replace(cmds, lookups=[both, *cmds.lookups[1:]])).vcpus == 3
    negated = replace(look, events=(*look.events, Emit("nt-misuse", "nt-not-block", Not(AnyTlb(1)))))
    none = observers_needed(replace(cmds, lookups=[negated, *cmds.lookups[1:]]))
    assert none.vcpus is None and "negatively" in none.why


def test_cli_answers_64_vcpus_by_the_cutoff(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "ttrem1", "--vcpus", "64", "--no-traces"]) == 1
    out = capsys.readouterr().out
    assert "64 vCPUs" in out and "answered by the vCPU cutoff: the 2-vCPU search" in out
    assert main(["verify", "ttrem1", "--vcpus", "64", "--json", "--no-traces"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["vcpus"], data["searched_vcpus"]) == (64, 2)
    assert all("by the vCPU cutoff" in f["bound"] for f in data["findings"] if f["bound"])
    # two vCPUs is the cutoff itself: searched as asked, nothing said
    assert main(["verify", "ttrem1", "--no-traces"]) == 1
    assert "cutoff" not in capsys.readouterr().out


def test_a_sequence_with_no_leaf_needs_one_vcpu() -> None:
    """Degenerate case: empty leaf tables unlinked, flushed and freed. No TLB entry exists, so no
    event reads another vCPU; c is 1, and the 1-vCPU search answers 2 and 3 vCPUs exactly."""
    from bbmcheck.sequences.edit import sequence

    seq = sequence("free-empty-tables", level="L0", vcpus=2,
                   program=["str T2[0], invalid", "dsb ishst", "tlbi ipas2e1is, 0x40000000", "dsb ish", "free T3",
                            "str T1[1], invalid", "dsb ishst", "tlbi vmalls12e1is", "dsb ish", "free T2"],
                   tables={"T1": {"level": 1, "root": True, "entries": {1: "table T2"}},
                           "T2": {"level": 2, "entries": {0: "table T3"}}, "T3": {"level": 3, "entries": {}}})
    assert observers_needed(commands_of(build(seq, Config(level=seq.level)))).vcpus == 1
    for n in (2, 3):
        assert compare((f"free-empty-tables/{n}", seq, n)) is None


def test_one_vcpu_and_the_cutoff_itself_are_searched_as_asked() -> None:
    for n in (1, 2):
        r = verify(load_model("split-bbm"), Options(vcpus=n))
        assert r.searched_vcpus == n and not r.by_cutoff
