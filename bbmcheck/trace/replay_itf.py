"""Replay an ITF trace file against the model it names: no search, every step re-executed.

Nothing in the file is trusted. In order:

1. **Shape** (exit 2, :class:`~bbmcheck.errors.InputError`): JSON, nested at most ``MAX_DEPTH``
   deep, an object with ``#meta`` and a non-empty ``states`` list; every number in ``#meta`` that
   decides what is built is range-checked first (``vcpus`` a whole number ``1..MAX_VCPUS``, the
   level and RMRRPW reading known words, the property a bbmcheck property), every state an object
   whose action code is well formed.
2. **The model** (exit 2 when not found): the file the trace names, whose sha256 must be the
   trace's (exit 4 when it is not: a stale trace). A model extracted from code (``#meta.extracted``:
   the code file and its sha256, the function, the scenario and its sha256, the primitive map, the
   path's short name) is made again by the caller's ``resolve`` (this layer does not extract): the
   code and the scenario must be the files the trace was made from, and the model made from them the
   trace's model (exit 4 when not).
3. **Re-execution** (exit 4, :class:`ForgedTrace`): the action codes are re-executed by
   :func:`bbmcheck.replay.execute`, the one replay; each state must equal the state the semantics
   computes, field by field (its values and the text beside them), and the last step must show the
   property the trace claims.
4. **Derived metadata** (exit 4): every ``#meta`` field is recomputed from the re-execution
   (:func:`bbmcheck.trace.itf.derived_meta` and the model) and must be the trace's, the first
   difference named.

What the views render is the document rebuilt from the re-execution, never the file's text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..arch.config import Config, FeatBBM, Rmrrpw
from ..arch.rules import PROPERTIES
from ..errors import InputError
from ..replay import Replay, execute
from ..sequences.load import MAX_VCPUS, bundled_models, load_text, models_dir
from ..sequences.schema import Sequence
from ..system.build import System, build
from ..system.describe import describe_event
from .itf import VARS, build_document, derived_meta, step_record

MAX_DEPTH = 32  # a bbmcheck trace nests 6 deep
MAX_STATES = 100_000
CODE_RE = re.compile(r"^[a-z](?:\d{1,6}(?:\.\d{1,6})*)?$")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
VERSION_RE = re.compile(r"^[0-9A-Za-z.+-]{1,40}$")
LABEL_RE = re.compile(r"^p[1-9][0-9]{0,5}$")
# #meta.extracted: how a model extracted from code is made again (None where a field may be null)
EXTRACTED = {"code": False, "code_sha256": False, "function": False, "scenario": True, "scenario_sha256": True,
             "primitives": True, "path": False, "model": False}
# makes the model again from #meta.extracted (with the code and scenario found where the trace is read)
Resolve = Callable[[dict[str, Any]], Sequence]


class ForgedTrace(InputError):
    """A well-formed trace that the re-execution contradicts: exit 4, the first difference named."""

    exit_code = 4


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _depth_error(text: str) -> tuple[int, int] | None:
    """(line, col) of the first bracket nested deeper than MAX_DEPTH, or None."""
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        tok = m.group(0)
        if tok in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                return line, m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        elif tok in "]}":
            depth -= 1
    return None


class TraceFile:
    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InputError(path, 1, 1, f"cannot read trace: {getattr(e, 'strerror', None) or e}") from None
        deep = _depth_error(self.text)
        if deep is not None:
            raise InputError(path, deep[0], deep[1], f"not a bbmcheck trace: nested more than {MAX_DEPTH} deep")
        try:
            self.doc: dict[str, Any] = json.loads(self.text)
        except json.JSONDecodeError as e:
            raise InputError(path, e.lineno, e.colno, f"not JSON: {e.msg}") from None
        except (RecursionError, ValueError) as e:  # a number too long to convert, say
            raise InputError(path, 1, 1, f"not a readable trace: {e}") from None
        if not isinstance(self.doc, dict) or not isinstance(self.doc.get("states"), list) or not isinstance(
            self.doc.get("#meta"), dict
        ):
            raise InputError(path, 1, 1, "not an ITF trace: expected an object with '#meta' and 'states'")
        if self.doc["#meta"].get("tool") != "bbmcheck":
            raise InputError(path, self.line_of('"tool"'), 1, "not a bbmcheck trace (#meta.tool)")
        self._check_shape()

    def line_of(self, needle: str, start: int = 0) -> int:
        pos = self.text.find(needle, start)
        return self.text.count("\n", 0, pos) + 1 if pos >= 0 else 1

    def meta_line(self, key: str) -> int:
        return self.line_of(json.dumps(key) + ":")

    def state_line(self, index: int) -> int:
        m = re.search(rf'"index": {index}\b', self.text)
        return self.text.count("\n", 0, m.start()) + 1 if m else 1

    def error(self, index: int, message: str) -> InputError:
        return InputError(self.path, self.state_line(index), 1, message)

    def forged(self, index: int, message: str) -> ForgedTrace:
        return ForgedTrace(self.path, self.state_line(index), 1, message)

    def meta_error(self, key: str, message: str) -> InputError:
        return InputError(self.path, self.meta_line(key), 1, f"#meta.{key} {message}")

    def _check_shape(self) -> None:
        """Types and ranges, before anything is built from them."""
        meta = self.doc["#meta"]
        vcpus = meta.get("vcpus")
        if not isinstance(vcpus, int) or isinstance(vcpus, bool) or not 1 <= vcpus <= MAX_VCPUS:
            raise self.meta_error("vcpus", f"must be a whole number 1..{MAX_VCPUS}, got {_short(vcpus)}")
        for key in ("source", "model", "model_sha256", "level", "rmrrpw", "choices", "property", "version"):
            value = meta.get(key)
            if not isinstance(value, str) or not 0 < len(value) <= 4096:
                raise self.meta_error(key, f"must be a non-empty string, got {_short(value)}")
        if "\x00" in meta["source"]:
            raise self.meta_error("source", "contains a NUL character")
        if not SHA_RE.match(meta["model_sha256"]):
            raise self.meta_error("model_sha256", "must be 64 lowercase hex digits")
        if not VERSION_RE.match(meta["version"]):
            raise self.meta_error("version", f"is not a version, got {_short(meta['version'])}")
        try:
            FeatBBM.parse(meta["level"])
        except ValueError:
            raise self.meta_error("level", f"is not a FEAT_BBM level, got {_short(meta['level'])}") from None
        if meta["rmrrpw"] not in {r.value for r in Rmrrpw}:
            raise self.meta_error("rmrrpw", f"is not a reading of RMRRPW, got {_short(meta['rmrrpw'])}")
        if meta["property"] not in PROPERTIES:
            raise self.meta_error("property", f"is not a bbmcheck property, got {_short(meta['property'])}")
        if "extracted" in meta:
            self._check_extracted(meta["extracted"])
        states = self.doc["states"]
        if not states:
            raise InputError(self.path, self.line_of('"states"'), 1,
                             "'states' is empty: a trace has at least its initial state")
        if len(states) > MAX_STATES:
            raise InputError(self.path, self.line_of('"states"'), 1, f"more than {MAX_STATES} states")
        for i, state in enumerate(states):
            if not isinstance(state, dict):
                raise self.error(i, f"state {i} is not an object")
            action = state.get("action")
            code = action.get("code") if isinstance(action, dict) else None
            if not isinstance(code, str) or not (CODE_RE.match(code) if i else code == "init"):
                raise self.error(i, f"state {i} has no valid action code (got {_short(code)})")


    def _check_extracted(self, origin: Any) -> None:
        if not isinstance(origin, dict) or set(origin) != set(EXTRACTED):
            raise self.meta_error("extracted", f"must be an object with the fields {', '.join(EXTRACTED)}, got "
                                               f"{_short(origin)}")
        for key, nullable in EXTRACTED.items():
            value = origin[key]
            if value is None and nullable:
                continue
            if not isinstance(value, str) or not 0 < len(value) <= 4096 or "\x00" in value:
                raise self.meta_error("extracted", f"{key} must be a non-empty string{' or null' if nullable else ''}"
                                                   f", got {_short(value)}")
            if key.endswith("sha256") and not SHA_RE.match(value):
                raise self.meta_error("extracted", f"{key} must be 64 lowercase hex digits")
        if (origin["scenario"] is None) != (origin["scenario_sha256"] is None):
            raise self.meta_error("extracted", "scenario and scenario_sha256 are both null or neither")
        if not LABEL_RE.match(origin["path"]):
            raise self.meta_error("extracted", f"path must be a path's short name (p1, p2, ...), got "
                                               f"{_short(origin['path'])}")


def _find(trace: TraceFile, name: str) -> str | None:
    """The file ``name`` a trace names: as written (then spelled as written: the model's steps name
    it), or beside the trace."""
    for cand in (name, str(Path(trace.path).parent / name)):
        try:
            if Path(cand).is_file():
                return cand
        except (OSError, ValueError):
            continue
    return None


def _extracted(trace: TraceFile, meta: dict[str, Any], resolve: Resolve | None) -> Sequence:
    """The model extracted from code that the trace was made from, made again; refused (exit 4)
    when the code, the scenario or the model made from them is not the trace's."""
    origin = meta["extracted"]
    line = trace.meta_line("extracted")
    if resolve is None:
        raise InputError(trace.path, line, 1, "#meta.extracted: this trace is of a model extracted from code, "
                                              "which only a caller that extracts can make again (bbmcheck replay)")
    found: dict[str, Any] = dict(origin)
    for key in ("code", "scenario"):
        if origin[key] is None:
            continue
        path = _find(trace, origin[key])
        if path is None:
            raise InputError(trace.path, line, 1, f"the {key} '{origin[key]}' this trace was extracted from is "
                                                  "not found")
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError as e:
            raise InputError(trace.path, line, 1, f"cannot read the {key} '{origin[key]}': {e.strerror or e}") from None
        if digest != origin[f"{key}_sha256"]:
            raise ForgedTrace(trace.path, trace.meta_line(f"{key}_sha256"), 1,
                              f"stale trace: {origin[key]} has changed since the trace was written (sha256 "
                              f"{digest[:12]}, the trace was made from {origin[f'{key}_sha256'][:12]})")
        found[key] = path
    what = f"path {origin['path']} of '{origin['function']}' in {origin['code']}"
    try:
        seq = resolve(found)
    except InputError as e:
        if e.file == "<command-line>":  # a primitive map the trace names and this machine has not
            raise InputError(trace.path, trace.meta_line("primitives"), 1, f"#meta.extracted: {e.message}") from None
        raise ForgedTrace(trace.path, line, 1, f"stale trace: {what} is no longer extracted as it was: "
                                               f"{e.file}:{e.line}:{e.col}: {e.message}") from None
    if seq.sha256 != meta["model_sha256"]:
        raise ForgedTrace(trace.path, trace.meta_line("model_sha256"), 1,
                          f"stale trace: {what} extracts into another model than the trace's (sha256 "
                          f"{seq.sha256[:12]}, the trace was made from {meta['model_sha256'][:12]}): its base "
                          "model, the primitive map or bbmcheck has changed")
    return replace(seq, path=meta["source"], origin=origin)


