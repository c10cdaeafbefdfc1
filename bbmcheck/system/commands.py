"""The transition relation as data: guarded commands built from a compiled :class:`System`.

Every Arm decision the search makes is taken here, once, and written down as a command: which
version of an entry a walk reads and what that does (rows 1-5, 23), what a TLBI removes (RLXHLD),
what a DSB completes (RDDMVT, RYNJCP), when a store becomes visible (B2.3, spec §5.2), and what a
TLB lookup may raise (rows 6-10, 15, 17-19, ITHWDH). Two interpreters read the commands and decide
nothing themselves: ``system/step.py`` (compiled to closures over integers, for the explicit search)
and ``smt/encode.py`` (a term-by-term translation to z3, for BMC and Spacer).

A command has

* an ``action``, the transition label (``vcpu`` -1 in a per-vCPU command, which stands for one
  command per vCPU) and a ``case`` naming which of the action's cases it is;
* a guard in two parts of a small closed language of conditions (:data:`Cond`): ``when`` reads only
  the implementation class, the pc and the visible stores; ``local`` reads the acting vCPU;
* an effect, a sequence of assignments (:data:`Effect`);
* events (:class:`Emit`), each with a cause key of ``arch.rules.CAUSES`` and a condition on the
  state before the step;
* ``what``, the key of the sentence that explains it (``describe``), and the spec row it implements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..arch.barriers import FULL_DSB, STORE_DSB
from ..arch.config import NtCache, NtFault, Rmrrpw
from .build import Read, System
from .scope import INVALID
from .state import UPDATE, Action, Kind, bits

# ---- conditions ---------------------------------------------------------------------------------
# Global atoms read (choice, pc, vis); local atoms read the acting vCPU; AnyTlb reads every vCPU.


@dataclass(frozen=True)
class PcIn:
    pcs: frozenset[int]


@dataclass(frozen=True)
class ChoiceIn:
    classes: frozenset[int]


@dataclass(frozen=True)
class VisIs:
    """Exactly ``n`` stores to written entry ``entry`` are visible."""

    entry: int
    n: int


@dataclass(frozen=True)
class VisAtLeast:
    entry: int
    n: int


@dataclass(frozen=True)
class WalkIs:
    """The acting vCPU's in-flight walk has this code (0: none)."""

    code: int


@dataclass(frozen=True)
class WcAny:
    """The acting vCPU's walk cache holds one of these pointers."""

    mask: int


@dataclass(frozen=True)
class TlbAny:
    """The acting vCPU's TLB holds one of these entries."""

    mask: int


@dataclass(frozen=True)
class TlbAll:
    """The acting vCPU's TLB holds all of these entries."""

    mask: int


@dataclass(frozen=True)
class AnyTlb:
    """Some vCPU's TLB (the acting one included) holds one of these entries."""

    mask: int


@dataclass(frozen=True)
class Applied:
    """Pending broadcast TLBI ``tlbi`` (its pc) has acted on the acting vCPU."""

    tlbi: int


_READS: dict[frozenset[type], frozenset[type]] = {}  # one object per set of atom kinds


def _reads(parts: tuple[Cond, ...]) -> frozenset[type]:
    got = frozenset().union(*(atoms(x) for x in parts)) if parts else frozenset()
    return _READS.setdefault(got, got)


@dataclass(frozen=True)
class Not:
    cond: Cond
    reads: frozenset[type] = field(init=False, compare=False, repr=False)  # atoms(): computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", _reads((self.cond,)))


@dataclass(frozen=True)
class All:
    conds: tuple[Cond, ...]
    reads: frozenset[type] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", _reads(self.conds))


@dataclass(frozen=True)
class AnyOf:
    conds: tuple[Cond, ...]
    reads: frozenset[type] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", _reads(self.conds))


Cond = (PcIn | ChoiceIn | VisIs | VisAtLeast | WalkIs | WcAny | TlbAny | TlbAll | AnyTlb | Applied | Not | All
        | AnyOf)
TRUE: Cond = All(())
FALSE: Cond = AnyOf(())
GLOBAL_ATOMS = (PcIn, ChoiceIn, VisIs, VisAtLeast)


LOCAL_ATOMS = (WalkIs, WcAny, TlbAny, TlbAll, Applied)


