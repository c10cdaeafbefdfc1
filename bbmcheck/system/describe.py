"""Words for actions, state changes and events: what a counterexample row says.

Rendering lives here, next to the semantics, so every view (text, JSON) describes a step the same
way and cites the same rule.
"""

from __future__ import annotations

from ..arch.descriptors import Descriptor
from ..arch.tlbi import TLBI_OPS
from .build import System
from .step import Action, State, _bits

CAUSES: dict[str, tuple[str, str, str]] = {
    # cause -> (severity, text, rules)
    "invalid": ("warning", "translation fault: the walk reads an invalid entry", "IWZCBG"),
    "nt-fault": ("warning", "translation fault on an nT=1 block (IMPLEMENTATION DEFINED)", "RMRRPW"),
    "rmrrpw": ("error", "TLB conflict abort possible: an nT=1 block is used while an overlapping entry "
               "is cached; at stage 2 it is taken to EL2, which KVM of the seed's era treats as fatal",
               "RMRRPW, R_FWRMB"),
    "oa-attr": ("error", "TLB conflict abort or amalgamation: matching entries differ in output address or "
                "memory attributes", "RFVQCK, RWHZWS"),
    "size": ("error", "TLB conflict abort possible: matching entries differ in block size; at stage 2 it is "
             "taken to EL2", "RFVQCK, I_HYQMB, R_FWRMB"),
    "nt-shadow": ("warning", "TLB conflict abort possible: an nT=1 entry cached as a shadow and the nT=0 "
                  "entry both match, because nT was cleared with no TLBI after it",
                  "I_HYQMB, spec §8.2 item 3"),
    "freed": ("error", "the walk reads a table page that was freed (it may hold anything now)", "RRVJDB, RLXHLD"),
    "freed-source": ("error", "a TLB entry read from a freed table page is still used", "RRVJDB"),
    "after-completion": ("error", "a TLB entry that differs from the final mapping is used after the "
                         "sequence completed", "RGPPYH, RFFWJK"),
    "incoherent": ("error", "two translations of one address exist at once with different output "
                   "addresses or attributes", "ITHWDH, RWHZWS"),
    "nt-store-l0": ("error", "an nT=1 block is stored without FEAT_BBML1 (bit 16 is RES0)", "RDFJNG"),
    "nt-not-block": ("error", "nT is set on a descriptor that is not a block", "IPJZBK"),
    "nt-walk-l0": ("error", "a walk reads an nT=1 block without FEAT_BBML1: UNPREDICTABLE", "RDFJNG"),
    "new-mapping": ("info", "translates through the final mapping", "RDDMVT step 5"),
}


def cause_info(s: System, cause: str) -> tuple[str, str, str]:
    """(severity, sentence, rule ids) for an event's cause."""
    if cause.startswith("bbm:"):
        _, pc, k = cause.split(":")
        msg, rules = s.bbm_events[int(pc)][int(k)]
        return ("error", f"line {s.program[int(pc)].line}: {msg}", rules)
    return CAUSES[cause]


def action_code(action: Action) -> str:
    return action[0] + ".".join(str(x) for x in action[1:])


def parse_action_code(code: str) -> Action:
    kind, rest = code[0], code[1:]
    return (kind, *(int(x) for x in rest.split("."))) if rest else (kind,)


def actor(action: Action) -> str:
    if action[0] == "u":
        return "updater"
    if action[0] == "p":
        return "memory"
    return f"vCPU{action[1]}"


def _desc(d: Descriptor) -> str:
    return d.text()


def describe_action(s: System, st: State, action: Action) -> tuple[str, int | None]:
    kind = action[0]
    pc = st[1]
    if kind == "u":
        ins = s.program[pc]
        return f"{ins.text}", ins.line
    if kind == "p":
        loc = s.wlocs[action[1]]
        ver = st[2][action[1]] + 1
        return f"store to {loc.text()} becomes visible to walkers: {_desc(s.versions[loc][ver])}", None
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


def describe_changes(s: System, before: State, after: State) -> list[str]:
    out: list[str] = []
    for i, (a, b) in enumerate(zip(before[2], after[2], strict=True)):
        if a != b:
            loc = s.wlocs[i]
            out.append(f"{loc.text()} visible = {_desc(s.versions[loc][b])}")
    if before[1] != after[1]:
        pending = [p for p in s.pending[after[1]] if p not in s.pending[before[1]]]
        for p in pending:
            out.append(f"TLBI line {s.program[p].line} pending")
    for v, (x, y) in enumerate(zip(before[3], after[3], strict=True)):
        if x == y:
            continue
        for b in _bits(y[0] & ~x[0]):
            out.append(f"vCPU{v} TLB + {s.leaf_entries[b].text()}")
        for b in _bits(x[0] & ~y[0]):
            out.append(f"vCPU{v} TLB - {s.leaf_entries[b].text()}")
        for b in _bits(y[1] & ~x[1]):
            out.append(f"vCPU{v} walk cache + {s.walk_entries[b].text()}")
        for b in _bits(x[1] & ~y[1]):
            out.append(f"vCPU{v} walk cache - {s.walk_entries[b].text()}")
        if x[2] != y[2]:
            if y[2]:
                w = y[2] - 1
                out.append(f"vCPU{v} walk of {s.addresses[w // len(s.tables)]:#x} in flight at "
                           f"{s.tables[w % len(s.tables)]}")
            elif x[2]:
                out.append(f"vCPU{v} walk ended")
    return out


def describe_event(s: System, event: tuple) -> str:
    prop, v, ai, cause = event
    _sev, text, rules = cause_info(s, cause)
    who = f"vCPU{v} " if v >= 0 else ""
    where = f"IPA {s.addresses[ai]:#x}: " if ai >= 0 else ""
    return f"{prop}: {who}{where}{text} ({rules})"