def _model_text(trace: TraceFile, meta: dict[str, Any]) -> tuple[str, str]:
    source = meta["source"]
    candidates = [Path(source), Path(trace.path).parent / source]
    if source.startswith("models/"):
        candidates.append(models_dir() / source[len("models/"):])
    name = meta["model"]
    if name in bundled_models():
        candidates.append(bundled_models()[name])
    for cand in candidates:
        try:
            if cand.is_file():
                return cand.read_text(encoding="utf-8"), source
        except (OSError, UnicodeDecodeError, ValueError):
            continue
    raise InputError(trace.path, trace.meta_line("source"), 1, f"the model '{source}' this trace names is not found")


def load_system(trace: TraceFile, resolve: Resolve | None = None) -> tuple[System, int]:
    meta = trace.doc["#meta"]
    if "extracted" in meta:
        seq = _extracted(trace, meta, resolve)
    else:
        text, source = _model_text(trace, meta)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest != meta["model_sha256"]:
            raise ForgedTrace(trace.path, trace.meta_line("model_sha256"), 1,
                              f"stale trace: {source} has changed since the trace was written "
                              f"(sha256 {digest[:12]}, the trace was made from {meta['model_sha256'][:12]})")
        seq = load_text(text, source, sha256=digest)
    config = Config(level=FeatBBM.parse(meta["level"]), rmrrpw=Rmrrpw(meta["rmrrpw"]))
    system = build(seq, config, vcpus=meta["vcpus"])
    labels = [c.label() for c in system.choices]
    if meta["choices"] not in labels:
        raise ForgedTrace(trace.path, trace.meta_line("choices"), 1,
                          f"#meta.choices: implementation {_short(meta['choices'])} is not one this model explores "
                          f"({', '.join(labels)})")
    return system, labels.index(meta["choices"])


