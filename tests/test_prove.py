"""Unbounded proofs and their certificates (bbmcheck/smt/prove.py, certificate.py, cover.py).

* the committed certificates in proofs/ (invariants and manifest) re-check with z3 and cvc5, every
  obligation re-derived from the current models; the statuses are the report's, per implementation;
* prove exits as verify does, and its certificates are byte-identical between runs;
* the per-address decomposition loses nothing: the union of the per-address BMC occurrences
  equals the full system's, at equal depth;
* the cover query finds the uncovered classes the default representatives leave;
* a proof from scratch on a small model reports PROVED exactly where the explicit engine finds no
  violation, and the cutoff holds up against the explicit engine at 3 vCPUs.

Forged certificates are tests/test_forgery_certificates.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import z3

from bbmcheck.arch.config import Config
from bbmcheck.cli import main
from bbmcheck.engines.explicit import explore
from bbmcheck.results import Verdict
from bbmcheck.sequences.load import load_model
from bbmcheck.smt.bmc import bmc
from bbmcheck.smt.certificate import MANIFEST, recheck
from bbmcheck.smt.cover import alike, cover, region
from bbmcheck.system.build import build
from bbmcheck.verify import explicit_report

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "proofs"
CERTIFIED = ["ttrem0", "ttrem1-final-tlbi", "split-bbm", "split-nt", "ttrem2-direct"]


def _model_sha(name: str) -> str:
    return load_model(name).sha256


@pytest.mark.parametrize("name", CERTIFIED)
def test_committed_certificate_rechecks_with_both_solvers(name: str) -> None:
    """recheck re-derives every obligation from the model and the committed invariants."""
    folder = PROOFS / name
    done = recheck(folder, search=explicit_report)
    assert done.model == name and done.cvc5
    assert done.verdict is Verdict.PROVED and done.refused is None and done.exit_code == 0
    assert len(done.checks) >= 10
    names = {c.file for c in done.checks}
    assert "cover" in names
    assert {n.rsplit("/", 1)[-1] for n in names} >= {"locality-vcpu0", "locality-vcpu1"}
    assert any(f.endswith("/consecution") for f in names)
    for c in done.checks:
        assert (c.z3, c.cvc5) == ("unsat", "unsat"), c
    # a certificate is the invariants and the manifest: no obligation is committed
    assert {p.name for p in folder.rglob("*.smt2")} == {"invariant.smt2"}


def test_acceptance_models_prove_what_they_hold() -> None:
    """ttrem0 and ttrem1-final-tlbi: PROVED for every property the explicit engine finds no
    violation of, on those implementations; the status per implementation as the report gives it."""
    t0 = json.loads((PROOFS / "ttrem0" / MANIFEST).read_text())
    status = {p["property"]: p for p in t0["properties"]}
    assert status["invalid-window"]["status"] == "VIOLATED" and status["invalid-window"]["proved_on"] == []
    for prop in ("tlb-conflict", "stale-translation", "freed-table-walk", "bbm-required", "nt-misuse"):
        assert status[prop]["status"] == "PROVED" and status[prop]["violated_on"] == []
    t1 = json.loads((PROOFS / "ttrem1-final-tlbi" / MANIFEST).read_text())
    status = {p["property"]: p for p in t1["properties"]}
    report = json.loads(_verify_json("ttrem1-final-tlbi"))
    findings = {f["property"]: f for f in report["findings"]}
    assert status["invalid-window"]["status"] == "VIOLATED"
    assert status["invalid-window"]["proved_on"] == ["nt_fault=never, nt_cache=none", "nt_fault=never, nt_cache=shadow"]
    assert status["invalid-window"]["proved_when"] == ["nt_fault=never"]
    assert status["invalid-window"]["violated_on"] == ["nt_fault=always, nt_cache=none",
                                                       "nt_fault=always, nt_cache=shadow"]
    assert status["tlb-conflict"]["proved_when"] == ["nt_fault=always"]
    for prop, p in status.items():  # exactly as the report: violated_on, violated_when, the claim
        assert p["violated_on"] == findings[prop]["violated_on"]
        assert p["violated_when"] == findings[prop]["violated_when"]
        assert p["claim"] == findings[prop]["claim"]
        assert sorted(p["proved_on"] + p["violated_on"]) == report["universe"]
    for prop in ("stale-translation", "freed-table-walk", "bbm-required", "nt-misuse"):
        assert status[prop]["status"] == "PROVED" and status[prop]["violated_on"] == []
    assert t1["region"] == ["0x0", "0x8000000000"] and t1["vcpus_cutoff"] == 2


def _verify_json(name: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["verify", name, "--json", "--no-traces"])
    return out.getvalue()


def test_recheck_cli_confirms(capsys) -> None:
    assert main(["recheck", str(PROOFS / "split-nt")]) == 0
    assert "re-derived from split-nt (FEAT_BBM L1) and its invariants, and confirmed by z3 and cvc5" in \
        capsys.readouterr().out


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


def _pages_listing_one(n: int):  # type: ignore[no-untyped-def]
    from bbmcheck.sequences.edit import sequence

    pages = {i: f"page oa={0x80000000 + i * 0x1000:#x}" for i in range(n)}
    return sequence(f"pages-{n}", level="L0", vcpus=1, addresses=[0x40000000],
                    program=["str T2[0], invalid", "dsb ishst", "tlbi vmalls12e1is", "dsb ish",
                             "str T2[0], block oa=0x80000000", "dsb ishst", "free T3"],
                    tables={"T1": {"level": 1, "root": True, "entries": {1: "table T2"}},
                            "T2": {"level": 2, "entries": {0: "table T3"}}, "T3": {"level": 3, "entries": pages}})


def test_cover_adds_every_missing_class_of_a_64_page_table() -> None:
    """One listed address under a table of 64 pages: the cover adds the 63 other pages and the
    classes of invalid entries (66 rounds; a fixed bound of 64 rounds used to be an internal error)."""
    covered, s, added = cover(_pages_listing_one(64), lambda q: build(q, Config(level=q.level), vcpus=1))
    assert {0x40000000 + i * 0x1000 for i in range(1, 64)} <= set(added)
    assert len(added) == 66 and len(s.addresses) == 67


def test_cover_out_of_rounds_is_unknown_not_a_crash() -> None:
    from bbmcheck.smt import solver

    with pytest.raises(solver.Unknown, match="did not cover the region in 2 rounds"):
        cover(_pages_listing_one(4), lambda q: build(q, Config(level=q.level), vcpus=1), max_rounds=2)


def test_alike_pages_share_one_invariant(tmp_path: Path) -> None:
    """Eight pages coalesced with break-before-make: one proof problem stands for the eight (their
    own systems have the same commands); the certificate says so in stands_for and rechecks."""
    from bbmcheck.sequences.edit import edit, to_toml

    model = tmp_path / "pages-8.toml"
    model.write_text(to_toml(edit(_pages_listing_one(8), addresses=None)))
    folder = tmp_path / "cert"
    assert main(["prove", str(model), "--out", str(folder)]) == 1  # the invalid window, as BBM intends
    manifest = json.loads((folder / MANIFEST).read_text())
    statuses = {p["property"]: p["status"] for p in manifest["properties"]}
    assert statuses["tlb-conflict"] == statuses["stale-translation"] == "PROVED"
    pages = [f"{0x40000000 + i * 0x1000:#x}" for i in range(8)]
    assert any(set(pages) <= set(e["stands_for"]) for e in manifest["invariants"])
    assert len(manifest["invariants"]) < 2 * len(manifest["representatives"])
    assert main(["recheck", str(folder)]) == 0


def test_prove_from_scratch_and_cutoff(tmp_path: Path, capsys) -> None:
    """split-nt: PROVED exactly where the explicit engine finds nothing; the proved properties also
    hold at 3 vCPUs (the cutoff); the certificate re-checks and is byte-identical between runs, with
    any number of workers, and to the committed one."""
    out = tmp_path / "cert"
    assert main(["prove", "split-nt", "--out", str(out), "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "PROVED" in text and "re-check with" in text
    manifest = json.loads((out / MANIFEST).read_text())
    seq = load_model("split-nt")
    three = explore(build(seq, Config(level=seq.level), vcpus=3))
    s = three.system
    for p in manifest["properties"]:
        seen = {m.label() for (prop, ci) in three.occurrences if prop == p["property"]
                for m in s.choice_members[s.choices[ci]]}
        assert not seen & set(p["proved_on"]), (p["property"], seen)
        assert set(p["violated_on"]) <= seen
    done = recheck(out, search=explicit_report)
    assert all(c.ok for c in done.checks) and done.exit_code == 0
    again = tmp_path / "again"
    assert main(["prove", "split-nt", "--out", str(again), "--jobs", "2", "--emit-obligations"]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again).as_posix() for p in again.rglob("*")
                           if p.is_file() and (p.name == MANIFEST or p.name == "invariant.smt2"))
    for name in files:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
        committed = (PROOFS / "split-nt" / name).read_text()
        if name == MANIFEST:  # the tool versions may differ where the tests run
            committed = json.dumps({**json.loads(committed), "tools": None})
            assert committed == json.dumps({**json.loads((out / name).read_text()), "tools": None})
        else:
            assert committed == (out / name).read_text(), name
    # the emitted obligations are the ones recheck re-derives
    assert main(["recheck", str(again)]) == 0


def test_prove_exits_as_verify_does(tmp_path: Path, capsys, monkeypatch) -> None:
    """1 when a claim is refuted (a buggy model: its violations are certified as VIOLATED, the rest
    still proved), 3 when UNKNOWN, as verify."""
    assert main(["prove", "free-before-tlbi", "--out", str(tmp_path / "bug"), "--timeout", "60"]) == 1
    out = capsys.readouterr().out
    assert "a claim of the model is refuted" in out and "VIOLATED" in out
    import bbmcheck.smt.prove as prove_mod

    monkeypatch.setattr(prove_mod, "_run", lambda work, jobs: [(job[2], "unknown", "timeout", 0.0) for job in work])
    assert main(["prove", "split-bbm", "--out", str(tmp_path / "unknown")]) == 3
    out = capsys.readouterr().out
    assert "UNKNOWN (Spacer gave up at 0x0: timeout)" in out
    assert not (tmp_path / "unknown").exists()


def test_prove_default_folder_is_safe() -> None:
    from bbmcheck.smt.certificate import default_folder

    assert default_folder("../../x") == str(Path("proofs") / "x")
    assert default_folder("/abs/x\x1b[31m") == str(Path("proofs") / "abs_x_31m")
    assert default_folder("..") == str(Path("proofs") / "model")
    assert len(default_folder("a" * 500)) <= len("proofs/") + 80


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
    result = prove_mod.prove(load_model("split-bbm"), jobs=1, search=explicit_report)
    assert result.proof is not None and result.proof.obligations == ()
    assert result.finding("tlb-conflict").verdict is Verdict.UNKNOWN
    assert "observers interfere" in result.proof.unknown["tlb-conflict"]
    assert result.finding("invalid-window").verdict is Verdict.VIOLATED
    assert result.exit_code == 3
