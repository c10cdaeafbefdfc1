"""``prove`` reports in the one Result vocabulary (bbmcheck/results.py, issue 13): PROVED where
the proof covers every implementation, VIOLATED where the explicit search finds a counterexample,
UNKNOWN otherwise, never PROVED for a bounded or undecided answer; ``prove --json`` is that Result
as data, as ``verify --json`` is verify's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bbmcheck.cli import main
from bbmcheck.results import Result, Verdict
from bbmcheck.sequences.load import load_model
from bbmcheck.smt.prove import prove
from bbmcheck.verify import explicit_report

ROOT = Path(__file__).resolve().parent.parent
PROVED = ("tlb-conflict", "stale-translation", "freed-table-walk", "bbm-required", "nt-misuse")


@pytest.fixture(scope="module")
def split_bbm() -> Result:
    return prove(load_model("split-bbm"), search=explicit_report)


def test_prove_returns_a_result_with_proved(split_bbm: Result) -> None:
    """split-bbm (its committed certificate in proofs/): invalid-window is violated, every other
    property proved for every address and any number of vCPUs."""
    r = split_bbm
    assert isinstance(r, Result) and r.engine == "prove" and r.complete and r.exit_code == 0
    assert r.finding("invalid-window").verdict is Verdict.VIOLATED
    assert r.finding("invalid-window").trace is not None  # the explicit engine's counterexample, replayed
    for prop in PROVED:
        f = r.finding(prop)
        assert f.verdict is Verdict.PROVED and f.claim_ok, prop
        assert f.bound == "every IPA in [0x0, 0x8000000000) and any number of vCPUs (cutoff 2)"
    assert r.proof is not None
    assert r.proof.region == ("0x0", "0x8000000000") and r.proof.cutoff == 2
    assert set(r.proof.proved_on) == set(PROVED) and r.proof.unknown == {}
    assert all(sorted(r.proof.proved_on[p]) == sorted(r.universe) for p in PROVED)
    assert r.proof.obligations and len(r.proof.invariants) == 8
    manifest = json.loads((ROOT / "proofs" / "split-bbm" / "manifest.json").read_text())
    assert {p["property"]: p["status"] for p in manifest["properties"]} == \
        {f.property: f.verdict.name for f in r.findings}


def test_prove_json_is_the_result_as_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cert"
    assert main(["prove", "split-bbm", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["engine"] == "prove" and data["exit_code"] == 0 and data["complete"]
    verdicts = {f["property"]: f["verdict"] for f in data["findings"]}
    assert verdicts == {"invalid-window": "violated", **{p: "proved" for p in PROVED}}
    assert data["proof"]["region"] == ["0x0", "0x8000000000"] and data["proof"]["obligations"]
    assert "spacer_seconds" not in data["proof"] and "seconds" not in data["stats"]  # byte-stable without --timing
    assert (out / "manifest.json").is_file() and f"wrote the certificate {out}" in captured.err
    assert main(["recheck", str(out)]) == 0


def test_an_undecided_proof_is_never_proved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Spacer gives up everywhere: what the explicit search (a bounded one) finds no violation of
    is UNKNOWN, not PROVED (nor HOLDS), and exits 3."""
    import bbmcheck.smt.prove as prove_mod

    monkeypatch.setattr(prove_mod, "_run", lambda work, jobs: [(job[2], "unknown", "timeout", 0.0) for job in work])
    r = prove_mod.prove(load_model("split-bbm"), search=explicit_report)
    assert {f.property: f.verdict for f in r.findings} == \
        {"invalid-window": Verdict.VIOLATED, **{p: Verdict.UNKNOWN for p in PROVED}}
    assert not r.complete and r.exit_code == 3 and r.proof is not None and r.proof.obligations == ()
    assert r.proof.unknown["tlb-conflict"] == "Spacer gave up at 0x0: timeout"
    code = main(["prove", "split-bbm", "--out", str(tmp_path / "cert"), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == data["exit_code"] == 3
    assert {f["verdict"] for f in data["findings"]} == {"violated", "unknown"}
    assert not (tmp_path / "cert").exists()


def test_prove_exit_codes_follow_the_result(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A buggy model: its violations refute its claims (exit 1), as ``verify`` exits on it."""
    import bbmcheck.smt.prove as prove_mod

    monkeypatch.setattr(prove_mod, "_run", lambda work, jobs: [(job[2], "unknown", "timeout", 0.0) for job in work])
    seq = load_model("free-before-tlbi")
    r = prove_mod.prove(seq, search=explicit_report)
    assert r.exit_code == 1 and any(f.verdict is Verdict.VIOLATED and not f.claim_ok for f in r.findings)
    assert main(["prove", "free-before-tlbi", "--out", str(tmp_path / "bug")]) == 1
    assert "a claim of the model is refuted" in capsys.readouterr().out