def rerun_file(path: str, resolve: Resolve | None = None) -> tuple[dict[str, Any], Replay]:
    """Replay; return the document rebuilt from the re-execution and the re-execution itself, if
    every state and every ``#meta`` field of the file is what the re-execution gives. Raises
    InputError (malformed, exit 2) or ForgedTrace (well formed but contradicted, exit 4). A trace of
    a model extracted from code needs ``resolve``, which makes that model again."""
    trace = TraceFile(path)
    system, ci = load_system(trace, resolve)
    states = trace.doc["states"]
    run = execute(system, ci, [state["action"]["code"] for state in states[1:]])
    # the states are compared in order, so the first difference is named even when a later step
    # does not re-execute at all
    _compare(trace, 0, step_record(system, run.initial, None, run.initial, []), states[0])
    for i, row in enumerate(run.rows, 1):
        _compare(trace, i, step_record(system, row.before, row.action, row.after, row.events), states[i])
    if run.error is not None:
        i = run.error.index + 1
        raise trace.forged(i, f"step {i} does not replay: {run.error.message}")
    meta = trace.doc["#meta"]
    prop = meta["property"]
    shown = sorted((ev for ev in run.last_events if ev.prop == prop), key=repr)
    if not shown:
        raise trace.forged(len(states) - 1, f"#meta.property: the last step does not show the violation of "
                                            f"'{prop}' the trace claims")
    event = next((ev for ev in shown if describe_event(system, ev) == meta.get("finding")), shown[0])
    doc = build_document(system, run.rows, run.initial, derived_meta(system, ci, run.rows, event))
    doc["#meta"]["version"] = meta["version"]  # who wrote it: the only field not recomputed
    _compare_meta(trace, doc["#meta"])
    for key in sorted(set(trace.doc) - {"#meta", "states"}):
        if trace.doc[key] != doc.get(key):
            raise ForgedTrace(trace.path, trace.line_of(json.dumps(key) + ":"), 1,
                              f"'{key}' is {_short(trace.doc[key])} in the trace but {_short(doc.get(key))} "
                              "by the re-execution" if key in doc else f"unexpected top-level field '{key}'")
    if trace.doc.get("vars") != VARS:
        raise ForgedTrace(trace.path, 1, 1, f"'vars' is {_short(trace.doc.get('vars'))}, not {_short(VARS)}")
    return doc, replace(run, expect=event)


