"""Proof certificates: SMT-LIB2 obligations and a manifest, and re-checking them with z3 and cvc5.

A certificate folder holds, per representative address, the invariant (``invariant.smt2``, a
``define-fun`` for reading) and its obligations (initiation, consecution, one safety file per
property), plus the locality and cover obligations and ``manifest.json``: the model's sha256, the
tool versions, and each file's logic, sha256 and expected status. Every obligation file is a
complete SMT-LIB2 script (``set-logic``, declarations, assertions, ``check-sat``) that any solver
can run; each is expected to be ``unsat``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import z3

from .. import __version__
from ..errors import InputError
from .prove import CUTOFF, Obligation, ProofResult

MANIFEST = "manifest.json"
FORMAT = 1


def smtlib(ob: Obligation) -> str:
    solver = z3.Solver()
    solver.add(ob.formula)
    body = [line for line in solver.to_smt2().splitlines()
            if not line.startswith("; benchmark") and not line.startswith("(set-info :status")]
    # the expected answer is in the manifest (and this comment), not a (set-info :status): a solver that
    # checks :status would report a disagreement as an error instead of its answer
    head = [f"; bbmcheck proof obligation: {ob.meaning}", "; expected: unsat", f"(set-logic {ob.logic})"]
    return "\n".join(head + body + ["(exit)"]) + "\n"


def invariant_text(address: str, names: list[tuple[str, str]], body: z3.BoolRef) -> str:
    params = " ".join(f"({n} {sort})" for n, sort in names)
    return (f"; Inv for address {address}, found by Spacer; the certified invariant is J = Inv and the ranges\n"
            f"(define-fun inv ({params}) Bool\n  {body.sexpr()})\n")


def tool_versions() -> dict[str, str]:
    versions = {"bbmcheck": __version__, "z3": z3.get_version_string()}
    try:
        import cvc5

        versions["cvc5"] = getattr(cvc5, "__version__", "unknown")
    except ImportError:
        versions["cvc5"] = "not installed"
    return versions


def _sha(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def check_folder(folder: str | Path, col: int = 1) -> None:
    """Refuse, before any work, a folder that holds something other than a bbmcheck certificate."""
    root = Path(folder)
    if root.exists() and (not root.is_dir() or (any(root.iterdir()) and not (root / MANIFEST).is_file())):
        raise InputError("<command-line>", 1, col, f"{root} exists and is not a bbmcheck certificate folder; "
                         "choose another --out")


def write(result: ProofResult, folder: str | Path, model_path: str) -> list[Path]:
    """Write the certificate; refuses to overwrite a folder that is not a bbmcheck certificate."""
    root = Path(folder)
    check_folder(root)
    files: list[dict[str, str]] = []
    written: list[Path] = []
    texts: dict[str, str] = {}
    for ob in result.obligations:
        texts[f"{ob.name}.smt2"] = smtlib(ob)
        files.append({"file": f"{ob.name}.smt2", "logic": ob.logic, "expect": "unsat", "meaning": ob.meaning})
    for (ai, n), inv in sorted(result.invariants.items()):
        address = f"{result.addresses[ai]:#x}"
        names = sorted({(str(d), "Int" if d.range() == z3.IntSort() else "Bool") for d in _consts(inv)})
        texts[f"{address}/{n}vcpu/invariant.smt2"] = invariant_text(f"{address}, {n} observer(s)", names, inv)
    if root.is_dir():  # a previous certificate: replace its files, nothing else
        for old in sorted(root.rglob("*.smt2")):
            old.unlink()
    for name, text in sorted(texts.items()):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for entry in files:
        entry["sha256"] = _sha(texts[entry["file"]])
    manifest = {
        "format": FORMAT,
        "model": result.model,
        "model_file": model_path,
        "model_sha256": result.sha256,
        "level": result.level,
        "tools": tool_versions(),
        "vcpus_cutoff": CUTOFF,
        "region": [f"{result.region[0]:#x}", f"{result.region[1]:#x}"],
        "representatives": [f"{a:#x}" for a in result.addresses],
        "representatives_added_by_cover": [f"{a:#x}" for a in result.added],
        "properties": [{"property": p.property, "status": p.status, "proved_on": list(p.proved_on),
                        "violated_on": list(p.violated_on), "note": p.note} for p in result.properties],
        "files": files,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(root / MANIFEST)
    return written


def _consts(e: z3.ExprRef) -> set[z3.FuncDeclRef]:
    out: set[z3.FuncDeclRef] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if z3.is_const(x) and x.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(x.decl())
        stack.extend(x.children())
    return out


# ---- re-checking ---------------------------------------------------------------------------------

@dataclass
class Check:
    file: str
    expect: str
    z3: str
    cvc5: str

    @property
    def ok(self) -> bool:
        return self.z3 == self.expect and self.cvc5 == self.expect


def run_z3(path: Path) -> str:
    solver = z3.Solver()
    solver.set("random_seed", 0)
    solver.from_file(str(path))
    return str(solver.check())


def run_cvc5(path: Path) -> str:
    import cvc5

    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    symbols = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(solver, symbols)
    parser.setFileInput(cvc5.InputLanguage.SMT_LIB_2_6, str(path))
    answers = []
    while True:
        cmd = parser.nextCommand()
        if cmd.isNull():
            break
        out = cmd.invoke(solver, symbols).strip()
        if out in ("sat", "unsat", "unknown"):
            answers.append(out)
        elif out:
            answers.append(f"error: {out.splitlines()[0]}")
    return answers[-1] if answers else "no answer"


def cvc5_available() -> bool:
    try:
        import cvc5  # noqa: F401
    except ImportError:
        return False
    return True


def recheck(folder: str | Path, model_sha256: str | None) -> tuple[list[str], list[Check]]:
    """Problems (stale model, tampered or missing file) and each file's answers from both solvers."""
    root = Path(folder)
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    problems: list[str] = []
    if model_sha256 is None:
        problems.append(f"the model file {manifest['model_file']} is missing")
    elif model_sha256 != manifest["model_sha256"]:
        problems.append(f"stale certificate: {manifest['model_file']} has sha256 {model_sha256[:12]}, the "
                        f"certificate was made for {manifest['model_sha256'][:12]}; run 'bbmcheck prove' again")
    checks: list[Check] = []
    have_cvc5 = cvc5_available()
    for entry in manifest["files"]:
        path = root / entry["file"]
        if not path.is_file():
            problems.append(f"{entry['file']}: missing")
            continue
        if _sha(path.read_bytes()) != entry["sha256"]:
            problems.append(f"{entry['file']}: changed since it was written (sha256 differs from the manifest)")
            continue
        checks.append(Check(entry["file"], entry["expect"], run_z3(path),
                            run_cvc5(path) if have_cvc5 else "cvc5 not installed"))
    listed = {e["file"] for e in manifest["files"]}
    for extra in sorted(p.relative_to(root).as_posix() for p in root.rglob("*.smt2")):
        if extra not in listed and not extra.endswith("/invariant.smt2"):
            problems.append(f"{extra}: not in the manifest")
    return problems, checks


def model_sha256_for(folder: str | Path, repo_root: str | Path | None = None) -> str | None:
    """The current sha256 of the model a certificate names (the file relative to the certificate's
    repository, else the bundled model of that name)."""
    manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    # the repository the certificate lives in (proofs/NAME), then the working directory
    candidates = [Path(folder).resolve().parent.parent / manifest["model_file"]]
    if repo_root is not None:
        candidates.append(Path(repo_root) / manifest["model_file"])
    for path in candidates:
        if path.is_file():
            return _sha(path.read_bytes())
    from ..sequences.load import bundled_models

    bundled = bundled_models().get(manifest["model"])
    if bundled is not None and os.path.isfile(bundled):
        return _sha(Path(bundled).read_bytes())
    return None
