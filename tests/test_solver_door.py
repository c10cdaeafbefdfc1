"""One door to the solvers (bbmcheck/smt/solver.py, issue 13).

* every z3 ``check()`` and every solver is made in ``solver.py``, and every seed is set there;
* an ``unknown`` answer is UNKNOWN for the user, exit 3 (or 1 when what was found refutes a claim),
  never exit 4: in BMC (``verify --engine bmc``), in ``prove`` (the cover query, an obligation) and
  in ``recheck`` (the cover query, an obligation's script). The door is replaced to answer unknown.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bbmcheck.cli import main
from bbmcheck.smt import solver
from bbmcheck.smt.solver import Answer, Status

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bbmcheck"
DOOR = PACKAGE / "smt" / "solver.py"
UNKNOWN = Answer(Status.UNKNOWN, reason="forced by the test")


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != DOOR)


def _calls(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every call of a method or function, as ``x.name(...)``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            out.append((node.lineno, node.func.attr))
    return out


def test_every_check_and_every_solver_is_made_in_the_door() -> None:
    """No module under smt/ but solver.py calls ``check`` or makes a solver; outside smt/ no
    module imports z3 or cvc5, so no ``check()`` there can be a solver's (``bbm.check`` of the
    pytest plugin, ``replay``'s run checks are not)."""
    makers = {"SolverFor", "Solver", "Optimize", "Fixedpoint", "SimpleSolver"}
    found = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if path.parent.name == "smt":
            found += [f"{rel}:{line}: .{name}(" for line, name in _calls(path) if name == "check" or name in makers]
        else:
            text = path.read_text(encoding="utf-8")
            found += [f"{rel}: imports {m.group(1)}" for m in re.finditer(r"^\s*(?:import|from)\s+(z3|cvc5)\b",
                                                                           text, re.M)]
    assert found == []
    assert any(name == "check" for _line, name in _calls(DOOR))


def test_every_seed_is_set_in_the_door() -> None:
    seeds = re.compile(r"random_seed|PYTHONHASHSEED|setOption\(\s*[\"']seed|set_param\(|\bSEED\b")
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in _sources()
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if seeds.search(line)]
    assert found == []
    text = DOOR.read_text(encoding="utf-8")
    assert 'set("random_seed", SEED)' in text and 'os.environ["PYTHONHASHSEED"] = HASH_SEED' in text


def test_the_smt_engines_import_no_other_engine() -> None:
    """BMC takes Occurrence from engines.base, prove gets the explicit search from its caller."""
    from bbmcheck.smt.bmc import BmcExploration

    found = []
    for path in sorted((PACKAGE / "smt").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"{path.name}:{node.lineno}: {n}" for n in names if n.endswith("engines.explicit")
                      or (isinstance(node, ast.ImportFrom) and node.level == 2 and n == "engines"
                          and any(a.name == "explicit" for a in node.names))]
    assert found == []
    assert BmcExploration.engine == "bmc"


def test_the_door_answers() -> None:
    import z3

    x = z3.Int("x")
    sat = solver.solve(x > 2, x < 4)
    assert sat.sat and sat.model.eval(x).as_long() == 3
    assert solver.solve(x > 2, x < 3).unsat
    assert solver.minimize(x, x > 5).model.eval(x).as_long() == 6
    s = solver.solver("QF_LIA")
    s.add(x > 0)
    assert solver.query(s, x < 0).unsat and solver.query(s, x == 1).sat  # the scope is popped
    assert solver.script_z3("(declare-fun y () Int)(assert (> y y))(check-sat)").unsat
    with pytest.raises(solver.ScriptError, match="^error: "):
        solver.script_z3("(assert (> y 0))(check-sat)")
    assert Answer(Status.UNKNOWN, reason="timeout").said() == "unknown (timeout)"


def _unknown_after(n: int) -> Callable[[Any], Answer]:
    """z3's answers for the first ``n`` queries, then unknown."""
    real = solver.decide
    count = [0]

    def decide(s: Any) -> Answer:
        count[0] += 1
        return real(s) if count[0] <= n else UNKNOWN
    return decide


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(argv + ["--json"])
    return code, json.loads(capsys.readouterr().out)


# ---- BMC -----------------------------------------------------------------------------------------

