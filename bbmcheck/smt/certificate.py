"""Proof certificates: the invariants and a manifest, and re-checking them against the model.

A certificate folder holds ``manifest.json`` and, per representative address and observer count,
``<address>/<n>vcpu/invariant.smt2``: the invariant Spacer found, as one
``(define-fun inv ((x Int) ...) Bool body)``. The invariants are the only claim a certificate
makes. The manifest records what they are claimed to prove (the model's sha256, the
representatives, each property's status per implementation, as the report gives it) and which
obligations that proof consists of, so that a reader sees both; ``recheck`` trusts none of it.

``recheck`` re-derives everything from the model file and the invariants: the cover query's
representatives, the explicit run that picks the implementations to prove, the statuses, and the
obligations (initiation, consecution and one safety query per property and observer count for
every representative, then locality and cover). It compares each with the manifest and names the
first difference, then runs every obligation through z3 and cvc5; each must be ``unsat``.

What the two kinds of refusal are (the CLI's exit codes):

* **exit 2, bad input** (``file:line:col: error: ...``): the manifest cannot be read as one. It is
  not JSON, not an object, has a duplicate or unknown key, lacks a field (``sha256`` of an
  invariant included), a field has the wrong type or form, or its format is not :data:`FORMAT`. The
  model file it names has an error of its own (located in the model file).
* **exit 4, not confirmed** (``path: error: ...``): a well-formed certificate that disagrees with
  what the model, the invariants and the solvers say. The model's sha256 differs (stale), the
  model is missing, the representatives, the statuses, the invariants or the obligations listed
  differ from the re-derived ones, an invariant file is missing, changed (sha256), unreadable as
  an invariant, or a solver answers an obligation with anything but ``unsat`` or ``unknown``, or
  an ``.smt2`` file in the folder is not part of the certificate or differs from the obligation of
  its name.
* **exit 3, UNKNOWN**: nothing contradicts the certificate, but it is not confirmed either: cvc5
  is not installed (z3 alone confirmed every obligation), or a solver answered ``unknown`` (on an
  obligation, or on the cover query): an undecided query refutes nothing.

:class:`Rechecked` is the one shape ``recheck`` reports in; the CLI renders it
(``report/proof.py``) and exits with its ``exit_code``.

``prove --emit-obligations`` also writes each obligation as a complete SMT-LIB2 script (for any
other solver); ``recheck`` then requires each to be byte-identical to the one it re-derives.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import z3

from .. import __version__
from ..errors import InputError
from ..results import Result, Verdict
from . import solver
from .prove import CUTOFF, INVARIANT, Obligation, PropertyProof, Search, _consts, certificate_of, invariant_file

MANIFEST = "manifest.json"
FORMAT = 3


def smtlib(ob: Obligation) -> str:
    """The obligation as a complete SMT-LIB2 script. Printed from the term's structure alone
    (``sexpr`` names its let-bindings in order), so the same obligation gives the same bytes in any
    process; z3's ``to_smt2`` names them by AST ids, which depend on what the process built before."""
    decls = [f"(declare-fun {d.name()} () {d.range().sexpr()})"
             for d in sorted(_consts(ob.formula), key=lambda d: d.name())]
    # the expected answer is in the manifest (and this comment), not a (set-info :status): a solver that
    # checks :status would report a disagreement as an error instead of its answer
    head = [f"; bbmcheck proof obligation: {ob.meaning}", "; expected: unsat", f"(set-logic {ob.logic})"]
    return "\n".join([*head, *decls, f"(assert\n {ob.formula.sexpr()})", "(check-sat)", "(exit)"]) + "\n"


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


