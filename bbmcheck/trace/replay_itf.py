"""Replay an ITF trace file against the model it names: no search, every step re-executed.

The model must be the one the trace was written from (its sha256 is in ``#meta``); each state must
equal the state the semantics computes, field by field; and the last step must show the property
the trace claims. A trace that fails any of this is rejected with the first step that does not
replay, located in the trace file.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ..arch.config import Config, FeatBBM, Rmrrpw
from ..errors import InputError
from ..sequences.load import bundled_models, load_text, models_dir
from ..system.build import System, build
from ..system.describe import parse_action_code
from ..system.step import actions, initial_states, step
from .itf import step_record


class TraceFile:
    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(path, 1, 1, f"cannot read trace: {e}") from None
        try:
            self.doc: dict[str, Any] = json.loads(self.text)
        except json.JSONDecodeError as e:
            raise InputError(path, e.lineno, e.colno, f"not JSON: {e.msg}") from None
        if not isinstance(self.doc, dict) or not isinstance(self.doc.get("states"), list) or not isinstance(
            self.doc.get("#meta"), dict
        ):
            raise InputError(path, 1, 1, "not an ITF trace: expected an object with '#meta' and 'states'")
        if self.doc["#meta"].get("tool") != "bbmcheck":
            raise InputError(path, self.line_of('"tool"'), 1, "not a bbmcheck trace (#meta.tool)")

    def line_of(self, needle: str, start: int = 0) -> int:
        pos = self.text.find(needle, start)
        return self.text.count("\n", 0, pos) + 1 if pos >= 0 else 1

    def state_line(self, index: int) -> int:
        m = re.search(rf'"index": {index}\b', self.text)
        return self.text.count("\n", 0, m.start()) + 1 if m else 1

    def error(self, index: int, message: str) -> InputError:
        return InputError(self.path, self.state_line(index), 1, message)


def _model_text(trace: TraceFile, meta: dict[str, Any]) -> tuple[str, str]:
    source = str(meta.get("source", ""))
    candidates = [Path(source), Path(trace.path).parent / source]
    if source.startswith("models/"):
        candidates.append(models_dir() / source[len("models/"):])
    name = str(meta.get("model", ""))
    if name in bundled_models():
        candidates.append(bundled_models()[name])
    for cand in candidates:
        if cand.is_file():
            return cand.read_text(encoding="utf-8"), source
    raise InputError(trace.path, trace.line_of('"source"'), 1, f"the model '{source}' this trace names is not found")


def load_system(trace: TraceFile) -> tuple[System, int]:
    meta = trace.doc["#meta"]
    text, source = _model_text(trace, meta)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != meta.get("model_sha256"):
        raise InputError(trace.path, trace.line_of('"model_sha256"'), 1,
                         f"stale trace: {source} has changed since the trace was written "
                         f"(sha256 {digest[:12]}, the trace was made from {str(meta.get('model_sha256'))[:12]})")
    seq = load_text(text, source, sha256=digest)
    try:
        config = Config(level=FeatBBM.parse(str(meta["level"])), rmrrpw=Rmrrpw(meta.get("rmrrpw", "overlap")))
        system = build(seq, config, vcpus=int(meta["vcpus"]))
    except (KeyError, ValueError) as e:
        raise InputError(trace.path, trace.line_of('"level"'), 1, f"bad trace metadata: {e}") from None
    labels = [c.label() for c in system.choices]
    if meta.get("choices") not in labels:
        raise InputError(trace.path, trace.line_of('"choices"'), 1,
                         f"implementation '{meta.get('choices')}' is not one this model explores ({', '.join(labels)})")
    return system, labels.index(meta["choices"])


def replay_file(path: str) -> dict[str, Any]:
    """Replay; return the document if every step matches and the violation is confirmed."""
    trace = TraceFile(path)
    system, ci = load_system(trace)
    states = trace.doc["states"]
    st = initial_states(system)[ci]
    expected = step_record(system, st, None, st, [])
    _compare(trace, 0, expected, states[0])
    last_events: list[tuple] = []
    for i in range(1, len(states)):
        recorded = states[i]
        try:
            action = parse_action_code(str(recorded["action"]["code"]))
        except (KeyError, TypeError, ValueError):
            raise trace.error(i, f"step {i} does not replay: no valid action code") from None
        if action[0] != "l" and action not in actions(system, st, evictions=True):
            raise trace.error(i, f"step {i} does not replay: action {recorded['action']['code']} is not enabled "
                                 "in the state before it")
        if action[0] == "l" and not (0 <= action[1] < system.vcpus and 0 <= action[2] < len(system.addresses)):
            raise trace.error(i, f"step {i} does not replay: lookup names no vCPU/address of this model")
        nxt, last_events = step(system, st, action)
        _compare(trace, i, step_record(system, st, action, nxt, last_events), recorded)
        st = nxt
    prop = trace.doc["#meta"].get("property")
    if not any(ev[0] == prop for ev in last_events):
        raise trace.error(len(states) - 1, f"the last step does not show the violation of '{prop}' the trace claims")
    return trace.doc


def _compare(trace: TraceFile, index: int, expected: dict[str, Any], recorded: Any) -> None:
    if not isinstance(recorded, dict):
        raise trace.error(index, f"step {index} does not replay: not a state record")
    for key in sorted(expected):
        if recorded.get(key) != expected[key]:
            raise trace.error(index, f"step {index} does not replay: '{key}' is {json.dumps(recorded.get(key))[:120]} "
                                     f"in the trace but {json.dumps(expected[key])[:120]} by the semantics")
    extra = sorted(set(recorded) - set(expected) - {"#meta"})
    if extra:
        raise trace.error(index, f"step {index} does not replay: unexpected field '{extra[0]}'")