_ATOM: dict[type, frozenset[type]] = {}


def atoms(c: Cond) -> frozenset[type]:
    """The kinds of atom ``c`` reads (a compound condition computed them when it was made)."""
    if isinstance(c, Not | All | AnyOf):
        return c.reads
    t = type(c)
    got = _ATOM.get(t)
    if got is None:
        got = _ATOM[t] = frozenset((t,))
    return got


_GLOBAL: frozenset[type] = frozenset(GLOBAL_ATOMS)


def is_global(c: Cond) -> bool:
    """Whether ``c`` reads only the class, the pc and the visible stores."""
    return atoms(c) <= _GLOBAL


OWN_ATOMS: frozenset[type] = _GLOBAL | frozenset(LOCAL_ATOMS)  # the global part and the acting vCPU


def effects_read_within(effects: tuple[Effect, ...], allowed: frozenset[type]) -> bool:
    """Whether the conditions of ``effects`` read only ``allowed`` atoms, with no ``EachVcpu``
    (an effect on every vCPU) among them."""
    for e in effects:
        if isinstance(e, When):
            if not atoms(e.cond) <= allowed or not effects_read_within(e.effects, allowed):
                return False
        elif isinstance(e, EachVcpu):
            return False
    return True


def reads_own_vcpu(c: Command) -> bool:
    """Whether a per-vCPU command's guards and effects read only the class, the pc, the visible
    stores and the acting vCPU (its events may read more)."""
    return is_global(c.when) and atoms(c.local) <= OWN_ATOMS and effects_read_within(c.effects, OWN_ATOMS)


def conj(*cs: Cond) -> Cond:
    """``All`` without the trivially true parts."""
    parts = tuple(c for c in cs if not (type(c) is All and not c.conds))
    return parts[0] if len(parts) == 1 else All(parts)


def disj(cs: list[Cond] | tuple[Cond, ...]) -> Cond:
    parts = tuple(c for c in cs if not (type(c) is AnyOf and not c.conds))
    return parts[0] if len(parts) == 1 else AnyOf(parts)


# ---- effects --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetPc:
    pc: int


@dataclass(frozen=True)
class SetVis:
    entry: int
    n: int


@dataclass(frozen=True)
class SetAllVis:
    counts: tuple[int, ...]


@dataclass(frozen=True)
class ClearTlb:
    mask: int


@dataclass(frozen=True)
class FillTlb:
    mask: int


@dataclass(frozen=True)
class ClearWc:
    mask: int


@dataclass(frozen=True)
class FillWc:
    mask: int


@dataclass(frozen=True)
class SetWalk:
    code: int


@dataclass(frozen=True)
class DropWalk:
    """The in-flight walk stops if its code is one of these."""

    codes: frozenset[int]


@dataclass(frozen=True)
class MarkApplied:
    tlbi: int


@dataclass(frozen=True)
class ClearApplied:
    pass


@dataclass(frozen=True)
class When:
    """Effects applied only if ``cond`` (on the vCPU before the step) holds."""

    cond: Cond
    effects: tuple[Effect, ...]


@dataclass(frozen=True)
class EachVcpu:
    """The vCPU effects applied to every vCPU (an updater command's effect on all PEs)."""

    effects: tuple[Effect, ...]


Effect = (SetPc | SetVis | SetAllVis | ClearTlb | FillTlb | ClearWc | FillWc | SetWalk | DropWalk | MarkApplied
          | ClearApplied | When | EachVcpu)


class Emit(NamedTuple):
    prop: str
    cause: str  # a key of arch.rules.CAUSES, or bbm:<pc>:<k>
    cond: Cond = TRUE


@dataclass(frozen=True)
class Command:
    action: Action
    case: tuple[object, ...]
    when: Cond
    local: Cond
    effects: tuple[Effect, ...]
    events: tuple[Emit, ...]
    what: str  # the sentence key in describe.EXPLAIN
    row: int | None = None  # spec §9.3 row (arch.rules.ROWS)
    address: int = -1  # the address index events name (-1: none)

    @property
    def per_vcpu(self) -> bool:
        return self.action.kind not in (Kind.UPDATE, Kind.PROPAGATE)


