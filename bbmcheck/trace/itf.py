"""Apalache's Informal Trace Format (ITF) for bbmcheck counterexamples: the document every view renders.

A trace is a JSON document ``{"#meta": {...}, "vars": [...], "states": [...]}``. Each state records
the action that produced it (with the model-file line of an updater instruction), a one-sentence
explanation citing the Arm rule, the walker-visible descriptors, pending stores and TLBIs, freed
tables, and every vCPU's TLB, walk cache and in-flight walk. ITF encodings are used for sets
(``{"#set": [...]}``) and maps (``{"#map": [[k, v], ...]}``); lists are JSON arrays.

Every view (text, Mermaid, DOT, HTML, SARIF) is rendered from this document.

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
from ..system.state import Action, Event, Kind, State, bits

FORMAT_URL = "https://apalache-mc.org/docs/adr/015adr-trace.html"
VARS = ["action", "explanation", "pc", "memory", "pending_stores", "pending_tlbis", "freed", "vcpus", "events"]


def iset(items: list[str]) -> dict[str, list[str]]:
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
        where = ""
        if vc.walk:
            ai, ti = divmod(vc.walk - 1, ntables)
            where = f"IPA {s.addresses[ai]:#x} at {s.tables[ti]}"
        out_vcpus.append({
            "tlb": iset([s.leaf_entries[b].text() for b in bits(vc.tlb)]),
            "walk_cache": iset([s.walk_entries[b].text() for b in bits(vc.wc)]),
            "walk": where,
            "tlbis_applied": iset([f"line {s.program[t].line}" for t in bits(vc.applied)]),
        })
    return {
        "pc": pc,
        "memory": {"#map": memory},
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
        **meta,
    }
    return {"#meta": full_meta, "vars": VARS, "states": states}


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
