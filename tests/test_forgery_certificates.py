"""Forged certificates: each tampering is refused by ``recheck`` with exit 4 and the difference
named in one ``path: error: ...`` line on stderr (issue 12); a manifest that cannot be read as
one is bad input, exit 2 with its location.

``recheck`` trusts nothing but the invariants, and re-derives the rest from the model: the
representatives, the statuses, the obligations. One certificate (proofs/split-bbm, the fastest to
re-check) is copied once per module with its obligations emitted, then once per test.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bbmcheck.cli import main
from bbmcheck.sequences.load import load_model
from bbmcheck.smt.certificate import MANIFEST

ROOT = Path(__file__).resolve().parent.parent
MODEL = "split-bbm"


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed certificate with its obligations emitted (recheck --emit-obligations)."""
    folder = tmp_path_factory.mktemp("certificate") / "proofs" / MODEL
    shutil.copytree(ROOT / "proofs" / MODEL, folder)
    assert main(["recheck", str(folder), "--emit-obligations"]) == 0
    assert (folder / "cover.smt2").is_file()
    return folder


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    """A copy of the committed certificate: the invariants and the manifest."""
    folder = tmp_path / "proofs" / MODEL
    shutil.copytree(ROOT / "proofs" / MODEL, folder)
    return folder


@pytest.fixture
def cert_emitted(emitted: Path, tmp_path: Path) -> Path:
    """A copy with every obligation emitted next to the invariants."""
    folder = tmp_path / "proofs" / MODEL
    shutil.copytree(emitted, folder)
    return folder


def _manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text())  # type: ignore[no-any-return]


