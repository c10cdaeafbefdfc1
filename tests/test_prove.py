"""Unbounded proofs and their certificates (bbmcheck/smt/prove.py, certificate.py, cover.py).

* the committed certificates in proofs/ re-check with z3 and cvc5 and match the current models;
* a tampered file, a stale model and a false obligation are each refused (exit 4);
* the per-address decomposition loses nothing: the union of the per-address BMC occurrences
  equals the full system's, at equal depth;
* the cover query finds the uncovered classes the default representatives leave;
* a proof from scratch on a small model reports PROVED exactly where the explicit engine finds no
  violation, and the cutoff holds up against the explicit engine at 3 vCPUs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import z3

from bbmcheck.arch.config import Config
from bbmcheck.cli import main
from bbmcheck.engines.explicit import explore
from bbmcheck.sequences.load import load_model
from bbmcheck.smt.bmc import bmc
from bbmcheck.smt.certificate import MANIFEST, recheck
from bbmcheck.smt.cover import alike, cover, region
from bbmcheck.system.build import build

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "proofs"
CERTIFIED = ["ttrem0", "ttrem1-final-tlbi", "split-bbm", "split-nt", "ttrem2-direct"]


def _model_sha(name: str) -> str:
    return load_model(name).sha256


@pytest.mark.parametrize("name", CERTIFIED)
def test_committed_certificate_rechecks_with_both_solvers(name: str) -> None:
    folder = PROOFS / name
    problems, checks = recheck(folder, _model_sha(name))
    assert problems == []
    assert len(checks) >= 10
    names = {c.file for c in checks}
    assert {"cover.smt2", "locality-vcpu0.smt2", "locality-vcpu1.smt2"} <= names
    assert any(f.endswith("/consecution.smt2") for f in names)
    for c in checks:
        assert (c.z3, c.cvc5) == ("unsat", "unsat"), c


def test_acceptance_models_prove_what_they_hold() -> None:
    """ttrem0 and ttrem1-final-tlbi: PROVED for every property the explicit engine finds no
    violation of, on those implementations."""
    t0 = json.loads((PROOFS / "ttrem0" / MANIFEST).read_text())
    status = {p["property"]: p for p in t0["properties"]}
    assert status["invalid-window"]["status"] == "VIOLATED"
    for prop in ("tlb-conflict", "stale-translation", "freed-table-walk", "bbm-required", "nt-misuse"):
        assert status[prop]["status"] == "PROVED" and status[prop]["violated_on"] == []
    t1 = json.loads((PROOFS / "ttrem1-final-tlbi" / MANIFEST).read_text())
    status = {p["property"]: p for p in t1["properties"]}
    assert status["invalid-window"]["proved_on"] == ["nt_fault=never, nt_cache=none", "nt_fault=never, nt_cache=shadow"]
    assert status["invalid-window"]["violated_on"] == ["nt_fault=always"]
    assert status["tlb-conflict"]["proved_on"] == ["nt_fault=always"]
    for prop in ("stale-translation", "freed-table-walk", "bbm-required", "nt-misuse"):
        assert status[prop]["status"] == "PROVED" and status[prop]["violated_on"] == []
    assert t1["region"] == ["0x0", "0x8000000000"] and t1["vcpus_cutoff"] == 2


def _copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / "proofs" / name
    shutil.copytree(PROOFS / name, dst)
    return dst


def test_recheck_cli_confirms(capsys) -> None:
    assert main(["recheck", str(PROOFS / "split-nt")]) == 0
    assert "confirmed by z3 and cvc5" in capsys.readouterr().out


def test_tampered_file_is_refused(tmp_path: Path, capsys) -> None:
    folder = _copy("split-nt", tmp_path)
    target = next(folder.rglob("consecution.smt2"))
    target.write_text(target.read_text().replace("(check-sat)", "(assert true)\n(check-sat)"))
    assert main(["recheck", str(folder)]) == 4
    assert "changed since it was written" in capsys.readouterr().out


def test_false_obligation_is_refused_by_the_solvers(tmp_path: Path, capsys) -> None:
    """A certificate whose files hash correctly but state something false fails in both solvers."""
    folder = _copy("split-nt", tmp_path)
    target = next(folder.rglob("initiation.smt2"))
    text = target.read_text()
    lines = text.splitlines()
    # drop the assertion: what is left is satisfiable, so the obligation no longer holds
    cut = [i for i, line in enumerate(lines) if line.startswith("(assert")][0]
    forged = "\n".join(lines[:cut] + ["(check-sat)", "(exit)"]) + "\n"
    target.write_text(forged)
    manifest = json.loads((folder / MANIFEST).read_text())
    import hashlib

    rel = target.relative_to(folder).as_posix()
    for entry in manifest["files"]:
        if entry["file"] == rel:
            entry["sha256"] = hashlib.sha256(forged.encode()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    problems, checks = recheck(folder, _model_sha("split-nt"))
    bad = [c for c in checks if c.file == rel]
    assert bad and bad[0].z3 == "sat" and bad[0].cvc5 == "sat"
    assert main(["recheck", str(folder)]) == 4


def test_stale_model_is_refused(tmp_path: Path, capsys) -> None:
    folder = _copy("split-nt", tmp_path)
    problems, _ = recheck(folder, "0" * 64)
    assert any("stale certificate" in p for p in problems)
    # through the CLI: the model file next to the certificate's repository has changed
    manifest = json.loads((folder / MANIFEST).read_text())
    model = tmp_path / manifest["model_file"]
    model.parent.mkdir(parents=True)
    model.write_text((ROOT / manifest["model_file"]).read_text() + "\n# edited\n")
    assert main(["recheck", str(folder)]) == 4
    assert "stale certificate" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["ttrem1", "free-before-tlbi", "oa-change-no-bbm", "split-nt"])
def test_per_address_union_equals_the_full_system(name: str) -> None:
    """Argument 2 of prove.py: events about an address need walks of that address only."""
    seq = load_model(name)
    s = build(seq, Config(level=seq.level), vcpus=2)
    bound = 9
    full = bmc(s, bound, windows=False).occurrences
    union: dict[tuple[str, int], int] = {}
    for ai in range(len(s.addresses)):
        for key, occ in bmc(s, bound, windows=False, only=ai).occurrences.items():
            union[key] = min(union.get(key, occ.depth), occ.depth)
    assert {k: o.depth for k, o in full.items()} == union
    assert any(k[0] != "witness" for k in full) or name == "split-nt"


def test_cover_finds_no_address_unlike_the_default_representatives() -> None:
    """The symbolic-address cover query is an independent check of the address partition
    (system/partition.py): starting from the default representatives, z3 finds no IPA that is
    like none of them. The regions of entries invalid in every version (0x0 under the root,
    0x40201000 under T3, 0x40400000 under T2) are already represented."""
    seq = load_model("ttrem0")
    covered, s, added = cover(seq, lambda q: build(q, Config(level=q.level), vcpus=2))
    assert added == []
    assert {0x0, 0x40201000, 0x40400000} <= set(s.addresses)
    lo, hi = region(s)
    a = z3.BitVec("a", 64)
    for probe in (0x0, 0x12345000, 0x40000000, 0x401fffff, 0x40200000, 0x40200fff, 0x40201000,
                  0x403ff000, 0x40400000, hi - 1):
        matches = [r for r in s.addresses if z3.is_true(z3.simplify(z3.substitute(
            alike(s, a, r), (a, z3.BitVecVal(probe, 64)))))]
        assert len(matches) == 1, (hex(probe), matches)
    assert lo == 0


def test_prove_from_scratch_and_cutoff(tmp_path: Path, capsys) -> None:
    """split-nt: PROVED exactly where the explicit engine finds nothing; the proved properties also
    hold at 3 vCPUs (the cutoff), and the certificate written re-checks."""
    out = tmp_path / "cert"
    assert main(["prove", "split-nt", "--out", str(out), "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "PROVED" in text and "re-check with" in text
    manifest = json.loads((out / MANIFEST).read_text())
    seq = load_model("split-nt")
    three = explore(build(seq, Config(level=seq.level), vcpus=3))
    labels = [c.label() for c in three.system.choices]
    for p in manifest["properties"]:
        seen = {labels[ci] for (prop, ci) in three.occurrences if prop == p["property"]}
        assert not seen & set(p["proved_on"]), (p["property"], seen)
        assert set(p["violated_on"]) <= seen
    problems, checks = recheck(out, seq.sha256)
    assert not problems and all(c.ok for c in checks)


def test_prove_refuses_a_foreign_folder(tmp_path: Path, capsys) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me\n")
    assert main(["prove", "split-bbm", "--out", str(foreign)]) == 2
    assert "not a bbmcheck certificate folder" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep me\n"


def test_failed_locality_falls_back_to_unknown(monkeypatch, tmp_path: Path, capsys) -> None:
    """If observers interfered (as hardware AF updates would), no PROVED and no certificate."""
    import bbmcheck.smt.prove as prove_mod

    monkeypatch.setattr(prove_mod, "_locality", lambda enc, v, single: z3.BoolVal(True))
    result = prove_mod.prove(load_model("split-bbm"), jobs=1)
    assert result.obligations == []
    statuses = {p.property: p for p in result.properties}
    assert statuses["tlb-conflict"].status == "UNKNOWN"
    assert "observers interfere" in statuses["tlb-conflict"].note
    assert statuses["invalid-window"].status == "VIOLATED"