@dataclass
class Group:
    """The commands of one action, one per case: exactly one case's ``when`` holds in any state."""

    action: Action
    local: Cond  # when the action is enabled for a vCPU (besides its cases)
    cases: list[Command] = field(default_factory=list)


@dataclass
class Commands:
    """A system's transition relation. ``updater[pc]``; ``propagate[i][n]`` makes store ``n`` to entry
    ``i`` visible; per-vCPU groups: ``tlbi`` (by pc), ``walks`` (by (address, table)), ``steps`` (by
    walk code), ``evict`` (optional environment: TLB bits, walk-cache bits); ``lookups`` by address."""

    updater: list[Command]
    propagate: list[list[Command]]
    tlbi: dict[int, Command]
    walks: dict[tuple[int, int], Group]
    steps: dict[int, Group]
    evict_tlb: list[Command]
    evict_wc: list[Command]
    lookups: list[Command]
    memory: list[list[tuple[Cond, tuple[int, str]]]]  # address -> (condition, translation) where a walk translates

    def per_vcpu_order(self) -> list[Command]:
        """Every per-vCPU command in a fixed order (TLBIs, walk starts, walk steps)."""
        out = [self.tlbi[t] for t in sorted(self.tlbi)]
        for key in sorted(self.walks):
            out += self.walks[key].cases
        for code in sorted(self.steps):
            out += self.steps[code].cases
        return out


# ---- reading commands ------------------------------------------------------------------------------


def cond_atoms(c: Cond, out: list[object]) -> None:
    """Append the atoms of ``c`` (through ``Not``, ``All`` and ``AnyOf``) to ``out``."""
    if isinstance(c, Not):
        cond_atoms(c.cond, out)
    elif isinstance(c, All | AnyOf):
        for y in c.conds:
            cond_atoms(y, out)
    else:
        out.append(c)


def _effect_atoms(es: tuple[Effect, ...], out: list[object]) -> None:
    for e in es:
        if isinstance(e, When):
            cond_atoms(e.cond, out)
            _effect_atoms(e.effects, out)
        elif isinstance(e, EachVcpu):
            _effect_atoms(e.effects, out)


def atoms_in(x: Command, guards: bool = True) -> list[object]:
    """Every atom of every condition ``x`` reads: guards and local conditions (unless ``guards`` is
    False), conditional effects (also inside an effect on every vCPU) and events."""
    out: list[object] = []
    if guards:
        cond_atoms(x.when, out)
        cond_atoms(x.local, out)
    _effect_atoms(x.effects, out)
    for ev in x.events:
        cond_atoms(ev.cond, out)
    return out


def observer_commands(c: Commands, *, tlbis: bool = True) -> list[Command]:
    """Every command but the updater's (the TLBIs' too unless ``tlbis`` is False), in a fixed order."""
    out = [x for row in c.propagate for x in row]
    if tlbis:
        out += [c.tlbi[t] for t in sorted(c.tlbi)]
    for key in sorted(c.walks):
        out += c.walks[key].cases
    for code in sorted(c.steps):
        out += c.steps[code].cases
    return out + [*c.evict_tlb, *c.evict_wc, *c.lookups]


def group_and_memory_atoms(c: Commands) -> list[object]:
    """The atoms of the groups' own conditions and of the memory view (which are not commands)."""
    out: list[object] = []
    for g in (*c.walks.values(), *c.steps.values()):
        cond_atoms(g.local, out)
    for mem in c.memory:
        for cnd, _ in mem:
            cond_atoms(cnd, out)
    return out


# ---- building -------------------------------------------------------------------------------------


def walk_code(s: System, ai: int, ti: int) -> int:
    return 1 + ai * len(s.tables) + ti


def _pcs(s: System, pcs: list[int]) -> Cond:
    if len(pcs) == s.end + 1:
        return TRUE
    return PcIn(frozenset(pcs)) if pcs else FALSE


def _classes(s: System, classes: list[int]) -> Cond:
    if len(classes) == len(s.choices):
        return TRUE
    return ChoiceIn(frozenset(classes)) if classes else FALSE