def _save(folder: Path, manifest: Any) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _edit(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    manifest = _manifest(folder)
    change(manifest)
    _save(folder, manifest)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _update_invariant_sha(folder: Path) -> None:
    def change(m: dict[str, Any]) -> None:
        for entry in m["invariants"]:
            entry["sha256"] = _sha(folder / entry["file"])
    _edit(folder, change)


def _refused(folder: Path, capsys: pytest.CaptureFixture[str], *named: str, path: str | None = None) -> str:
    code = main(["recheck", str(folder)])
    err = capsys.readouterr().err
    assert code == 4, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    if path == "*":
        assert lines[0].startswith(str(folder) + "/") and ": error: " in lines[0], err
    else:
        assert lines[0].startswith(f"{folder / (path or MANIFEST)}: error: "), err
    for word in named:
        assert word in lines[0], err
    return lines[0]


def test_the_untampered_copy_is_confirmed(cert_emitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recheck", str(cert_emitted)]) == 0
    assert "re-derived" in capsys.readouterr().out


# ---- the forgeries of issue 12 ------------------------------------------------------------------

def test_every_obligation_replaced_by_assert_false(cert_emitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Emitted obligations are not trusted: each must be the one recheck re-derives."""
    files = sorted(cert_emitted.rglob("*.smt2"))
    for path in files:
        if path.name != "invariant.smt2":
            path.write_text("(set-logic QF_LIA)\n(assert false)\n(check-sat)\n")
    first = next(p for p in files if p.name != "invariant.smt2")
    rel = first.relative_to(cert_emitted).as_posix()
    _refused(cert_emitted, capsys, "differs from the obligation re-derived", path=rel)


def test_obligations_emptied(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(obligations=[]))
    _refused(cert, capsys, "'obligations' lacks 0x0/1vcpu/initiation")


def test_invariants_emptied(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(invariants=[]))
    _refused(cert, capsys, "no invariant for representative 0x0 with 1 observer(s)")


def test_an_invariant_claimed_for_unlike_addresses(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One invariant stands only for addresses whose own systems are the same problem; recheck
    recomputes the classes from the model and refuses a manifest that widens one."""
    def widen(m: dict[str, Any]) -> None:
        m["invariants"][0]["stands_for"] = [m["invariants"][0]["address"], "0x40000000"]
    _edit(cert, widen)
    _refused(cert, capsys, "invariants[0].stands_for is", "the addresses alike to 0x0 are [\"0x0\"]")


def test_an_old_format_2_certificate_is_not_confirmed(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def old(m: dict[str, Any]) -> None:
        m["format"] = 2
        for entry in m["invariants"]:
            del entry["stands_for"]
    _edit(cert, old)
    _refused(cert, capsys, "certificate format 2 is not confirmed")


def test_old_format_with_files_emptied(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A format-1 certificate trusted its obligation files ("files": [] rechecked as "all 0
    obligations confirmed"); no format-1 certificate is confirmed now."""
    def change(m: dict[str, Any]) -> None:
        m["format"] = 1
        m["files"] = []
        del m["obligations"]
    _edit(cert, change)
    _refused(cert, capsys, "certificate format 1 is not confirmed")


def test_tlb_conflict_obligations_removed_while_proved(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = {p["property"]: p["status"] for p in _manifest(cert)["properties"]}
    assert status["tlb-conflict"] == "PROVED"
    _edit(cert, lambda m: m.update(obligations=[o for o in m["obligations"] if "tlb-conflict" not in o["name"]]))
    for path in cert.rglob("safety-tlb-conflict.smt2"):
        path.unlink()
    _refused(cert, capsys, "safety-tlb-conflict", "is missing")


def test_a_representative_and_its_obligations_dropped(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = _manifest(cert)
    gone = manifest["representatives"][-1]

    def change(m: dict[str, Any]) -> None:
        m["representatives"].remove(gone)
        m["invariants"] = [e for e in m["invariants"] if e["address"] != gone]
        m["obligations"] = [o for o in m["obligations"] if not o["name"].startswith(gone + "/")]
    _edit(cert, change)
    shutil.rmtree(cert / gone)
    _refused(cert, capsys, "'representatives'", "the representatives the cover query gives", gone)


def test_a_property_flipped_from_violated_to_proved(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(m: dict[str, Any]) -> None:
        p = next(p for p in m["properties"] if p["property"] == "invalid-window")
        assert p["status"] == "VIOLATED"
        p.update(status="PROVED", proved_on=p["violated_on"], violated_on=[], violated_when=[])
    _edit(cert, change)
    _refused(cert, capsys, "(invalid-window)", "'status' is \"PROVED\"", "\"VIOLATED\"")


def test_pointed_at_a_buggy_model_with_its_real_sha256(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    buggy = load_model("free-before-tlbi")
    _edit(cert, lambda m: m.update(model=buggy.name, model_file=buggy.path, model_sha256=buggy.sha256))
    _refused(cert, capsys)


@pytest.mark.parametrize("name", ["oa-change-no-bbm", "ttrem1"])
def test_pointed_at_other_buggy_models(cert: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    buggy = load_model(name)
    _edit(cert, lambda m: m.update(model=buggy.name, model_file=buggy.path, model_sha256=buggy.sha256,
                                   level=buggy.level.value))
    _refused(cert, capsys)


def _nontrivial_invariant(folder: Path) -> Path:
    return next(p for p in sorted(folder.rglob("invariant.smt2")) if "Bool\n  true)" not in p.read_text())


def test_invariant_body_replaced_by_true(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _nontrivial_invariant(cert)
    head = target.read_text().split("(define-fun", 1)[0]
    target.write_text(head + "(define-fun inv () Bool\n  true)\n")
    _update_invariant_sha(cert)
    rel = target.relative_to(cert).as_posix()
    _refused(cert, capsys, "does not hold", "z3 answers sat", path=rel)


def test_invariant_file_replaced_by_the_word_true(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _nontrivial_invariant(cert)
    target.write_text("true\n")
    _update_invariant_sha(cert)
    _refused(cert, capsys, "not an invariant", "define-fun", path=target.relative_to(cert).as_posix())


def test_invariant_changed_without_updating_the_manifest(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _nontrivial_invariant(cert)
    target.write_text("true\n")
    _refused(cert, capsys, "sha256 differs", path=target.relative_to(cert).as_posix())


# ---- further forgeries --------------------------------------------------------------------------

def test_invariant_false(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _nontrivial_invariant(cert)
    target.write_text("(define-fun inv () Bool false)\n")
    _update_invariant_sha(cert)
    _refused(cert, capsys, "/initiation", "does not hold", path=target.relative_to(cert).as_posix())


def test_invariants_swapped_between_observer_counts(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = _nontrivial_invariant(cert)
    two = one.parent.parent / ("2vcpu" if one.parent.name == "1vcpu" else "1vcpu") / "invariant.smt2"
    a, b = one.read_text(), two.read_text()
    one.write_text(b)
    two.write_text(a)
    _update_invariant_sha(cert)
    code = main(["recheck", str(cert)])
    err = capsys.readouterr().err
    assert code == 4 and err.count("\n") == 1 and "invariant.smt2: error: " in err


@pytest.mark.parametrize("body, named", [
    ("(define-fun inv ((ci Int)) Bool (forall ((x Int)) (>= x ci)))", "quantifier"),
    ("(define-fun inv ((ci Int) (pc Int)) Bool (= (* ci pc) 0))", "multiplies two variables"),
    ("(define-fun inv ((nobody Int)) Bool (= nobody 0))", "not a state variable"),
    ("(define-fun inv ((pc Bool)) Bool pc)", "has sort Bool"),
    ("(declare-fun f (Int) Int)\n(define-fun inv ((pc Int)) Bool (= (f pc) 0))", "exactly one form"),
    ("(define-fun inv ((pc Int)) Bool (= (f pc) 0))", "not valid SMT-LIB2"),
    ("(define-fun inv ((pc Int)) Bool (= pc 0)", "unbalanced"),
    ("(define-fun inv ((pc Int) (pc Int)) Bool (= pc 0))", "listed twice"),
])
def test_invariant_not_of_the_state(cert: Path, capsys: pytest.CaptureFixture[str], body: str, named: str) -> None:
    target = _nontrivial_invariant(cert)
    target.write_text(body + "\n")
    _update_invariant_sha(cert)
    _refused(cert, capsys, "not an invariant", named, path=target.relative_to(cert).as_posix())


def test_invariant_missing(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _nontrivial_invariant(cert)
    target.unlink()
    _refused(cert, capsys, "missing", path=target.relative_to(cert).as_posix())


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_invariant_is_a_device(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = _nontrivial_invariant(cert)
    target.unlink()
    target.symlink_to("/dev/zero")
    _refused(cert, capsys, "not a regular file", path=target.relative_to(cert).as_posix())


def test_invariant_entry_pointing_outside(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(m: dict[str, Any]) -> None:
        m["invariants"][0]["file"] = "../../../../etc/passwd"
    _edit(cert, change)
    _refused(cert, capsys, "invariants[0]", "the proof needs 0x0/1vcpu/invariant.smt2")


def test_stale_model(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(model_sha256="0" * 64))
    _refused(cert, capsys, "stale certificate")


def test_edited_model_next_to_the_certificate(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = _manifest(cert)
    model = cert.parent.parent / manifest["model_file"]
    model.parent.mkdir(parents=True)
    model.write_text((ROOT / manifest["model_file"]).read_text() + "\n# edited\n")
    _refused(cert, capsys, "stale certificate")


def test_model_missing(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(model_file="models/nowhere.toml", model="no-such-model"))
    _refused(cert, capsys, "is missing")


def test_model_renamed(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(model="split-nt"))
    _refused(cert, capsys, "'model' is 'split-nt'")


def test_cutoff_changed(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(vcpus_cutoff=1))
    _refused(cert, capsys, "vcpus_cutoff")


def test_region_changed(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(region=["0x0", "0x40000000"]))
    _refused(cert, capsys, "'region'")


def test_level_changed_is_another_statement(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The level is a parameter of the statement, not a claim: recheck proves the statuses at the
    level the manifest names, and says which; it confirms only what holds there."""
    _edit(cert, lambda m: m.update(level="L2"))
    code = main(["recheck", str(cert)])
    out, err = capsys.readouterr()
    assert (code == 0 and "(FEAT_BBM L2)" in out) or (code == 4 and err.count("\n") == 1), (out, err)


def test_a_representative_added(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m["representatives"].append("0x7ffffff000"))
    _refused(cert, capsys, "'representatives'")


def test_implementations_moved(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(m: dict[str, Any]) -> None:
        p = next(p for p in m["properties"] if p["property"] == "tlb-conflict")
        p["note"] = "proved by hand"
    _edit(cert, change)
    _refused(cert, capsys, "(tlb-conflict)", "'note'")


def test_claim_changed(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(m: dict[str, Any]) -> None:
        m["properties"][0]["claim"] = "holds" if m["properties"][0]["claim"] != "holds" else "violated"
    _edit(cert, change)
    _refused(cert, capsys, "'claim'")


def test_properties_reordered(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m["properties"].reverse())
    _refused(cert, capsys, "properties[0]")


def test_an_obligation_meaning_changed(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(m: dict[str, Any]) -> None:
        m["obligations"][0]["meaning"] = "nothing to see"
    _edit(cert, change)
    _refused(cert, capsys, "obligations[0]", "'meaning'")


def test_an_extra_obligation_listed(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m["obligations"].append(dict(m["obligations"][0])))
    _refused(cert, capsys, "is not in the obligations")


def test_an_extra_smt2_file(cert_emitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cert_emitted / "0x0" / "1vcpu" / "safety-extra.smt2").write_text("(assert false)\n(check-sat)\n")
    _refused(cert_emitted, capsys, "not part of the certificate", path="0x0/1vcpu/safety-extra.smt2")


def test_one_emitted_obligation_weakened(cert_emitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = cert_emitted / "cover.smt2"
    target.write_text(target.read_text().replace("(check-sat)", "(assert false)\n(check-sat)"))
    _refused(cert_emitted, capsys, "differs from the obligation re-derived", path="cover.smt2")


# ---- malformed manifests: bad input, exit 2, located ------------------------------------------

@pytest.mark.parametrize("text, at, named", [
    ("{\n  \"format\": 2,\n  oops\n}\n", (3, 3), "not JSON"),
    ("", (1, 1), "unexpected end"),
    ("[1, 2]\n", (1, 1), "must be a JSON object, not a list"),
    ("{}\n", (1, 1), "has no 'format'"),
    ("{\"format\": 2, \"format\": 2}\n", (1, 15), "duplicate key 'format'"),
    ("\"manifest\"\n", (1, 1), "must be a JSON object, not a string"),
    ("{\"format\": 2} trailing\n", (1, 15), "extra data"),
    ("[" * 100 + "]" * 100, (1, 66), "nested more than 64 deep"),
])
def test_malformed_manifest(cert: Path, capsys: pytest.CaptureFixture[str], text: str, at: tuple[int, int],
                            named: str) -> None:
    (cert / MANIFEST).write_text(text)
    assert main(["recheck", str(cert)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{cert / MANIFEST}:{at[0]}:{at[1]}: error: ") and named in err, err
    assert err.count("\n") == 1


def _located(cert: Path, capsys: pytest.CaptureFixture[str], needle: str | int, named: str) -> None:
    text = (cert / MANIFEST).read_text()
    pos = needle if isinstance(needle, int) else text.index(needle)
    line, col = text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1
    assert main(["recheck", str(cert)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{cert / MANIFEST}:{line}:{col}: error: ") and named in err, err
    assert err.count("\n") == 1


def test_invariant_entry_without_sha256(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(m: dict[str, Any]) -> None:
        del m["invariants"][1]["sha256"]
    _edit(cert, change)
    text = (cert / MANIFEST).read_text()
    second = text.index("{", text.index("{", text.index('"invariants"')) + 1)
    _located(cert, capsys, second, "'invariants'[1] has no 'sha256'")


def test_obligation_entry_of_the_wrong_type(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m["obligations"].__setitem__(2, "cover"))
    _located(cert, capsys, '"cover",', "'obligations'[2] must be a JSON object, not a string")


def test_unknown_key(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(files=[]))
    _located(cert, capsys, '"files"', "unknown key 'files'")


def test_sha256_not_hex(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(model_sha256="abc"))
    _located(cert, capsys, '"abc"', "'model_sha256' must be a sha256")


def test_format_not_an_integer(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(format="2"))
    _located(cert, capsys, '"2"', "'format' must be an integer")


def test_unknown_level(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(level="L9"))
    _located(cert, capsys, '"L9"', "unknown FEAT_BBM level")


def test_manifest_not_utf8(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cert / MANIFEST).write_bytes(b'{\n  "model": "\xff"\n}\n')
    assert main(["recheck", str(cert)]) == 2
    assert capsys.readouterr().err.startswith(f"{cert / MANIFEST}:2:13: error: not a manifest: not UTF-8")


def test_control_characters_are_not_echoed(cert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(cert, lambda m: m.update(model="\x1b[2J\x1b[31mfake"))
    line = _refused(cert, capsys, "'model' is '\\x1b[2J\\x1b[31mfake'")
    assert "\x1b" not in line
