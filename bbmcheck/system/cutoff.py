"""The vCPU cutoff: how many vCPUs a search needs so that its verdicts hold for any number.

The argument (ARCHITECTURE.md, "The vCPU cutoff") rests on three facts about the command table,
which :func:`observers_needed` checks on the commands themselves rather than assumes:

1. **vCPUs never steer the updater or the memory system.** Every updater and store-visibility
   command's guard and events read only the class, the pc and the visible stores; its effects on
   vCPUs (a DSB completing TLBIs, RDDMVT step 4) apply one function of (global part, that vCPU) to
   every vCPU alike.
2. **A vCPU's own moves read only the global part and that vCPU** (TLBIs acting on it, walk starts
   and steps, evictions, lookups): guards and effects over ``GLOBAL_ATOMS`` and ``LOCAL_ATOMS``.
3. **Events read other vCPUs only through ``AnyTlb``, and only positively** (never under ``Not``).
   A positive condition that holds with every vCPU present still holds with at most ``w`` of them
   kept, ``w`` its witness count: 1 for an ``AnyTlb``, the largest child's for ``AnyOf``, the sum
   of the children's for ``All``, 0 for an atom of the acting vCPU or the global part.

So a run of N vCPUs, restricted to the acting vCPU and the witnesses of an event, is a run of the
smaller system (dropping a vCPU drops only its own moves; 1 and 2 say nothing else read it) with
the event at no greater depth; and a run of the smaller system is a run of the N-vCPU system in
which the other vCPUs never move (3: extra TLBs only make a positive condition truer). Hence with
``c = 1 + max w`` over every event, the c-vCPU search finds exactly the events, depths, windows,
causes, classes and persistence of any N >= c.
"""

from __future__ import annotations

from dataclasses import dataclass

from .commands import (
    OWN_ATOMS,
    All,
    AnyOf,
    AnyTlb,
    Command,
    Commands,
    Cond,
    EachVcpu,
    Not,
    atoms,
    effects_read_within,
    is_global,
    reads_own_vcpu,
)


@dataclass(frozen=True)
class Cutoff:
    """``vcpus``: the searched vCPU count that decides every count >= it; or None and ``why`` not."""

    vcpus: int | None
    why: str = ""


def witnesses(c: Cond) -> int | None:
    """How many vCPUs besides the acting one suffice to keep ``c`` true (None: ``c`` reads other
    vCPUs negatively, so no such bound follows from its shape)."""
    if isinstance(c, AnyTlb):
        return 1
    if isinstance(c, Not):
        return None if AnyTlb in atoms(c.cond) else 0
    if isinstance(c, All | AnyOf):
        got = [witnesses(x) for x in c.conds]
        if any(w is None for w in got):
            return None
        ws = [w for w in got if w is not None]
        if not ws:
            return 0
        return sum(ws) if isinstance(c, All) else max(ws)
    return 0


def _global_command_ok(c: Command) -> str:
    if not is_global(c.when) or not is_global(c.local):
        return f"the guard of {c.what} at {c.action} reads vCPU state"
    if any(not is_global(e.cond) for e in c.events):
        return f"an event of {c.what} reads vCPU state"
    for e in c.effects:
        if isinstance(e, EachVcpu) and not effects_read_within(e.effects, OWN_ATOMS):
            return f"the per-vCPU effect of {c.what} reads another vCPU"
    return ""


def _own_command_ok(c: Command) -> str:
    if not reads_own_vcpu(c):
        return f"{c.what} at {c.action} reads another vCPU in its guard or effects"
    return ""


def observers_needed(cmds: Commands) -> Cutoff:
    """The cutoff of a command table (see the module docstring), or why there is none."""
    for c in [*cmds.updater, *(c for per in cmds.propagate for c in per)]:
        why = _global_command_ok(c)
        if why:
            return Cutoff(None, why)
    own: list[Command] = [*cmds.per_vcpu_order(), *cmds.evict_tlb, *cmds.evict_wc, *cmds.lookups]
    for g in [*cmds.walks.values(), *cmds.steps.values()]:
        if not atoms(g.local) <= OWN_ATOMS:
            return Cutoff(None, f"the walk guard at {g.action} reads another vCPU")
    most = 0
    for c in own:
        why = _own_command_ok(c)
        if why:
            return Cutoff(None, why)
        for e in c.events:
            w = witnesses(e.cond)
            if w is None:
                return Cutoff(None, f"the {e.prop} event of {c.what} reads other vCPUs' TLBs negatively")
            most = max(most, w)
    return Cutoff(1 + most)