def tlbi_effects(s: System, t: int) -> tuple[Effect, ...]:
    """A pending broadcast TLBI acting on a PE: it removes the entries in its scope, and the walks in
    flight that hold old non-final-level information in its scope (RLXHLD, spec §2.2)."""
    drop = frozenset(walk_code(s, ai, ti) for ai, ti in s.tlbi_kills_walk[t])
    out: list[Effect] = [ClearTlb(s.tlbi_leaf_kill[t]), ClearWc(s.tlbi_walk_kill[t])]
    if drop:
        out.append(DropWalk(drop))
    out.append(MarkApplied(t))
    return tuple(out)


def commands_of(s: System) -> Commands:
    """The system's commands, built once (``System.commands``; a test may install a variant)."""
    got = s.commands
    if not isinstance(got, Commands):
        got = s.commands = build_commands(s)
    return got


def build_commands(s: System) -> Commands:
    # Each TLBI's effects built once and shared by the DSBs that complete it. They and the updater
    # commands are interned in ``s._shared``, which the systems of one sequence's addresses share:
    # an updater command is a function of its pc, of the visible counts a store DSB sets and of
    # the TLBIs a full DSB completes (everything else it reads is the sequence's), so alike pcs of
    # different addresses get one object (and one digest in fingerprint.py).
    shared = s._shared
    acts = {t: shared.setdefault(("acts", t, eff), eff) for t in s.tlbi_leaf_kill for eff in (tlbi_effects(s, t),)}
    completing = {t: shared.setdefault(("done", t, eff), When(Not(Applied(t)), eff)) for t, eff in acts.items()}
    updater = []
    for pc in range(s.end):
        ins = s.program[pc]
        full = ins.op == "dsb" and ins.option in FULL_DSB
        key = ("u", pc, s.executed[pc] if ins.op == "dsb" and ins.option in STORE_DSB else None,
               tuple(id(completing[t]) for t in s.pending[pc]) if full else None)
        got = shared.get(key)
        if got is None:
            got = shared[key] = _updater(s, pc, completing)
        updater.append(got)
    propagate = [[_propagate(s, i, n) for n in range(len(s.store_pcs[i]))] for i in range(len(s.wlocs))]
    tlbi = {}
    pending_at: dict[int, list[int]] = {}  # TLBI -> the pcs at which it is pending, in order
    for p in range(s.end + 1):
        for t in s.pending[p]:
            pending_at.setdefault(t, []).append(p)
    for t in sorted(s.tlbi_leaf_kill):
        pend = tuple(pending_at.get(t, ()))
        tkey = ("tlbi", t, id(acts[t]), pend)
        got = shared.get(tkey)
        if got is None:
            got = shared[tkey] = Command(Action(Kind.TLBI, -1, t), (), _pcs(s, list(pend)), completing[t].cond,
                                        acts[t], (), "tlbi-acts")
        tlbi[t] = got
    walks: dict[tuple[int, int], Group] = {}
    steps: dict[int, Group] = {}
    for ai in range(len(s.addresses)):
        starts: dict[int, int] = {s.root: 0}
        for bit, ti in s.walk_starts[ai]:
            starts[ti] = starts.get(ti, 0) | 1 << bit
        for ti in sorted(starts):
            # a walk starts from the root, or from a cached pointer covering the address (RRVJDB)
            cached = TRUE if ti == s.root else WcAny(starts[ti])
            action = Action(Kind.WALK, -1, ai, ti)
            walks[(ai, ti)] = Group(action, conj(WalkIs(0), cached), _read(s, ai, ti, action))
    for (ti, ai) in sorted(s.walk_loc):
        code = walk_code(s, ai, ti)
        action = Action(Kind.STEP, -1)
        steps[code] = Group(action, WalkIs(code), _read(s, ai, ti, action))
    evict_tlb = [Command(Action(Kind.EVICT, -1, 0, b), (), TRUE, TlbAny(1 << b), (ClearTlb(1 << b),), (), "evict")
                 for b in range(len(s.leaf_entries))]
    evict_wc = [Command(Action(Kind.EVICT, -1, 1, b), (), TRUE, WcAny(1 << b), (ClearWc(1 << b),), (), "evict")
                for b in range(len(s.walk_entries))]
    memory = [_memory(s, ai) for ai in range(len(s.addresses))]
    lookups = [_lookup(s, ai, memory[ai]) for ai in range(len(s.addresses))]
    return Commands(updater, propagate, tlbi, walks, steps, evict_tlb, evict_wc, lookups, memory)


