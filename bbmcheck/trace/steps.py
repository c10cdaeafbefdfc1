"""Counterexample rows computed from an ITF document: what each step changed, in words.

This is the text view's input, so the step table is rendered from the trace, not from the engine.
"""

from __future__ import annotations

from typing import Any

from ..results import Step
from .itf import plain


def changes(prev: dict[str, Any], cur: dict[str, Any]) -> list[str]:
    out = []
    for loc, desc in cur["memory"].items():
        if prev["memory"].get(loc) != desc:
            out.append(f"{loc} visible = {desc}")
    for store in cur["pending_stores"]:
        if store not in prev["pending_stores"]:
            out.append(f"pending store {store}")
    for tlbi in cur["pending_tlbis"]:
        if tlbi not in prev["pending_tlbis"]:
            out.append(f"TLBI {tlbi.split(':')[0]} pending")
    for tlbi in prev["pending_tlbis"]:
        if tlbi not in cur["pending_tlbis"]:
            out.append(f"TLBI {tlbi.split(':')[0]} completed")
    for table in cur["freed"]:
        if table not in prev["freed"]:
            out.append(f"{table} freed")
    for v, (a, b) in enumerate(zip(prev["vcpus"], cur["vcpus"], strict=True)):
        out += [f"vCPU{v} TLB + {e}" for e in b["tlb"] if e not in a["tlb"]]
        out += [f"vCPU{v} TLB - {e}" for e in a["tlb"] if e not in b["tlb"]]
        out += [f"vCPU{v} walk cache + {e}" for e in b["walk_cache"] if e not in a["walk_cache"]]
        out += [f"vCPU{v} walk cache - {e}" for e in a["walk_cache"] if e not in b["walk_cache"]]
        if a["walk"] != b["walk"]:
            out.append(f"vCPU{v} walk of {b['walk']} in flight" if b["walk"] else f"vCPU{v} walk ended")
    return out


def steps_from_itf(doc: dict[str, Any]) -> tuple[Step, ...]:
    states = [plain(s) for s in doc["states"]]
    out = []
    for i in range(1, len(states)):
        cur = states[i]
        act = cur["action"]
        out.append(Step(
            index=i,
            actor=act["actor"],
            action=act["text"],
            line=act["line"] or None,
            changes=tuple(changes(states[i - 1], cur)),
            events=tuple(cur["events"]),
            code=act["code"],
            explanation=cur["explanation"],
        ))
    return tuple(out)