def default_folder(name: str) -> str:
    """``proofs/<name>``, the name made of safe characters (a model's name is user text)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")[:80] or "model"
    return str(Path("proofs") / safe)


def check_folder(folder: str | Path, col: int = 1) -> None:
    """Refuse, before any work, a folder that holds something other than a bbmcheck certificate."""
    root = Path(folder)
    if root.exists() and (not root.is_dir() or (any(root.iterdir()) and not (root / MANIFEST).is_file())):
        raise InputError("<command-line>", 1, col, f"{root} exists and is not a bbmcheck certificate folder; "
                         "choose another --out")


def _property_record(p: PropertyProof) -> dict[str, Any]:
    return {"property": p.property, "status": p.status, "claim": p.claim, "proved_on": list(p.proved_on),
            "violated_on": list(p.violated_on), "proved_when": list(p.proved_when),
            "violated_when": list(p.violated_when), "note": p.note}


def _obligation_record(ob: Obligation) -> dict[str, str]:
    return {"name": ob.name, "logic": ob.logic, "expect": "unsat", "meaning": ob.meaning}


def write(result: Result, folder: str | Path, model_path: str, emit_obligations: bool = False) -> list[Path]:
    """Write the certificate of a prove result (invariants and manifest; with ``emit_obligations``
    each obligation too). Refuses to overwrite a folder that is not a bbmcheck certificate; in a
    previous certificate, replaces its ``.smt2`` files and nothing else."""
    cert = certificate_of(result)
    if result.proof is None or not cert.obligations:
        raise ValueError(f"nothing of {result.model} was proved: there is no certificate to write")
    root = Path(folder)
    check_folder(root)
    texts: dict[str, str] = {}
    invariants = []
    for (ai, n), text in sorted(cert.texts.items()):
        name = invariant_file(cert.addresses[ai], n)
        texts[name] = text
        invariants.append({"file": name, "address": f"{cert.addresses[ai]:#x}", "observers": n,
                           "stands_for": [f"{cert.addresses[b]:#x}" for b in cert.classes.get(ai, [ai])],
                           "sha256": _sha(text)})
    if emit_obligations:
        for ob in cert.obligations:
            texts[f"{ob.name}.smt2"] = smtlib(ob)
    if root.is_dir():
        for old in sorted(root.rglob("*.smt2")):
            old.unlink()
    written = [_write_inside(root, name, text) for name, text in sorted(texts.items())]
    manifest = {
        "format": FORMAT,
        "model": result.model,
        "model_file": model_path,
        "model_sha256": result.sha256,
        "level": result.level,
        "tools": tool_versions(),
        "vcpus_cutoff": CUTOFF,
        "region": list(result.proof.region),
        "representatives": [f"{a:#x}" for a in cert.addresses],
        "representatives_added_by_cover": list(result.proof.added),
        "properties": [_property_record(p) for p in cert.properties],
        "invariants": invariants,
        "obligations": [_obligation_record(ob) for ob in cert.obligations],
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8",
                                 newline="\n")
    written.append(root / MANIFEST)
    return written


def _write_inside(root: Path, name: str, text: str) -> Path:
    """Write ``root/name``, refusing a path that a symbolic link inside the folder leads elsewhere."""
    path = root / name
    top, parent = root.resolve(), path.parent.resolve()
    if path.is_symlink() or (parent != top and top not in parent.parents):
        raise InputError(str(path), 1, 1, f"leads outside the certificate folder {root}; not writing it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


# ---- reading the manifest: JSON with positions, then its schema (exit 2) ---------------------------

MAX_MANIFEST = 16 << 20  # bytes


class _Json:
    """A small JSON reader that keeps where each value starts (json.loads forgets), refuses
    duplicate keys, and nests at most 64 deep (a manifest is 4 deep)."""

    NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")

    def __init__(self, text: str, file: str) -> None:
        self.text, self.file = text, file
        self.where: dict[tuple[str | int, ...], int] = {}  # where each value starts
        self.keys: dict[tuple[str | int, ...], int] = {}  # where each object key starts

    def error(self, pos: int, message: str) -> InputError:
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return InputError(self.file, line, col, message)

    def at(self, path: tuple[str | int, ...], message: str, key: bool = False) -> InputError:
        if key and path in self.keys:
            return self.error(self.keys[path], message)
        while path not in self.where and path:
            path = path[:-1]
        return self.error(self.where.get(path, 0), message)

    def parse(self) -> Any:
        value, pos = self._value(self._ws(0), (), 0)
        pos = self._ws(pos)
        if pos != len(self.text):
            raise self.error(pos, "not JSON: extra data after the manifest's value")
        return value

    def _ws(self, pos: int) -> int:
        while pos < len(self.text) and self.text[pos] in " \t\r\n":
            pos += 1
        return pos

    def _value(self, pos: int, path: tuple[str | int, ...], depth: int) -> tuple[Any, int]:
        if depth > 64:
            raise self.error(pos, "not a manifest: JSON nested more than 64 deep")
        self.where[path] = pos
        text = self.text
        if pos >= len(text):
            raise self.error(pos, "not JSON: unexpected end of the file")
        c = text[pos]
        if c == "{":
            out: dict[str, Any] = {}
            pos = self._ws(pos + 1)
            if pos < len(text) and text[pos] == "}":
                return out, pos + 1
            while True:
                if pos >= len(text) or text[pos] != '"':
                    raise self.error(pos, "not JSON: expected a key in double quotes")
                start = pos
                key, end = self._string(pos)
                if key in out:
                    raise self.error(pos, f"duplicate key '{_printable(key)}'")
                pos = self._ws(end)
                if pos >= len(text) or text[pos] != ":":
                    raise self.error(pos, "not JSON: expected ':' after the key")
                self.keys[(*path, key)] = start
                out[key], pos = self._value(self._ws(pos + 1), (*path, key), depth + 1)
                pos = self._ws(pos)
                if pos < len(text) and text[pos] == ",":
                    pos = self._ws(pos + 1)
                    continue
                if pos < len(text) and text[pos] == "}":
                    return out, pos + 1
                raise self.error(pos, "not JSON: expected ',' or '}'")
        if c == "[":
            items: list[Any] = []
            pos = self._ws(pos + 1)
            if pos < len(text) and text[pos] == "]":
                return items, pos + 1
            while True:
                item, pos = self._value(pos, (*path, len(items)), depth + 1)
                items.append(item)
                pos = self._ws(pos)
                if pos < len(text) and text[pos] == ",":
                    pos = self._ws(pos + 1)
                    continue
                if pos < len(text) and text[pos] == "]":
                    return items, pos + 1
                raise self.error(pos, "not JSON: expected ',' or ']'")
        if c == '"':
            return self._string(pos)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                return value, pos + len(word)
        m = self.NUMBER.match(text, pos)
        if m:
            number = m.group()
            return (float(number) if any(x in number for x in ".eE") else int(number[:40])), m.end()
        raise self.error(pos, f"not JSON: unexpected {text[pos]!r}")

    def _string(self, pos: int) -> tuple[str, int]:
        try:
            return json.decoder.scanstring(self.text, pos + 1, True)  # type: ignore[attr-defined,no-any-return]
        except json.JSONDecodeError as e:
            raise self.error(e.pos, f"not JSON: {e.msg}") from None


HEX = re.compile(r"0x[0-9a-f]+")
SHA = re.compile(r"[0-9a-f]{64}")
_STR, _INT, _STRS = "a string", "an integer", "a list of strings"
TOP: dict[str, str] = {
    "format": _INT, "model": _STR, "model_file": _STR, "model_sha256": "sha", "level": _STR,
    "tools": "tools", "vcpus_cutoff": _INT, "region": "hexes", "representatives": "hexes",
    "representatives_added_by_cover": "hexes", "properties": "properties", "invariants": "invariants",
    "obligations": "obligations",
}
PROPERTY = {"property": _STR, "status": _STR, "claim": _STR, "proved_on": _STRS, "violated_on": _STRS,
            "proved_when": _STRS, "violated_when": _STRS, "note": _STR}
INVARIANT_ENTRY = {"file": _STR, "address": "hex", "observers": _INT, "stands_for": "hexes", "sha256": "sha"}
OBLIGATION = {"name": _STR, "logic": _STR, "expect": _STR, "meaning": _STR}


class Manifest:
    """A certificate's manifest, schema-checked; ``at`` locates a field for an error."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / MANIFEST
        self.file = str(self.path)
        with self.path.open("rb") as f:
            raw = f.read(MAX_MANIFEST + 1)
        if len(raw) > MAX_MANIFEST:
            raise InputError(self.file, 1, 1, f"not a manifest: larger than {MAX_MANIFEST} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw.count(b"\n", 0, e.start) + 1
            col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
            raise InputError(self.file, line, col, "not a manifest: not UTF-8") from None
        self.json = _Json(text, self.file)
        data = self.json.parse()
        old = data.get("format") if isinstance(data, dict) else None
        if isinstance(old, int) and not isinstance(old, bool) and old != FORMAT:
            # a certificate of another format (format 1 trusted its obligation files; format 2 proved
            # every address on the full system, with no classes of alike addresses): not confirmed
            raise Refused(self.file, f"certificate format {old} is not confirmed by this bbmcheck (it re-derives "
                          f"the obligations of format {FORMAT} certificates); run 'bbmcheck prove' again")
        self._object(data, (), TOP, "the manifest")
        self.data: dict[str, Any] = data

    def at(self, path: tuple[str | int, ...], message: str, key: bool = False) -> InputError:
        return self.json.at(path, message, key)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def _object(self, value: Any, path: tuple[str | int, ...], schema: dict[str, str], what: str) -> None:
        if not isinstance(value, dict):
            raise self.at(path, f"{what} must be a JSON object, not {_kind(value)}")
        for key in value:
            if key not in schema:
                expected = ", ".join(sorted(schema))
                raise self.at((*path, key), f"unknown key '{_printable(key)}' in {what} (expected {expected})",
                              key=True)
        for key, kind in schema.items():
            if key not in value:
                raise self.at(path, f"{what} has no '{key}'")
            self._field(value[key], (*path, key), kind, f"'{key}'")

    def _field(self, value: Any, path: tuple[str | int, ...], kind: str, what: str) -> None:
        def need(ok: bool, expected: str) -> None:
            if not ok:
                raise self.at(path, f"{what} must be {expected}, not {_kind(value)}")

        if kind == _STR:
            need(isinstance(value, str), _STR)
        elif kind == _INT:
            need(isinstance(value, int) and not isinstance(value, bool), _INT)
        elif kind == "sha":
            need(isinstance(value, str) and SHA.fullmatch(value) is not None, "a sha256 (64 lowercase hex digits)")
        elif kind == "hex":
            need(isinstance(value, str) and HEX.fullmatch(value) is not None, "an address such as \"0x40000000\"")
        elif kind in (_STRS, "hexes"):
            need(isinstance(value, list), "a list")
            for i, item in enumerate(value):
                self._field(item, (*path, i), _STR if kind == _STRS else "hex", f"{what}[{i}]")
        elif kind == "tools":
            need(isinstance(value, dict), "an object")
            for key, item in value.items():
                self._field(item, (*path, key), _STR, f"'tools.{_printable(key)}'")
        else:
            schema = {"properties": PROPERTY, "invariants": INVARIANT_ENTRY, "obligations": OBLIGATION}[kind]
            need(isinstance(value, list), "a list")
            for i, item in enumerate(value):
                self._object(item, (*path, i), schema, f"{what}[{i}]")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


# ---- re-checking (exit 4 on the first difference) ------------------------------------------------

class Refused(Exception):  # noqa: N818 - a refusal, not a program error
    """The certificate is not confirmed: ``path: error: message`` (exit 4)."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(message)
        self.path, self.message = str(path), message

    def render(self) -> str:
        return f"{_printable(self.path)}: error: {_printable(self.message)}"


def _printable(text: str) -> str:
    """Control characters (from a manifest or a file name) shown as escapes, never sent raw."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass
class Check:
    """One obligation's answers, as each solver gave it: ``unsat`` (the expected answer), ``sat``,
    ``unknown``, ``error: ...``, or ``not installed`` (cvc5)."""

    file: str  # the obligation's name
    expect: str
    z3: str
    cvc5: str
    reason: str = ""  # a solver's reason for an unknown

    @property
    def ok(self) -> bool:
        return self.z3 == self.expect and self.cvc5 == self.expect

    def _answers(self) -> list[str]:
        return [self.z3] + ([self.cvc5] if self.cvc5 != "not installed" else [])

    @property
    def refuted(self) -> bool:
        """A solver gave a definite answer other than the expected one (or could not read it)."""
        return any(a not in (self.expect, "unknown") for a in self._answers())

    @property
    def undecided(self) -> bool:
        """No solver refutes it, and one did not decide it."""
        return not self.refuted and "unknown" in self._answers()


@dataclass
class Rechecked:
    """What ``recheck`` says: the one shape its report and exit code come from.

    * ``verdict`` PROVED: confirmed; every obligation re-derived from the model and the invariants
      is ``unsat`` in z3 and in cvc5 (exit 0).
    * ``verdict`` UNKNOWN, ``refused`` None: nothing contradicts the certificate, but it is not
      confirmed either (``reason``): cvc5 is not installed (z3 alone confirmed it), or a solver
      answered ``unknown`` (exit 3).
    * ``refused``: not confirmed, the first difference named (exit 4); ``verdict`` stays UNKNOWN.

    A manifest that cannot be read as one, or a model with an error, is bad input: ``recheck``
    raises InputError (exit 2)."""

    folder: str
    model: str = ""
    level: str = ""  # the FEAT_BBM level the statement is about (a parameter of it, like the model)
    checks: list[Check] = field(default_factory=list)  # the obligations answered, in order
    cvc5: bool = False  # both solvers ran (else z3 only: UNKNOWN)
    verdict: Verdict = Verdict.UNKNOWN
    reason: str = ""  # why UNKNOWN
    undecided: bool = False  # UNKNOWN because a solver answered unknown (else: cvc5 is not installed)
    refused: Refused | None = None

    @property
    def exit_code(self) -> int:
        if self.refused is not None:
            return 4
        return 0 if self.verdict is Verdict.PROVED else 3


def _answer(text: str, which: str) -> tuple[str, str]:
    """One solver's answer on an obligation's script, as a word, and its reason for an unknown."""
    try:
        answer = solver.script_z3(text) if which == "z3" else solver.script_cvc5(text)
    except solver.ScriptError as e:
        return str(e), ""
    return answer.status.value, answer.reason


MAX_FILE = 64 << 20


def _read_regular(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes (not a device, FIFO or folder), at most ``limit``; None otherwise."""
    if not path.is_file():
        return None
    with path.open("rb") as f:
        data = f.read(limit + 1)
    return None if len(data) > limit else data


def model_file_for(folder: str | Path, manifest: Manifest, repo_root: str | Path | None = None) -> Path | None:
    """The model a certificate names: its file relative to the certificate's repository
    (``proofs/NAME/../..``), to ``repo_root``, or as given; else the bundled model of that name."""
    name = manifest["model_file"]
    given = Path(name)
    candidates = [given] if given.is_absolute() else [Path(folder).resolve().parent.parent / given]
    if repo_root is not None and not given.is_absolute():
        candidates.append(Path(repo_root) / given)
    for path in candidates:
        if path.is_file():
            return path
    from ..sequences.load import bundled_models

    bundled = bundled_models().get(manifest["model"])
    return Path(bundled) if bundled is not None and Path(bundled).is_file() else None


def recheck(folder: str | Path, repo_root: str | Path | None = None,
            on_check: Callable[[Check], object] | None = None, emit_obligations: bool = False, *,
            search: Search) -> Rechecked:
    """Re-derive the proof from the model and the invariants (the implementations to prove by the
    explicit ``search``, as ``prove`` picks them), compare it with the manifest, and solve every
    obligation with z3 and cvc5; ``on_check`` sees each answered obligation. Returns what it found
    (:class:`Rechecked`: confirmed, UNKNOWN, or refused at the first difference); raises InputError
    for a malformed manifest or model. With ``emit_obligations``, once every obligation is
    confirmed, write each into the folder (as ``prove --emit-obligations`` does)."""
    done = Rechecked(str(folder), cvc5=solver.cvc5_available())
    try:
        _recheck(Path(folder), repo_root, on_check, emit_obligations, search, done)
    except Refused as e:
        done.refused = e
    except solver.Unknown as e:  # the cover query: an undecided query refutes nothing
        done.reason, done.undecided = f"the cover query is undecided: {e}", True
    return done


def _recheck(root: Path, repo_root: str | Path | None, on_check: Callable[[Check], object] | None,
             emit_obligations: bool, search: Search, done: Rechecked) -> None:
    from ..arch.config import FeatBBM
    from ..sequences.load import load_model
    from . import prove as pv
    from .cover import region
    from .encode import Encoder

    m = Manifest(root)
    mf = m.file
    try:
        level = FeatBBM.parse(m["level"])
    except ValueError:
        raise m.at(("level",), f"unknown FEAT_BBM level '{_printable(m['level'])}'") from None

    model_path = model_file_for(root, m, repo_root)
    if model_path is None:
        raise Refused(mf, f"the model file {m['model_file']} is missing (and no bundled model is named "
                      f"'{m['model']}'); a certificate is checked against its model")
    raw = _read_regular(model_path, MAX_FILE)
    if raw is None:
        raise Refused(mf, f"the model file {model_path} is not a regular file of at most {MAX_FILE} bytes")
    if _sha(raw) != m["model_sha256"]:
        raise Refused(mf, f"stale certificate: {m['model_file']} has sha256 {_sha(raw)[:12]}, the certificate "
                      f"was made for {m['model_sha256'][:12]}; run 'bbmcheck prove' again")
    seq = load_model(str(model_path))
    if seq.sha256 != m["model_sha256"]:  # the file changed while it was read
        raise Refused(mf, f"stale certificate: {model_path} changed while it was read")
    if seq.name != m["model"]:
        raise Refused(mf, f"'model' is '{m['model']}', but {m['model_file']} is the model '{seq.name}'")
    done.model, done.level = seq.name, level.value
    if m["vcpus_cutoff"] != CUTOFF:
        raise Refused(mf, f"'vcpus_cutoff' is {m['vcpus_cutoff']}; the proof's cutoff argument is for "
                      f"{CUTOFF} observers")

    plan = pv.plan(seq, level, search)
    s = plan.system
    lo, hi = region(s)
    _same(m, "region", [f"{lo:#x}", f"{hi:#x}"], "the region the root table maps")
    _same(m, "representatives", [f"{a:#x}" for a in s.addresses], "the representatives the cover query gives")
    _same(m, "representatives_added_by_cover", [f"{a:#x}" for a in plan.added],
          "the representatives the cover query adds")
    if not plan.keys():
        raise Refused(mf, "the model's search leaves no property to prove on any implementation: there is "
                      "nothing a certificate could certify")

    # the statuses: re-derived as though every invariant holds; the obligations below check that
    derived = [_property_record(p) for p in pv.settle(plan, True)]
    _same_list(m, "properties", derived, "property", "the re-derived status")

    # the invariants, the only claim: one per representative and observer count the proof needs
    needed = [{"file": invariant_file(s.addresses[ai], n), "address": f"{s.addresses[ai]:#x}", "observers": n,
               "stands_for": [f"{s.addresses[b]:#x}" for b in plan.classes[ai]]} for ai, n in plan.keys()]
    listed = m["invariants"]
    for i, (want, have) in enumerate(zip(needed, listed, strict=False)):
        got = {k: have[k] for k in want}
        if got != want:
            if got["file"] == want["file"] and got.get("stands_for") != want["stands_for"]:
                raise Refused(mf, f"invariants[{i}].stands_for is {_brief(have['stands_for'])}; the addresses "
                              f"alike to {want['address']} are {_brief(want['stands_for'])}")
            raise Refused(mf, f"invariants[{i}] is {have['file']}; the proof needs {want['file']} there "
                          f"(representative {want['address']}, {want['observers']} observer(s))")
    if len(listed) < len(needed):
        w = needed[len(listed)]
        raise Refused(mf, f"no invariant for representative {w['address']} with {w['observers']} observer(s): "
                      f"the proof of {_needing(plan, int(str(w['observers'])))} needs {w['file']}")
    if len(listed) > len(needed):
        raise Refused(mf, f"invariants[{len(needed)}] ({listed[len(needed)]['file']}) is not part of the proof")
    invariants: dict[tuple[int, int], z3.BoolRef] = {}
    for (ai, n), entry in zip(plan.keys(), listed, strict=True):
        path = root / entry["file"]
        data = _read_regular(path, pv.MAX_INVARIANT)
        if data is None:
            raise Refused(path, "missing (or not a regular file of at most "
                          f"{pv.MAX_INVARIANT} bytes); the manifest lists it as an invariant")
        if _sha(data) != entry["sha256"]:
            raise Refused(path, "changed since it was written: its sha256 differs from the manifest's")
        env = Encoder(plan.system_for(ai, n), bitvectors=False).layout.fresh("")
        try:
            invariants[(ai, n)] = pv.read_invariant(data.decode("utf-8"), env)
        except (ValueError, UnicodeDecodeError) as e:
            raise Refused(path, f"not an invariant of this address's state: {e}") from None

    obligations = pv.obligations(plan, invariants)
    _same_list(m, "obligations", [_obligation_record(ob) for ob in obligations], "name",
               "the obligations a proof of every PROVED property needs")

    # files in the folder: the manifest, the invariants, and obligations as emitted, nothing else
    texts = {f"{ob.name}.smt2": smtlib(ob) for ob in obligations}
    known = {e["file"] for e in listed}
    for extra in sorted(p for p in root.rglob("*.smt2")):
        rel = extra.relative_to(root).as_posix()
        if rel in known:
            continue
        if rel not in texts:
            raise Refused(extra, "not part of the certificate (neither a listed invariant nor an obligation)")
        if _read_regular(extra, MAX_FILE) != texts[rel].encode():
            raise Refused(extra, "differs from the obligation re-derived from the model and the invariants; "
                          "emit it again with 'bbmcheck prove --emit-obligations' or delete it")

    for ob in obligations:
        text = texts[f"{ob.name}.smt2"]
        z3_said, z3_why = _answer(text, "z3")
        cvc5_said, cvc5_why = _answer(text, "cvc5") if done.cvc5 else ("not installed", "")
        check = Check(ob.name, "unsat", z3_said, cvc5_said, z3_why or cvc5_why)
        if check.refuted:
            where = root / f"{ob.name.rsplit('/', 1)[0]}/{INVARIANT}" if "/" in ob.name else m.path
            raise Refused(where, f"obligation {ob.name} ({ob.meaning}) does not hold: z3 answers {check.z3}, "
                          f"cvc5 {check.cvc5}, expected unsat")
        done.checks.append(check)
        if on_check is not None:
            on_check(check)
    undecided = [c for c in done.checks if c.undecided]
    if undecided:
        c = undecided[0]
        done.reason = (f"obligation {c.file} is undecided: z3 answers {c.z3}, cvc5 {c.cvc5}"
                       + (f" ({c.reason})" if c.reason else ""))
        done.undecided = True
        return
    if emit_obligations:
        for name, text in sorted(texts.items()):
            _write_inside(root, name, text)
    if done.cvc5:
        done.verdict = Verdict.PROVED
    else:
        done.reason = "cvc5 is not installed: z3 alone confirmed every obligation"


def _needing(plan: Any, observers: int) -> str:
    return ", ".join(sorted(plan.groups[observers]))


def _same(m: Manifest, key: str, derived: Any, what: str) -> None:
    have = m[key]
    if have != derived:
        raise Refused(m.file, f"'{key}' is {_brief(have)}; {what}: {_brief(derived)}")


def _same_list(m: Manifest, key: str, derived: list[dict[str, Any]], ident: str, what: str) -> None:
    """The first entry of ``m[key]`` that differs from the re-derived list, named by ``ident``."""
    have = m[key]
    for i, want in enumerate(derived):
        if i >= len(have):
            raise Refused(m.file, f"'{key}' lacks {want[ident]} (and every entry after it); {what} includes it")
        if have[i][ident] != want[ident]:
            missing = [h for h in have if h[ident] == want[ident]]
            said = "is out of place" if missing else "is missing"
            raise Refused(m.file, f"{key}[{i}] is {have[i][ident]}, where {what} has {want[ident]}: "
                          f"{want[ident]} {said}")
        for name in [ident, *(["status"] if "status" in want else []), *sorted(set(want) - {ident, "status"})]:
            if have[i][name] != want[name]:
                raise Refused(m.file, f"{key}[{i}] ({want[ident]}): '{name}' is {_brief(have[i][name])}; "
                              f"{what} is {_brief(want[name])}")
    if len(have) > len(derived):
        raise Refused(m.file, f"{key}[{len(derived)}] ({have[len(derived)][ident]}) is not in {what}")


def _brief(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 160 else text[:157] + "..."