def _updater(s: System, pc: int, completing: dict[int, When]) -> Command:
    ins = s.program[pc]
    if ins.op != "dsb" and not ins.is_store and pc not in s.bbm_events:
        return Command(UPDATE, (pc,), PcIn(frozenset((pc,))), TRUE, (SetPc(pc + 1),), (), ins.op)
    effects: list[Effect] = [SetPc(pc + 1)]
    events: list[Emit] = []
    what = ins.op
    if ins.op == "dsb":
        if ins.option in STORE_DSB:
            effects.append(SetAllVis(s.executed[pc]))  # RDDMVT steps 2/6: earlier stores become visible
        if ins.option in FULL_DSB:
            # RDDMVT step 4, RYNJCP: the issuer's DSB completes its TLBIs on every PE that they have
            # not yet acted on; then nothing is pending.
            each: list[Effect] = [completing[t] for t in s.pending[pc]]
            each.append(ClearApplied())
            effects.append(EachVcpu(tuple(each)))
    elif ins.is_store:
        desc = ins.desc
        assert desc is not None
        what = "store"
        if desc.nt and (s.level.rank == 0 or desc.kind != "block"):
            events.append(Emit("nt-misuse", "nt-store-l0" if desc.kind == "block" else "nt-not-block"))
    for k in range(len(s.bbm_events.get(pc, ()))):
        events.append(Emit("bbm-required", f"bbm:{pc}:{k}"))
    return Command(UPDATE, (pc,), PcIn(frozenset((pc,))), TRUE, tuple(effects), tuple(events), what)


def _propagate(s: System, i: int, n: int) -> Command:
    """Store ``n`` to entry ``i`` becomes visible: after it executed, in program order per entry
    (coherence), a release store (stlr) only after every earlier store (B2.3)."""
    executed = [p for p in range(s.end + 1) if s.executed[p][i] > n]
    conds: list[Cond] = [VisIs(i, n), _pcs(s, executed)]
    spc = s.store_pcs[i][n]
    if s.program[spc].op == "stlr":
        need = s.before[spc]
        conds += [VisAtLeast(j, need[j]) for j in range(len(s.wlocs)) if need[j]]
    return Command(Action(Kind.PROPAGATE, -1, i), (n,), conj(*conds), TRUE, (SetVis(i, n + 1),), (),
                   "propagate")


def _mapped_both(s: System, ai: int) -> bool:
    return s.mapped_before[ai] and s.mapped_after[ai]


def _fault(s: System, ai: int, cause: str) -> tuple[Emit, ...]:
    """A translation fault is an invalid window where the address is mapped before and after."""
    return (Emit("invalid-window", cause),) if _mapped_both(s, ai) else ()


def _is_new(s: System, ai: int, loc: object, ver: int) -> bool:
    return bool(s.changed[ai]) and s.final_leaf[ai] == (loc, ver)


def _read(s: System, ai: int, ti: int, action: Action) -> list[Command]:
    """One level of a walk of address ``ai`` reading table ``ti``, one command per case: the table
    page is freed, or the version of the entry read (and for an nT=1 block, the class)."""
    out: list[Command] = []
    stop = SetWalk(0)
    freed_pcs = [p for p in range(s.end + 1) if ti in s.freed[p]]
    live = Not(PcIn(frozenset(freed_pcs))) if freed_pcs else TRUE
    if freed_pcs:  # row 23, RRVJDB: walk caches and walks in flight may hold a freed page
        out.append(Command(action, (ai, ti, "freed"), PcIn(frozenset(freed_pcs)), TRUE, (stop,),
                           (Emit("freed-table-walk", "freed"),), "read-freed", 23, ai))
    wi, outcomes = s.reads[(ti, ai)]
    for ver, o in enumerate(outcomes):
        when = conj(live, VisIs(wi, ver) if wi >= 0 else TRUE)
        case = (ai, ti, ver)
        if o.kind == "I":  # row 1, IWZCBG: faulting entries are never cached
            out.append(Command(action, case, when, TRUE, (stop,), _fault(s, ai, "invalid"), "read-invalid", 1, ai))
        elif o.kind == "T":  # row 4, RRVJDB: the pointer may be cached (monotone caching, ARCHITECTURE.md)
            out.append(Command(action, case, when, TRUE,
                               (FillWc(1 << o.walk_bit), SetWalk(walk_code(s, ai, o.next_table))), (),
                               "read-table", 4, ai))
        elif o.kind == "A":  # row 3, RXFXTY: Access flag fault, never cached
            seen = (Emit("witness", "new-mapping"),) if _is_new(s, ai, o.loc, o.ver) else ()
            out.append(Command(action, case, when, TRUE, (stop,), seen, "read-af0", 3, ai))
        else:
            out += _leaf(s, ai, action, case, when, o)
    return out