def test_bmc_unknown_is_unknown(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(solver, "decide", lambda s: UNKNOWN)
    code, data = _json(["verify", "ttrem1", "--engine", "bmc", "--bound", "6", "--no-traces"], capsys)
    assert code == 3
    assert {f["verdict"] for f in data["findings"]} == {"unknown"} and not data["complete"]
    assert "z3 answered unknown" in data["stop_reason"] and "forced by the test" in data["stop_reason"]


def test_bmc_keeps_what_it_found_before_an_unknown(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """ttrem1's violations are found by depth 13; z3 stops deciding after them: they stand (and
    refute the model's claims: exit 1), what was not found is UNKNOWN."""
    from bbmcheck.arch.config import Config
    from bbmcheck.sequences.load import load_model
    from bbmcheck.smt.bmc import bmc
    from bbmcheck.system.build import build

    seq = load_model("ttrem1")
    full = bmc(build(seq, Config(level=seq.level)), 13, windows=False)
    assert full.occurrences
    monkeypatch.setattr(solver, "decide", _unknown_after(full.queries - 1))  # the last query is undecided
    code, data = _json(["verify", "ttrem1", "--engine", "bmc", "--bound", "13", "--no-traces"], capsys)
    assert code == 1
    violated = {f["property"] for f in data["findings"] if f["verdict"] == "violated"}
    assert violated == {p for p, _ci in full.occurrences if p != "witness"}
    assert "z3 answered unknown" in data["stop_reason"]


# ---- prove ---------------------------------------------------------------------------------------

def test_prove_unknown_cover_query(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(solver, "decide", lambda s: UNKNOWN)
    assert main(["prove", "split-bbm", "--out", str(tmp_path / "cert")]) == 3
    out = capsys.readouterr().out
    assert "UNKNOWN (the cover query is undecided: z3 answered unknown on the cover query (forced by the test))" \
        in out
    assert "PROVED" not in out and not (tmp_path / "cert").exists()


def test_prove_unknown_obligation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Spacer 'finds' the invariant true (no worker runs), and z3 decides no obligation: UNKNOWN,
    exit 3, no certificate (before the door, an undecided obligation was an internal error)."""
    import bbmcheck.smt.prove as prove_mod

    monkeypatch.setattr(prove_mod, "_run", lambda work, jobs: [(job[2], "proved", "true", 0.0) for job in work])
    monkeypatch.setattr(solver, "unsat", lambda formula: UNKNOWN)
    code, data = _json(["prove", "split-bbm", "--out", str(tmp_path / "cert")], capsys)
    assert code == 3 and data["exit_code"] == 3 and data["engine"] == "prove"
    verdicts = {f["property"]: f["verdict"] for f in data["findings"]}
    assert verdicts["invalid-window"] == "violated"
    assert verdicts["tlb-conflict"] == "unknown" and "proved" not in verdicts.values()
    assert data["proof"]["unknown"]["tlb-conflict"].startswith("z3 answered unknown on obligation 0x")
    assert "/2vcpu/locality-vcpu0 " in data["proof"]["unknown"]["tlb-conflict"]
    assert data["proof"]["obligations"] == [] and not (tmp_path / "cert").exists()


# ---- recheck -------------------------------------------------------------------------------------

@pytest.fixture
def cert(tmp_path: Path) -> Path:
    folder = tmp_path / "proofs" / "split-bbm"
    shutil.copytree(ROOT / "proofs" / "split-bbm", folder)
    return folder


def test_recheck_unknown_cover_query(monkeypatch: pytest.MonkeyPatch, cert: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(solver, "decide", lambda s: UNKNOWN)
    assert main(["recheck", str(cert)]) == 3
    out, err = capsys.readouterr()
    assert f"{cert}: UNKNOWN: the cover query is undecided" in out and "neither confirmed nor refuted" in out
    assert err == ""


@pytest.mark.parametrize("door", ["script_z3", "script_cvc5"])
def test_recheck_unknown_obligation(monkeypatch: pytest.MonkeyPatch, cert: Path, capsys: pytest.CaptureFixture[str],
                                    door: str) -> None:
    """An obligation a solver does not decide refutes nothing: UNKNOWN, exit 3, not 'NOT
    confirmed' (exit 4, which a solver's unknown was before the door)."""
    if door == "script_cvc5" and not solver.cvc5_available():
        pytest.skip("cvc5 is not installed")
    monkeypatch.setattr(solver, door, lambda text: UNKNOWN)
    assert main(["recheck", str(cert), "--emit-obligations"]) == 3
    out, err = capsys.readouterr()
    assert err == "" and "NOT confirmed" not in out
    assert f"{cert}: UNKNOWN: obligation 0x0/1vcpu/initiation is undecided" in out and "(forced by the test)" in out
    assert "(expected unsat) UNKNOWN" in out
    assert {p.name for p in cert.rglob("*.smt2")} == {"invariant.smt2"}  # nothing emitted


def test_recheck_a_definite_answer_still_refuses(monkeypatch: pytest.MonkeyPatch, cert: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(solver, "script_z3", lambda text: Answer(Status.SAT))
    assert main(["recheck", str(cert)]) == 4
    out, err = capsys.readouterr()
    assert "NOT confirmed" in out and "z3 answers sat" in err and err.count("\n") == 1