def replay_file(path: str, resolve: Resolve | None = None) -> dict[str, Any]:
    """The document rebuilt from the re-execution of the trace file (see :func:`rerun_file`)."""
    return rerun_file(path, resolve)[0]


def _compare_meta(trace: TraceFile, expected: dict[str, Any]) -> None:
    recorded = trace.doc["#meta"]
    for key in sorted(expected):
        if key not in recorded:
            raise ForgedTrace(trace.path, 1, 1, f"#meta.{key} is missing (the re-execution gives "
                                                f"{_short(expected[key])})")
        if recorded[key] != expected[key] or type(recorded[key]) is not type(expected[key]):
            raise ForgedTrace(trace.path, trace.meta_line(key), 1,
                              f"forged trace: #meta.{key} is {_short(recorded[key])} in the trace but "
                              f"{_short(expected[key])} by the re-execution")
    extra = sorted(set(recorded) - set(expected))
    if extra:
        raise ForgedTrace(trace.path, trace.meta_line(extra[0]), 1, f"#meta.{extra[0]}: unexpected field")


def _compare(trace: TraceFile, index: int, expected: dict[str, Any], recorded: dict[str, Any]) -> None:
    for key in sorted(expected):
        if recorded.get(key) != expected[key] or not _same_types(recorded.get(key), expected[key]):
            raise trace.forged(index, f"step {index} does not replay: '{key}' is {_short(recorded.get(key))} "
                                      f"in the trace but {_short(expected[key])} by the semantics")
    extra = sorted(set(recorded) - set(expected) - {"#meta"})
    if extra:
        raise trace.forged(index, f"step {index} does not replay: unexpected field '{extra[0]}'")
    if recorded.get("#meta") != {"index": index}:
        raise trace.forged(index, f"step {index}: '#meta' is {_short(recorded.get('#meta'))}, not "
                                  f"{_short({'index': index})}")


def _same_types(a: Any, b: Any) -> bool:
    """Equal JSON values of equal types (Python says 1 == 1.0 == True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True