def _leaf(s: System, ai: int, action: Action, case: tuple[object, ...], when: Cond, o: Read) -> list[Command]:
    entries, shadow, block_nt, content, here, nt_page = o.entries, o.shadow, o.block_nt, o.content, o.here, o.nt_page
    stop = SetWalk(0)
    common: list[Emit] = []
    if nt_page:
        common.append(Emit("nt-misuse", "nt-not-block"))  # IPJZBK: nT only in block descriptors
    if block_nt and s.level_rank == 0:
        common.append(Emit("nt-misuse", "nt-walk-l0"))  # RDFJNG: bit 16 is RES0 without BBML1
    # ITHWDH: the translation just made must not differ from one cached anywhere
    assert here is not None
    differ = s.differs[ai].get(here, s.match_mask[ai])
    stale = Emit("stale-translation", "incoherent", AnyTlb(differ))
    # the final descriptor was read and used (not on a fault): the new mapping is in use
    used = (Emit("witness", "new-mapping"),) if _is_new(s, ai, o.loc, o.ver) else ()
    honoured = [ci for ci in range(len(s.choices)) if block_nt and s.honours[ci]]
    plain = [ci for ci in range(len(s.choices)) if ci not in honoured]
    out: list[Command] = []
    if plain:  # row 2: a valid leaf may be cached at any time (stage-2-only and combined)
        out.append(Command(action, case + ("plain",), conj(when, _classes(s, plain)), TRUE, (FillTlb(entries), stop),
                           (*common, stale, *used), "read-leaf", 2, ai))
    for ci in honoured:  # row 5, RMRRPW
        choice = s.choices[ci]
        cwhen = conj(when, ChoiceIn(frozenset((ci,))))
        if choice.nt_fault is NtFault.ALWAYS:
            out.append(Command(action, case + (ci,), cwhen, TRUE, (stop,), (*common, *_fault(s, ai, "nt-fault")),
                               "read-nt-fault", 5, ai))
            continue
        events = list(common)
        if s.may_abort:
            if s.config.rmrrpw is Rmrrpw.LITERAL:
                events.append(Emit("tlb-conflict", "rmrrpw"))
            else:
                overlap = sum(1 << b for b in bits(s.match_mask[ai]) if s.leaf_entries[b].content != content)
                events.append(Emit("tlb-conflict", "rmrrpw", TlbAny(overlap)))
        fill = shadow if choice.nt_cache is NtCache.SHADOW else 0
        what = "read-nt-shadow" if fill else "read-nt-uncached"
        effects = (FillTlb(fill), stop) if fill else (stop,)
        out.append(Command(action, case + (ci,), cwhen, TRUE, effects, (*events, stale, *used), what, 5, ai))
    return out


# ---- lookups --------------------------------------------------------------------------------------

CONFLICT_ORDER = {"oa-attr": 3, "size": 2, "nt-shadow": 1}


