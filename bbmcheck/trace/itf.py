"""Apalache's Informal Trace Format (ITF) for bbmcheck counterexamples: the document every view renders.

A trace is a JSON document ``{"#meta": {...}, "vars": [...], "states": [...]}``. Each state records
the action that produced it (with the model-file line of an updater instruction), a one-sentence
explanation citing the Arm rule, the walker-visible descriptors, pending stores and TLBIs, freed
tables, and every vCPU's TLB, walk cache and in-flight walk. ITF encodings are used for sets
(``{"#set": [...]}``) and maps (``{"#map": [[k, v], ...]}``); lists are JSON arrays.

A state carries its values beside the rendered text, so the document reads back into the states it
was made from (:func:`read_states`): ``pc``; ``stores_visible``, per written entry (in
``System.wlocs`` order, named by its text) how many of its stores walkers see; per vCPU
``tlb_ids`` and ``walk_cache_ids`` (the entries' positions in ``System.leaf_entries`` and
``System.walk_entries``), ``walk_at`` (``[]``, or the walk's IPA and table index) and
``tlbis_applied_pcs``. The implementation class is ``#meta.choices``. A model extracted from code
adds ``#meta.extracted`` (``Sequence.origin``: how replay makes that model again).

This module makes documents; ``report/`` writes them (``report/itf.py`` is the JSON text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..arch.rules import PROPERTY_INFO
from ..replay import Row
from ..system.build import System
from ..system.describe import action_code, actor, cause_info, describe_action, describe_event, explain_step
from ..system.state import Action, Event, Kind, State, Vcpu, bits

FORMAT_URL = "https://apalache-mc.org/docs/adr/015adr-trace.html"
VARS = ["action", "explanation", "pc", "memory", "stores_visible", "pending_stores", "pending_tlbis", "freed",
        "vcpus", "events"]


def iset(items: list[str]) -> dict[str, list[str]]:
    return {"#set": sorted(items)}


def ids(items: list[int]) -> dict[str, list[int]]:
    return {"#set": sorted(items)}


def state_record(s: System, st: State) -> dict[str, Any]:
    """The observable content of a state (everything but the action that produced it)."""
    pc, vis = st.pc, st.vis
    memory = []
    for loc in sorted(set(s.initial) | set(s.wlocs)):
        desc, _ = s.value(loc, vis)
        memory.append([loc.text(), desc.text()])
    pending_stores = []
    executed = s.executed[pc]
    for i, loc in enumerate(s.wlocs):
        for ver in range(vis[i] + 1, executed[i] + 1):
            pending_stores.append(f"{loc.text()} := {s.versions[loc][ver].text()}")
    pending_tlbis = [f"line {s.program[t].line}: {s.program[t].text}" for t in s.pending[pc]]
    out_vcpus = []
    ntables = len(s.tables)
    for vc in st.vcpus:
        where, at = "", []
        if vc.walk:
            ai, ti = divmod(vc.walk - 1, ntables)
            where = f"IPA {s.addresses[ai]:#x} at {s.tables[ti]}"
            at = [s.addresses[ai], ti]
        out_vcpus.append({
            "tlb": iset([s.leaf_entries[b].text() for b in bits(vc.tlb)]),
            "tlb_ids": ids(bits(vc.tlb)),
            "walk_cache": iset([s.walk_entries[b].text() for b in bits(vc.wc)]),
            "walk_cache_ids": ids(bits(vc.wc)),
            "walk": where,
            "walk_at": at,
            "tlbis_applied": iset([f"line {s.program[t].line}" for t in bits(vc.applied)]),
            "tlbis_applied_pcs": ids(bits(vc.applied)),
        })
    return {
        "pc": pc,
        "memory": {"#map": memory},
        "stores_visible": {"#map": [[loc.text(), vis[i]] for i, loc in enumerate(s.wlocs)]},
        "pending_stores": pending_stores,
        "pending_tlbis": pending_tlbis,
        "freed": iset([s.tables[t] for t in s.freed[pc]]),
        "vcpus": out_vcpus,
    }


def step_record(s: System, st: State, action: Action | None, nxt: State, events: list[Event]) -> dict[str, Any]:
    """The record of the state ``nxt`` that ``action`` reached from ``st`` (None: the initial state)."""
    head: dict[str, Any]
    if action is None:
        head = {"action": {"actor": "init", "code": "init", "text": "initial state: empty TLBs, nothing in flight",
                           "line": 0},
                "explanation": "Before the sequence: every vCPU's TLB and walk cache are empty; vCPUs may walk "
                               "and cache the old tables at any time from here on (RFFWJK)."}
    else:
        text, line = describe_action(s, st, action)
        head = {"action": {"actor": actor(action), "code": action_code(action), "text": text, "line": line or 0},
                "explanation": explain_step(s, st, action, nxt, events)}
    return {**head, **state_record(s, nxt),
            "events": [describe_event(s, ev) for ev in events if ev.prop != "witness"]}


def derived_meta(s: System, ci: int, rows: Sequence[Row], event: Event) -> dict[str, Any]:
    """The ``#meta`` fields that follow from the trace itself: ``verify`` writes them, and ``replay``
    recomputes them from its re-execution and refuses a trace whose ``#meta`` says otherwise.

    ``persisting``: the violation is shown after the sequence completed (the last step starts at the
    end). ``offending_line``: the instruction whose execution is the violation, or else the last
    instruction before it that is not a DSB (a DSB only completes what is already possible, each of
    its effects being available earlier as its own action); the first instruction if none ran.
    """
    first = s.program[0].line if s.program else 0
    if rows and rows[-1].action.kind is Kind.UPDATE:
        line = s.program[rows[-1].before.pc].line
    else:
        ran = [r.before.pc for r in rows if r.action.kind is Kind.UPDATE and s.program[r.before.pc].op != "dsb"]
        line = s.program[ran[-1]].line if ran else first
    severity, _text, rules = cause_info(s, event.cause)
    return {
        "description": f"bbmcheck counterexample: {event.prop} in {s.seq.name} at {s.level.value}",
        "property": event.prop,
        "severity": severity,
        "rules": rules,
        "property_rules": PROPERTY_INFO[event.prop].rules,
        "choices": s.choices[ci].label(),
        "persisting": bool(rows) and rows[-1].before.pc == s.end,
        "finding": describe_event(s, event),
        "offending_line": line,
    }


def build_document(s: System, rows: Sequence[Row], initial: State, meta: dict[str, Any]) -> dict[str, Any]:
    """An ITF document from replayed rows (:class:`bbmcheck.replay.Row`)."""
    states = [step_record(s, initial, None, initial, [])]
    for row in rows:
        states.append(step_record(s, row.before, row.action, row.after, row.events))
    for i, state in enumerate(states):
        state["#meta"] = {"index": i}
    full_meta = {
        "format": "ITF",
        "format-description": FORMAT_URL,
        "tool": "bbmcheck",
        "version": __version__,
        "source": s.seq.path,
        "model": s.seq.name,
        "model_sha256": s.seq.sha256,
        "level": s.level.value,
        "rmrrpw": s.config.rmrrpw.value,
        "vcpus": s.vcpus,
        "addresses": [f"{a:#x}" for a in s.addresses],
        **({"extracted": dict(s.seq.origin)} if s.seq.origin is not None else {}),
        **meta,
    }
    return {"#meta": full_meta, "vars": VARS, "states": states}


def read_state(s: System, choice: int, record: dict[str, Any]) -> State:
    """The state an ITF state record of ``s`` holds, from its values (the text beside them is not
    read). Raises ValueError, KeyError or TypeError for a record that holds no state of ``s``."""
    ntables = len(s.tables)
    visible = record["stores_visible"]["#map"]
    if [loc for loc, _ in visible] != [loc.text() for loc in s.wlocs]:
        raise ValueError("stores_visible does not name this model's written entries in order")
    vcpus = []
    for v in record["vcpus"]:
        at = v["walk_at"]
        walk = 0
        if at:
            ipa, ti = at
            if not 0 <= ti < ntables:
                raise ValueError(f"walk_at names no table of this model: {ti}")
            walk = 1 + s.addresses.index(ipa) * ntables + ti
        vcpus.append(Vcpu(_mask(v["tlb_ids"], len(s.leaf_entries)), _mask(v["walk_cache_ids"], len(s.walk_entries)),
                          walk, _mask(v["tlbis_applied_pcs"], len(s.program))))
    pc = record["pc"]
    if not isinstance(pc, int) or not 0 <= pc <= s.end:
        raise ValueError(f"pc out of range: {pc!r}")
    return State(choice, pc, tuple(int(n) for _, n in visible), tuple(vcpus))


def _mask(value: dict[str, list[int]], size: int) -> int:
    out = 0
    for b in value["#set"]:
        if not isinstance(b, int) or not 0 <= b < size:
            raise ValueError(f"no entry {b!r} here")
        out |= 1 << b
    return out


def read_states(s: System, doc: dict[str, Any]) -> list[State]:
    """Read an ITF document of ``s`` back into its states (the implementation class from
    ``#meta.choices``)."""
    labels = [c.label() for c in s.choices]
    choice = labels.index(doc["#meta"]["choices"])
    return [read_state(s, choice, record) for record in doc["states"]]


def plain(value: Any) -> Any:
    """Decode ITF set/map encodings into Python lists/dicts (for views)."""
    if isinstance(value, dict):
        if "#set" in value:
            return [plain(v) for v in value["#set"]]
        if "#map" in value:
            return {k: plain(v) for k, v in value["#map"]}
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
