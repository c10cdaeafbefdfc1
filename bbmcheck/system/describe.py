"""Words for actions, state changes and events: what a counterexample row says.

Rendering lives here, next to the semantics, so every view (text, JSON) describes a step the same
way and cites the same rule.
"""

from __future__ import annotations

from ..arch.barriers import FULL_DSB, STORE_DSB
from ..arch.rules import CAUSES, ROWS
from ..arch.tlbi import TLBI_OPS
from .build import System
from .state import Action, Event, State, bits
from .step import machine


def cause_info(s: System, cause: str) -> tuple[str, str, str]:
    """(severity, sentence, rule ids) for an event's cause."""
    if cause.startswith("bbm:"):
        _, pc, k = cause.split(":")
        msg, rules = s.bbm_events[int(pc)][int(k)]
        return ("error", f"line {s.program[int(pc)].line}: {msg}", rules)
    c = CAUSES[cause]
    return (c.severity, c.text, c.rules)


def action_code(action: Action) -> str:
    return action.kind.value + ".".join(str(x) for x in action.args)


def parse_action_code(code: str) -> Action:
    """The inverse of ``action_code``; ValueError for a code no action has."""
    kind, rest = code[:1], code[1:]
    return Action.of(kind, *(int(x) for x in rest.split("."))) if rest else Action.of(kind)


def actor(action: Action) -> str:
    if action.kind == "u":
        return "updater"
    if action.kind == "p":
        return "memory"
    return f"vCPU{action.vcpu}"


def describe_action(s: System, st: State, action: Action) -> tuple[str, int | None]:
    kind = action[0]
    pc = st[1]
    if kind == "u":
        ins = s.program[pc]
        return f"{ins.text}", ins.line
    if kind == "p":
        loc = s.wlocs[action.arg]
        ver = st.vis[action.arg] + 1
        return f"store to {loc.text()} becomes visible to walkers: {s.versions[loc][ver].text()}", None
    if kind == "t":
        ins = s.program[action[2]]
        op = TLBI_OPS[ins.option]
        return f"TLBI from line {ins.line} ({ins.text}) takes effect here ({op.rules})", None
    if kind == "w":
        ai, ti = action[2], action[3]
        how = "from the root" if ti == s.root else f"from a cached pointer to {s.tables[ti]}"
        return f"walks IPA {s.addresses[ai]:#x} {how}", None
    if kind == "s":
        w = st[3][action[1]][2] - 1
        ai = w // len(s.tables)
        return f"continues its walk of IPA {s.addresses[ai]:#x} at {s.tables[w % len(s.tables)]}", None
    if kind == "e":
        entry = s.leaf_entries[action[3]] if action[2] == 0 else s.walk_entries[action[3]]
        return f"evicts {entry.text()}", None
    if kind == "l":
        return f"accesses IPA {s.addresses[action[2]]:#x} (TLB lookup)", None
    return repr(action), None


def describe_event(s: System, event: Event) -> str:
    prop, v, ai, cause = event
    _sev, text, rules = cause_info(s, cause)
    who = f"vCPU{v} " if v >= 0 else ""
    where = f"IPA {s.addresses[ai]:#x}: " if ai >= 0 else ""
    return f"{prop}: {who}{where}{text} ({rules})"


def explain_step(s: System, st: State, action: Action, nxt: State, events: list[Event]) -> str:
    """One sentence on what the step did and the Arm rule that allows it."""
    kind = action[0]
    if kind == "u":
        ins = s.program[st[1]]
        if ins.is_store:
            assert ins.loc is not None and ins.desc is not None
            rel = " with release semantics" if ins.op == "stlr" else ""
            return (f"The updater stores {ins.desc.text()} to {ins.loc.text()}{rel}; walkers may see it from now "
                    "on and must see it after the updater's next DSB (RDDMVT, spec §5.2).")
        if ins.op == "dsb":
            parts = []
            if ins.option in STORE_DSB:
                parts.append("makes the updater's earlier stores visible to every walker (RDDMVT steps 2, 6)")
            if ins.option in FULL_DSB:
                parts.append("completes the TLBIs issued before it on every PE (RDDMVT step 4, RYNJCP)")
            what = " and ".join(parts) or "orders nothing that other PEs' walkers observe"
            return f"DSB {ins.option.upper()} {what}."
        if ins.op == "tlbi":
            op = TLBI_OPS[ins.option]
            if not op.broadcast:
                return (f"TLBI {ins.option.upper()} is local: it reaches only the updater's PE, not the vCPUs "
                        "(IDMCXY).")
            return (f"TLBI {ins.option.upper()} is issued; it may act on each PE at any moment until the "
                    f"updater's next DSB ISH completes it ({op.rules}, RTGVWD).")
        if ins.op == "isb":
            return "ISB synchronises the updater's own context; other PEs see no effect."
        if ins.op == "free":
            return (f"Table page {ins.table} goes back to the allocator and may be reused with any contents "
                    "(spec §5.3).")
    if kind == "p":
        loc = s.wlocs[action.arg]
        return (f"The store to {loc.text()} reaches the walkers before any DSB forces it (spec §5.2: a store "
                "is visible at some moment after it executes).")
    if kind == "t":
        ins = s.program[action[2]]
        return (f"The TLBI from line {ins.line} takes effect on vCPU{action[1]} before the updater's DSB "
                "completes it, removing the entries in its scope and walks in flight through them (RLXHLD).")
    if kind in ("w", "s"):
        if kind == "w":
            ai, ti = action[2], action[3]
        else:
            w = st[3][action[1]][2] - 1
            ai, ti = w // len(s.tables), w % len(s.tables)
        where = f"vCPU{action[1]} reads {s.tables[ti]} for IPA {s.addresses[ai]:#x}"
        command = machine(s).fired(st, action).command
        if command.what == "read-freed":
            return f"{where}, a freed table page ({_row(command.row)}: walk caches and walk registers may hold it)."
        loc = s.walk_loc[(ti, ai)]
        desc, _ = s.value(loc, st[2])
        return f"{where} and sees {loc.text()} = {desc.text()}: {READS[command.what]} ({_row(command.row)})."
    if kind == "e":
        return f"vCPU{action[1]} evicts an entry; an unlocked entry may be evicted at any time (IYGYRY)."
    if kind == "l":
        n = len(bits(st[3][action[1]][0] & s.match_mask[action[2]]))
        return (f"vCPU{action[1]} accesses IPA {s.addresses[action[2]]:#x}; its TLB holds {n} matching "
                f"entr{'y' if n == 1 else 'ies'} (RFVQCK: several matches may abort or be used).")
    return repr(action)


# what a walk read did, by the command that fired (system/commands.py ``what``)
READS = {
    "read-invalid": "a translation fault; nothing is cached",
    "read-table": "the walk goes on, and the table pointer may be cached in the walk cache",
    "read-af0": "an Access flag fault; AF=0 entries are never cached",
    "read-leaf": "it translates, and the entry may be cached at any time",
    "read-nt-fault": "the PE takes a Translation fault on the nT=1 block (IMPLEMENTATION DEFINED)",
    "read-nt-uncached": "it translates through the nT=1 block without caching it",
    "read-nt-shadow": "it translates through the nT=1 block and caches it as a non-conflicting shadow entry "
                      "(SMMU §3.21.1, spec §3.3)",
}


def _row(row: int | None) -> str:
    """The rule ids of a spec §9.3 row, as a finding cites them."""
    return ROWS[row].rules if row is not None else ""