def conflict_cause(s: System, b1: int, b2: int, ai: int) -> str | None:
    """Why a lookup of address ``ai`` that matches leaf entries ``b1`` and ``b2`` may take a TLB
    conflict abort, or None (rows 6-8, 15, 17-19)."""
    a = s.addresses[ai]
    e1, e2 = s.leaf_entries[b1], s.leaf_entries[b2]
    abort_ok = s.level.may_abort_on_size_change
    if (e1.oa_at(a), e1.attr) != (e2.oa_at(a), e2.attr):
        return "oa-attr"  # row 8: not relaxed by any level, nor by noabort
    if (e1.kind == "shadow") != (e2.kind == "shadow"):
        # An nT=1 block is cached so as not to conflict with the entries that existed when it was
        # cached (spec §3.3, SMMU §3.21.1); it may conflict with an entry of a later generation,
        # cached from a write after the nT store (I_HYQMB; §8.2 item 3 when that write clears nT;
        # System.nt_generation).
        shadow, other = (e1, e2) if e1.kind == "shadow" else (e2, e1)
        if other.gen > shadow.gen and abort_ok:
            return "nt-shadow" if e1.level == e2.level else "size"
        return None
    if e1.level != e2.level and abort_ok:
        return "size"  # rows 6, 7, 17: RFVQCK, I_HYQMB
    return None


def _memory(s: System, ai: int) -> list[tuple[Cond, tuple[int, str]]]:
    """What a walk from the root translates ``ai`` to, as cases (condition, translation). Where no
    case holds the walk faults: a freed page, an invalid or AF=0 entry, or an nT=1 block the class
    faults on."""
    a = s.addresses[ai]
    out: list[tuple[Cond, tuple[int, str]]] = []

    def walk(ti: int, cond: Cond) -> None:
        freed = [p for p in range(s.end + 1) if ti in s.freed[p]]
        live = conj(cond, Not(PcIn(frozenset(freed)))) if freed else cond
        loc = s.walk_loc[(ti, ai)]
        wi = s.wloc_index.get(loc)
        descs = s.versions[loc] if wi is not None else [s.initial.get(loc, INVALID)]
        for ver, desc in enumerate(descs):
            c = conj(live, VisIs(wi, ver)) if wi is not None else live
            if desc.kind == "table":
                walk(s.tables.index(desc.next_table), c)
            elif desc.is_leaf and desc.af == 1:
                faults = [ci for ci in range(len(s.choices))
                          if desc.nt and s.honours[ci] and s.choices[ci].nt_fault is NtFault.ALWAYS]
                val = (desc.oa + (a - s.loc_base(loc)), desc.attr)
                out.append((conj(c, Not(ChoiceIn(frozenset(faults)))) if faults else c, val))

    walk(s.root, TRUE)
    return out


def _lookup(s: System, ai: int, memory: list[tuple[Cond, tuple[int, str]]]) -> Command:
    """A TLB lookup of ``ai`` by a vCPU: changes nothing; its events hold in the state."""
    match = bits(s.match_mask[ai])
    pairs: dict[str, list[Cond]] = {}
    for k, b1 in enumerate(match):
        for b2 in match[k + 1:]:
            cause = conflict_cause(s, b1, b2, ai)
            if cause:
                pairs.setdefault(cause, []).append(TlbAll(1 << b1 | 1 << b2))
    events: list[Emit] = []
    # rows 6-8, 15, 17-19: a lookup reports its strongest cause
    ranked = sorted(pairs, key=lambda c: -CONFLICT_ORDER[c])
    for i, cause in enumerate(ranked):
        stronger = [x for c in ranked[:i] for x in pairs[c]]
        events.append(Emit("tlb-conflict", cause, conj(disj(pairs[cause]), Not(disj(stronger)) if stronger else TRUE)))
    late = s.not_final[ai]
    if late:  # RGPPYH, rows 9/10: after the sequence, an entry that is not the final mapping is stale
        events.append(Emit("stale-translation", "after-completion", conj(PcIn(frozenset((s.end,))), TlbAny(late))))
    # ITHWDH, RWHZWS: two translations of the address at once, in TLBs or by a walk now
    trans = s.trans[ai]
    incoherent: list[Cond] = []
    for b1 in match:
        differ = sum(1 << b2 for b2 in match if trans[b2] != trans[b1])
        alternatives = ([AnyTlb(differ)] if differ else []) + [c for c, val in memory if val != trans[b1]]
        if alternatives:
            incoherent.append(conj(TlbAny(1 << b1), disj(alternatives)))
    events.append(Emit("stale-translation", "incoherent", disj(incoherent)))
    return Command(Action(Kind.LOOKUP, -1, ai), (), TRUE, TlbAny(s.match_mask[ai]), (), tuple(events), "lookup",
                   None, ai)
