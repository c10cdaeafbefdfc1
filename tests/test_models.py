"""Golden tier: every bundled model's verdicts and unique-state count, pinned.

A difference here is a change of semantics: explain it in the commit, then regenerate with
``python tests/update_golden.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_runs import check, run_id, runs, signature

from bbmcheck.results import Verdict
from bbmcheck.sequences.load import bundled_models, load_model

GOLDEN = json.loads((Path(__file__).parent / "golden" / "models.json").read_text())
RUNS = runs()


def test_every_run_is_pinned():
    assert sorted(GOLDEN) == sorted(run_id(n, lvl) for n, lvl in RUNS)


@pytest.mark.parametrize(("name", "level"), RUNS, ids=[run_id(n, lvl) for n, lvl in RUNS])
def test_model_matches_golden(name, level):
    result = check(name, level)
    assert result.complete
    assert signature(result) == {k: v for k, v in GOLDEN[run_id(name, level)].items() if k != "states_whole"}


def test_bundled_model_groups():
    """Seed paths, correct procedures and known bugs are all shipped."""
    groups = {p.parent.name for p in bundled_models().values()}
    assert groups == {"seed", "correct", "buggy"}
    assert {"ttrem0", "ttrem1", "ttrem2", "ttrem1-final-tlbi", "ttrem2-direct", "split-bbm", "split-nt"} <= set(
        bundled_models()
    )


@pytest.mark.parametrize("name", [n for n, p in bundled_models().items() if p.parent.name == "buggy"])
def test_buggy_models_are_caught_with_the_finding_their_comment_names(name):
    """Each buggy model's header comment lists 'Expected findings'; each named property is VIOLATED."""
    text = bundled_models()[name].read_text()
    header = text.split("name   =")[0]
    expected = [p for p in ("tlb-conflict", "stale-translation", "freed-table-walk", "bbm-required")
                if p in header.split("Expected findings", 1)[1]]
    assert expected, "the comment must name the findings"
    result = check(name, None)
    for prop in expected:
        assert result.finding(prop).verdict is Verdict.VIOLATED, prop
    assert result.exit_code == 1


def test_seed_ttrem0_is_correct_bbm():
    result = check("ttrem0", None)
    assert result.finding("invalid-window").verdict is Verdict.VIOLATED
    assert not result.finding("invalid-window").persisting
    for prop in ("tlb-conflict", "stale-translation", "freed-table-walk", "bbm-required", "nt-misuse"):
        assert result.finding(prop).verdict is Verdict.HOLDS
    assert result.exit_code == 0


def test_seed_ttrem1_refuted_as_spec_8_2_explains():
    result = check("ttrem1", None)
    window = result.finding("invalid-window")
    assert window.verdict is Verdict.VIOLATED and window.violated_when == ("nt_fault=always",)
    conflict = result.finding("tlb-conflict")
    assert conflict.verdict is Verdict.VIOLATED and conflict.violated_when == ("nt_fault=never",)
    assert conflict.persisting and conflict.persisting_when == ("nt_fault=never and nt_cache=shadow",)
    assert any("RMRRPW" in c for c in conflict.causes) and any("I_HYQMB" in c for c in conflict.causes)
    assert result.finding("stale-translation").verdict is Verdict.HOLDS
    assert result.finding("freed-table-walk").verdict is Verdict.HOLDS
    assert result.exit_code == 1


def test_final_tlbi_makes_the_conflict_transient():
    seed = check("ttrem1", None).finding("tlb-conflict")
    fixed = check("ttrem1-final-tlbi", None).finding("tlb-conflict")
    assert seed.persisting and seed.window is not None and seed.window.closes_pc is None
    assert fixed.verdict is Verdict.VIOLATED and not fixed.persisting
    assert fixed.window is not None and fixed.window.closes_pc is not None


def test_model_files_load_with_their_sha256():
    for name in bundled_models():
        seq = load_model(name)
        assert len(seq.sha256) == 64 and seq.program
