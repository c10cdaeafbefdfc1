"""The concrete interpreter of the transition relation (``system/commands.py``).

The commands are compiled once per system into closures over the integers of a :class:`State`, so
the search loop does integer work; nothing here decides what the architecture permits. Guards that
read only the class, the pc and the visible stores are memoized on those three, which is also how
a walk step finds its case (the version of the entry it reads) without scanning.

Actions (``state.Action``): ``u`` updater, ``p`` a store becomes visible, ``t`` a pending TLBI acts
on a vCPU, ``w`` a walk starts at the root or at a cached table pointer, ``s`` the walk reads its
next level, ``e`` an eviction, ``l`` a lookup (changes nothing; its events are checked on every
state). Events (``state.Event``) name the property, the vCPU, the address and the cause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from .build import System
from .commands import (
    LOCAL_ATOMS,
    All,
    AnyOf,
    AnyTlb,
    Applied,
    ChoiceIn,
    ClearApplied,
    ClearTlb,
    ClearWc,
    Command,
    Cond,
    DropWalk,
    EachVcpu,
    Effect,
    FillTlb,
    FillWc,
    Group,
    MarkApplied,
    Not,
    PcIn,
    SetAllVis,
    SetPc,
    SetVis,
    SetWalk,
    TlbAll,
    TlbAny,
    VisAtLeast,
    VisIs,
    WalkIs,
    WcAny,
    When,
    atoms,
    commands_of,
    effects_read_within,
    is_global,
    reads_own_vcpu,
)
from .state import IDLE, Action, Event, Kind, State, Vcpu, bits

__all__ = ["Action", "Event", "State", "Vcpu", "actions", "canonical", "initial_states", "lookup_events",
           "machine", "observe", "step"]

Test = Callable[[State, Vcpu], bool]
_UPDATE, _PROPAGATE, _TLBI, _WALK, _STEP, _LOOKUP = (Kind.UPDATE, Kind.PROPAGATE, Kind.TLBI, Kind.WALK, Kind.STEP,
                                                      Kind.LOOKUP)
_new = tuple.__new__


def initial_states(s: System) -> list[State]:
    vis0 = (0,) * len(s.wlocs)
    empty = (IDLE,) * s.vcpus
    return [State(ci, 0, vis0, empty) for ci in range(len(s.choices))]


def canonical(st: State) -> State:
    """vCPUs are interchangeable: the visited-set key sorts them (symmetry reduction). A state whose
    vCPUs are already in order is its own key."""
    vcpus = st[3]
    n = len(vcpus)
    if n == 2:
        if vcpus[0] <= vcpus[1]:
            return st
        return _new(State, (st[0], st[1], st[2], (vcpus[1], vcpus[0])))
    if n == 3:  # a sorting network: three comparisons at most, no list
        a, b, c = vcpus
        if a <= b:
            if b <= c:
                return st
            t = (a, c, b) if a <= c else (c, a, b)
        elif a <= c:
            t = (b, a, c)
        else:
            t = (b, c, a) if b <= c else (c, b, a)
        return _new(State, (st[0], st[1], st[2], t))
    if n < 2:
        return st
    return _new(State, (st[0], st[1], st[2], tuple(sorted(vcpus))))


# ---- compiling conditions -------------------------------------------------------------------------


def _true(st: State, vc: Vcpu) -> bool:
    return True


def _false(st: State, vc: Vcpu) -> bool:
    return False


def compile_cond(c: Cond) -> Test:
    """A closure deciding ``c`` in a state, for the acting vCPU ``vc``."""
    # the condition types have no subclasses: an exact type test is enough, and cheaper
    if type(c) is All or type(c) is AnyOf:
        fs = [compile_cond(x) for x in c.conds]
        if not fs:
            return _true if type(c) is All else _false
        if len(fs) == 1:
            return fs[0]
        if type(c) is All:
            if len(fs) == 2:
                f1, f2 = fs
                return lambda st, vc: f1(st, vc) and f2(st, vc)
            return lambda st, vc: all(f(st, vc) for f in fs)
        return lambda st, vc: any(f(st, vc) for f in fs)
    if type(c) is Not:
        f = compile_cond(c.cond)
        return lambda st, vc: not f(st, vc)
    if type(c) is PcIn:
        pcs = c.pcs
        return lambda st, vc: st[1] in pcs
    if type(c) is ChoiceIn:
        classes = c.classes
        return lambda st, vc: st[0] in classes
    if type(c) is VisIs:
        i, n = c.entry, c.n
        return lambda st, vc: st[2][i] == n
    if type(c) is VisAtLeast:
        i, n = c.entry, c.n
        return lambda st, vc: st[2][i] >= n
    if type(c) is WalkIs:
        code = c.code
        return lambda st, vc: vc[2] == code
    if type(c) is WcAny:
        m = c.mask
        return lambda st, vc: bool(vc[1] & m)
    if type(c) is TlbAny:
        m = c.mask
        return lambda st, vc: bool(vc[0] & m)
    if type(c) is TlbAll:
        m = c.mask
        return lambda st, vc: vc[0] & m == m
    if type(c) is AnyTlb:
        m = c.mask

        def any_tlb(st: State, vc: Vcpu) -> bool:
            for other in st[3]:
                if other[0] & m:
                    return True
            return False
        return any_tlb
    if type(c) is Applied:
        t = c.tlbi
        return lambda st, vc: bool(vc[3] >> t & 1)
    raise TypeError(f"not a condition: {c!r}")


def holds(c: Cond, st: State, vc: Vcpu) -> bool:
    """``c`` decided directly, for paths taken once per memo key (compile_cond's closures are for
    the hot ones); the same meaning as :func:`compile_cond`."""
    t = type(c)
    if t is All:
        return all(holds(x, st, vc) for x in c.conds)  # type: ignore[union-attr]
    if t is AnyOf:
        return any(holds(x, st, vc) for x in c.conds)  # type: ignore[union-attr]
    return compile_cond(c)(st, vc)


def _own_tlb_support(c: Cond) -> int | None:
    """The TLB bits ``c`` reads when it reads nothing but the acting vCPU's TLB, else None."""
    if isinstance(c, TlbAny | TlbAll):
        return c.mask
    if isinstance(c, Not):
        return _own_tlb_support(c.cond)
    if isinstance(c, All | AnyOf):
        support = 0
        for x in c.conds:
            got = _own_tlb_support(x)
            if got is None:
                return None
            support |= got
        return support
    return None


def compile_event_cond(c: Cond) -> Test | None:
    """None for a condition that always holds; a condition on the acting TLB alone is memoized on
    the bits it reads (the lookups' conflict pairs)."""
    if c == All(()):
        return None
    f = compile_cond(c)
    support = _own_tlb_support(c)
    if support is None:
        return f
    memo: dict[int, bool] = {}

    def on_tlb(st: State, vc: Vcpu) -> bool:
        key = vc[0] & support
        got = memo.get(key)
        if got is None:
            got = memo[key] = f(st, vc)
        return got
    return on_tlb


# ---- compiling effects ----------------------------------------------------------------------------

VcpuUpdate = Callable[[State, Vcpu], Vcpu]


def compile_vcpu_effects(effects: tuple[Effect, ...]) -> VcpuUpdate:
    """The vCPU effects, in order, as one closure: runs of unconditional assignments fold into
    masks; the condition of a ``When`` reads the vCPU before the command."""
    segments: list[tuple[Test | None, VcpuUpdate]] = []
    run: list[Effect] = []
    for e in effects:
        if isinstance(e, When):
            if run:
                segments.append((None, _folded(tuple(run))))
                run = []
            segments.append((compile_cond(e.cond), compile_vcpu_effects(e.effects)))
        else:
            run.append(e)
    if run:
        segments.append((None, _folded(tuple(run))))
    if len(segments) == 1 and segments[0][0] is None:
        return segments[0][1]

    def in_order(st: State, vc: Vcpu) -> Vcpu:
        out = vc
        for test, upd in segments:
            if test is None or test(st, vc):
                out = upd(st, out)
        return out
    return in_order


def _folded(effects: tuple[Effect, ...]) -> VcpuUpdate:
    """Unconditional vCPU assignments as masks: ``tlb = tlb & ta | to`` and so on."""
    ta, to, wa, wo, aa, ao = -1, 0, -1, 0, -1, 0
    walk_set: int | None = None
    drop: frozenset[int] = frozenset()
    for e in effects:
        if isinstance(e, ClearTlb):
            ta &= ~e.mask
            to &= ~e.mask
        elif isinstance(e, FillTlb):
            to |= e.mask
        elif isinstance(e, ClearWc):
            wa &= ~e.mask
            wo &= ~e.mask
        elif isinstance(e, FillWc):
            wo |= e.mask
        elif isinstance(e, SetWalk):
            walk_set, drop = e.code, frozenset()
        elif isinstance(e, DropWalk):
            if walk_set is None:
                drop |= e.codes
            elif walk_set in e.codes:
                walk_set = 0
        elif isinstance(e, MarkApplied):
            ao |= 1 << e.tlbi
        elif isinstance(e, ClearApplied):
            aa, ao = 0, 0
        else:
            raise TypeError(f"not a vCPU effect: {e!r}")
    if walk_set is not None and ta == -1 and wa == -1 and aa == -1 and not ao:
        ws = walk_set  # a walk step: fill, move the walk

        def read(st: State, vc: Vcpu) -> Vcpu:
            return _new(Vcpu, (vc[0] | to, vc[1] | wo, ws, vc[3]))
        return read

    def direct(st: State, vc: Vcpu) -> Vcpu:
        walk = vc[2]
        if walk_set is not None:
            walk = walk_set
        elif walk in drop:
            walk = 0
        return _new(Vcpu, ((vc[0] & ta) | to, (vc[1] & wa) | wo, walk, (vc[3] & aa) | ao))
    return direct


GlobalUpdate = Callable[[State], State]


def compile_global_effects(effects: tuple[Effect, ...]) -> GlobalUpdate:
    """An updater or memory command's effects as one closure building one new state."""
    pc: int | None = None
    counts: tuple[int, ...] | None = None
    sets: list[tuple[int, int]] = []
    each: VcpuUpdate | None = None
    for e in effects:
        if isinstance(e, SetPc):
            pc = e.pc
        elif isinstance(e, SetVis):
            sets.append((e.entry, e.n))
        elif isinstance(e, SetAllVis):
            counts, sets = e.counts, []
        elif isinstance(e, EachVcpu):
            if each is not None:
                raise ValueError("one EachVcpu per command")
            each = compile_vcpu_effects(e.effects)
        else:
            raise TypeError(f"not a global effect: {e!r}")
    if pc is None and counts is None and each is None and len(sets) == 1:
        (i, n), = sets  # a store becomes visible

        def visible(st: State) -> State:
            vis = st[2]
            return _new(State, (st[0], st[1], vis[:i] + (n,) + vis[i + 1:], st[3]))
        return visible

    def apply(st: State) -> State:
        vis = st[2] if counts is None else counts
        for i, n in sets:
            vis = vis[:i] + (n,) + vis[i + 1:]
        vcpus = st[3] if each is None else tuple(each(st, vc) for vc in st[3])
        return _new(State, (st[0], st[1] if pc is None else pc, vis, vcpus))
    return apply


# ---- compiled commands ----------------------------------------------------------------------------

EventSpec = tuple[str, str, Test | None, int]  # property, cause, test, AnyTlb mask (0: none)
_LOCAL: frozenset[type] = frozenset(LOCAL_ATOMS)


def _tlbs_and_global(c: Cond) -> bool:
    """Whether ``c`` reads nothing but the class, the pc, the visible stores and TLBs."""
    return atoms(c) <= {PcIn, ChoiceIn, VisIs, VisAtLeast, TlbAny, TlbAll, AnyTlb}


Dynamic = tuple[int, dict[int, list[Event]], list[tuple[Event, int, Test | None]]]
Move = tuple[Action, Vcpu, list[Event], Dynamic | None]
"""A vCPU's move in ``Machine.successors``: the action, the vCPU after it and its events, or, when
some event reads other vCPUs' TLBs, ``(bits read, memo, specs)``: with the acting vCPU and the
global part fixed, such an event depends only on the OR of all TLBs masked by the bits it reads
(``AnyTlb`` is that OR, masked), so the events are memoized on it. A spec is the event with its
``AnyTlb`` mask (-1: always) or its test on the whole state."""


def _any_tlb_masks(c: Cond) -> int:
    if isinstance(c, AnyTlb):
        return c.mask
    if isinstance(c, Not):
        return _any_tlb_masks(c.cond)
    if isinstance(c, All | AnyOf):
        out = 0
        for x in c.conds:
            out |= _any_tlb_masks(x)
        return out
    return 0


class Compiled:
    """One command: its guard parts, its effect and its events as closures."""

    __slots__ = ("command", "address", "when", "local", "update", "vcpu_update", "run", "events", "others")

    def __init__(self, c: Command, case: bool = False) -> None:
        """``case``: a case of a group, whose group selects it (its guard is not compiled)."""
        self.command = c
        self.address = c.address
        self.when = _true if case else compile_cond(c.when)
        self.local = _true if case else compile_cond(c.local)
        self.events: list[EventSpec] = [(e.prop, e.cause, compile_event_cond(e.cond),
                                         e.cond.mask if isinstance(e.cond, AnyTlb) else 0) for e in c.events]
        # the TLB bits of other vCPUs each event reads (AnyTlb masks, OR-ed), 0 for none
        self.others = [_any_tlb_masks(e.cond) for e in c.events]
        if c.per_vcpu:
            self.vcpu_update: VcpuUpdate = compile_vcpu_effects(c.effects)
            self.run = self._runner(effects_read_within(c.effects, _LOCAL))
        else:
            self.update: GlobalUpdate = compile_global_effects(c.effects)

    def _runner(self, memoize: bool) -> Callable[[State, int, Vcpu], tuple[State, list[Event]]]:
        """The whole step of this per-vCPU command for vCPU ``v`` (state ``vc``): its events, and the
        state with the vCPU updated. When the update reads only the vCPU, its result is memoized
        on the vCPU's value, so equal vCPU states are one object."""
        update, specs, ai = self.vcpu_update, self.events, self.address
        after: dict[Vcpu, Vcpu] = {}

        def run(st: State, v: int, vc: Vcpu) -> tuple[State, list[Event]]:
            events: list[Event] = []
            vcpus = st[3]
            for prop, cause, test, anywhere in specs:
                if anywhere:  # AnyTlb, inline: the OR over every vCPU's TLB
                    for other in vcpus:
                        if other[0] & anywhere:
                            break
                    else:
                        continue
                elif test is not None and not test(st, vc):
                    continue
                events.append(_new(Event, (prop, v, ai, cause)))
            if memoize:
                nvc = after.get(vc)
                if nvc is None:
                    nvc = after[vc] = update(st, vc)
            else:
                nvc = update(st, vc)
            return _new(State, (st[0], st[1], st[2], vcpus[:v] + (nvc,) + vcpus[v + 1:])), events

        def quiet(st: State, v: int, vc: Vcpu) -> tuple[State, list[Event]]:
            nvc = after.get(vc)
            if nvc is None:
                nvc = after[vc] = update(st, vc)
            vcpus = st[3]
            return _new(State, (st[0], st[1], st[2], vcpus[:v] + (nvc,) + vcpus[v + 1:])), []

        return quiet if memoize and not specs else run

    def raised(self, st: State, vc: Vcpu, v: int, out: list[Event]) -> None:
        ai = self.address
        for prop, cause, test, _anywhere in self.events:
            if test is None or test(st, vc):
                out.append(_new(Event, (prop, v, ai, cause)))


class CompiledGroup:
    """An action's cases. The case that holds is memoized on the coordinates the cases' guards
    read (the class, the pc, the visible stores of some entries), packed into one int. A case is
    compiled when it is first selected: a large table has thousands of cases no search reaches."""

    __slots__ = ("group", "radix", "compiled", "memo", "key")

    def __init__(self, g: Group, radix: Radix) -> None:
        self.group = g
        self.radix = radix
        self.compiled: list[Compiled | None] = [None] * len(g.cases)
        self.memo: dict[int, Compiled] = {}
        self.key: Callable[[State], int] = self._first_key  # the packer, made on first use

    def _first_key(self, st: State) -> int:
        self.key = _packer([c.when for c in self.group.cases], self.radix)
        return self.key(st)

    def case(self, st: State) -> Compiled:
        key = self.key(st)
        got = self.memo.get(key)
        if got is None:
            hits = [i for i, c in enumerate(self.group.cases) if holds(c.when, st, IDLE)]
            if len(hits) != 1:
                raise AssertionError(f"{len(hits)} cases of {self.group.action} hold in {st}")
            (i,) = hits
            got = self.compiled[i]
            if got is None:
                c = self.group.cases[i]
                assert is_global(c.when) and c.local == All(()), "a case splits on global conditions only"
                got = self.compiled[i] = Compiled(c, case=True)
            self.memo[key] = got
        return got


class Radix(NamedTuple):
    classes: int
    pcs: int
    versions: tuple[int, ...]  # per written entry: how many values its vis count takes


def _entries(c: Cond) -> set[int]:
    if isinstance(c, Not):
        return _entries(c.cond)
    if isinstance(c, All | AnyOf):
        return set().union(*(_entries(x) for x in c.conds))
    return {c.entry} if isinstance(c, VisIs | VisAtLeast) else set()


def _packer(conds: list[Cond], radix: Radix) -> Callable[[State], int]:
    """One int from exactly the coordinates ``conds`` read (a mixed-radix number)."""
    read = set().union(*(atoms(c) for c in conds)) if conds else set()
    entries = sorted(set().union(*(_entries(c) for c in conds))) if conds else []
    by_ci, by_pc = ChoiceIn in read, PcIn in read
    if not by_ci and not by_pc and len(entries) == 1:
        (e,) = entries
        return lambda st: st[2][e]
    if not by_pc and len(entries) == 1:
        (e,) = entries
        n = radix.classes
        return lambda st: st[2][e] * n + st[0]
    if not entries and not by_ci and not by_pc:
        return lambda st: 0

    def pack(st: State) -> int:
        k = st[0] if by_ci else 0
        if by_pc:
            k = k * radix.pcs + st[1]
        vis = st[2]
        for i in entries:
            k = k * radix.versions[i] + vis[i]
        return k
    return pack


class _OnDemand:
    """The updater commands, each compiled when its pc is first asked for."""

    def __init__(self, commands: list[Command]) -> None:
        self.commands = commands
        self.done: list[Compiled | None] = [None] * len(commands)

    def __len__(self) -> int:
        return len(self.commands)

    def __getitem__(self, pc: int) -> Compiled:
        got = self.done[pc]
        if got is None:
            got = self.done[pc] = Compiled(self.commands[pc])
        return got


class Machine:
    """A system's commands, compiled. ``s.compiled`` holds it (``machine(s)``)."""

    def __init__(self, s: System) -> None:
        self.s = s
        self.commands = cmds = commands_of(s)
        self.updater = _OnDemand(cmds.updater)  # most pcs of a collapsed system are never visited
        self.propagate = [[Compiled(c) for c in per] for per in cmds.propagate]
        self.tlbi = [(t, Compiled(c)) for t, c in sorted(cmds.tlbi.items())]
        self.tlbi_of = dict(self.tlbi)
        # TLBIs whose local guard is the usual "not yet acted here": tested inline in actions()
        self.usual = frozenset(t for t, c in self.tlbi if c.command.local == Not(Applied(t)))
        radix = Radix(len(s.choices), s.end + 1, tuple(len(p) + 1 for p in s.store_pcs))
        self.walks = [(key, CompiledGroup(g, radix)) for key, g in sorted(cmds.walks.items())]
        self.walk_of = dict(self.walks)
        self.steps = {code: CompiledGroup(g, radix) for code, g in cmds.steps.items()}
        self.evict_tlb = [Compiled(c) for c in cmds.evict_tlb]
        self.evict_wc = [Compiled(c) for c in cmds.evict_wc]
        for c in cmds.lookups:  # the observe memo key holds the class, pc, vis and TLBs only
            assert all(_tlbs_and_global(e.cond) for e in c.events) and _tlbs_and_global(c.local), c
        self.lookups = [Compiled(c) for c in cmds.lookups]
        n = s.vcpus
        self.tlbi_actions = [{t: Action(Kind.TLBI, v, t) for t, _ in self.tlbi} for v in range(n)]
        self.step_actions = [Action(Kind.STEP, v) for v in range(n)]
        self.global_memo: dict[tuple[object, ...], tuple[list[Action], list[tuple[int, Compiled]]]] = {}
        # successors(): per (class, pc, vis), per vCPU, per vCPU value, that vCPU's moves
        self.moves_ok = all(reads_own_vcpu(c) for c in cmds.per_vcpu_order()
                            + list(cmds.evict_tlb) + list(cmds.evict_wc))
        self.moves_memo: tuple[dict[tuple[object, ...], list[dict[Vcpu, list[Move]]]], ...] = ({}, {})
        self.start_memo: dict[tuple[int, int], list[Action]] = {}
        self.start_group_memo: dict[tuple[int, int], list[tuple[Action, CompiledGroup]]] = {}
        self.observe_memo: dict[tuple[object, ...], list[tuple[Action, list[Event]]]] = {}

    # ---- enabled actions ----------------------------------------------------------------------
    def _globals(self, st: State) -> tuple[list[Action], list[tuple[int, Compiled]]]:
        key = st[:3]
        got = self.global_memo.get(key)
        if got is None:
            acts: list[Action] = []
            pc = st[1]
            if pc < len(self.updater) and self.updater[pc].when(st, IDLE):
                acts.append(self.updater[pc].command.action)
            for i, per in enumerate(self.propagate):
                n = st[2][i]
                if n < len(per) and per[n].when(st, IDLE):
                    acts.append(per[n].command.action)
            tl = [(t, c) for t, c in self.tlbi if c.when(st, IDLE)]
            got = self.global_memo[key] = (acts, tl)
        return got

    def _starts(self, st: State, v: int, vc: Vcpu) -> list[Action]:
        key = (v, vc[1])
        got = self.start_memo.get(key)
        if got is None:
            probe = Vcpu(0, vc[1], 0, 0)
            got = self.start_memo[key] = [Action(Kind.WALK, v, ai, ti) for (ai, ti), g in self.walks
                                          if holds(g.group.local, st, probe)]
        return got

    def _start_groups(self, st: State, v: int, vc: Vcpu) -> list[tuple[Action, CompiledGroup]]:
        """``_starts`` with each walk's group."""
        key = (v, vc[1])
        got = self.start_group_memo.get(key)
        if got is None:
            got = self.start_group_memo[key] = [(a, self.walk_of[(a[2], a[3])]) for a in self._starts(st, v, vc)]
        return got

    def _direct(self, st: State, evictions: bool) -> list[tuple[Action, State, list[Event]]]:
        """``successors`` without the vCPU memo (one vCPU: no (global, vCPU) pair recurs), in one
        pass over the enabled commands, in the order of ``actions``."""
        acts, tl = self._globals(st)
        out: list[tuple[Action, State, list[Event]]] = [(a, *self.step(st, a)) for a in acts]
        for v, vc in enumerate(st[3]):
            if tl:
                mine = self.tlbi_actions[v]
                applied = vc[3]
                for t, c in tl:
                    if not applied >> t & 1 if t in self.usual else c.local(st, vc):
                        out.append((mine[t], *c.run(st, v, vc)))
            if vc[2]:
                g = self.steps[vc[2]]
                c = g.memo.get(g.key(st)) or g.case(st)
                out.append((self.step_actions[v], *c.run(st, v, vc)))
            else:
                for a, g in self._start_groups(st, v, vc):
                    c = g.memo.get(g.key(st)) or g.case(st)
                    out.append((a, *c.run(st, v, vc)))
            if evictions:
                for b in bits(vc[0]):
                    out.append((Action(Kind.EVICT, v, 0, b), *self.evict_tlb[b].run(st, v, vc)))
                for b in bits(vc[1]):
                    out.append((Action(Kind.EVICT, v, 1, b), *self.evict_wc[b].run(st, v, vc)))
        return out

    def actions(self, st: State, evictions: bool) -> list[Action]:
        acts, tl = self._globals(st)
        out = list(acts)
        for v, vc in enumerate(st[3]):
            out += self._vcpu_actions(st, v, vc, tl, evictions)
        return out

    def _vcpu_actions(self, st: State, v: int, vc: Vcpu, tl: list[tuple[int, Compiled]],
                      evictions: bool) -> list[Action]:
        """vCPU ``v``'s enabled actions, in order: pending TLBIs, its walk's step or the walk
        starts, evictions. ``tl``: the TLBIs pending in ``st`` (``_globals``)."""
        out: list[Action] = []
        if tl:
            mine = self.tlbi_actions[v]
            applied = vc[3]
            for t, c in tl:
                if not applied >> t & 1 if t in self.usual else c.local(st, vc):
                    out.append(mine[t])
        if vc[2]:
            out.append(self.step_actions[v])
        else:
            out.extend(self._starts(st, v, vc))
        if evictions:
            out.extend(Action(Kind.EVICT, v, 0, b) for b in bits(vc[0]))
            out.extend(Action(Kind.EVICT, v, 1, b) for b in bits(vc[1]))
        return out

    # ---- successors: actions and steps in one pass (the explicit search's hot loop) -------------
    def successors(self, st: State, evictions: bool) -> list[tuple[Action, State, list[Event]]]:
        """``(action, step(st, action))`` for every action of ``actions(st, evictions)``, in that
        order. A vCPU's moves read only the class, the pc, the visible stores and that vCPU (the
        constructor checks it, ``commands.reads_own_vcpu``), except events whose condition reads other
        vCPUs' TLBs, decided here on ``st``; so they are memoized on those coordinates.
        The returned event lists are shared: read them, do not change them."""
        if not self.moves_ok:
            return [(a, *self.step(st, a)) for a in self.actions(st, evictions)]
        if self.s.vcpus == 1:  # every (global, vCPU) pair is its own state: nothing to reuse
            return self._direct(st, evictions)
        acts, _tl = self._globals(st)
        out: list[tuple[Action, State, list[Event]]] = []
        for a in acts:
            c = self.updater[st[1]] if a[0] is _UPDATE else self.propagate[a[2]][st[2][a[2]]]
            events: list[Event] = []
            if c.events:
                c.raised(st, IDLE, -1, events)
            out.append((a, c.update(st), events))
        memo = self.moves_memo[evictions]
        g = st[:3]
        per = memo.get(g)
        if per is None:
            per = memo[g] = [{} for _ in st[3]]
        ci, pc, vis, vcpus = st
        union = -1  # the OR of every vCPU's TLB, when an event reads it
        for v, vc in enumerate(vcpus):
            mine = per[v]
            moves = mine.get(vc)
            if moves is None:
                moves = mine[vc] = self._moves(st, v, vc, evictions)
            for a, nvc, evs, dynamic in moves:
                if dynamic is not None:  # events that read other vCPUs' TLBs: memoized on what they read
                    if union < 0:
                        union = 0
                        for o in vcpus:
                            union |= o[0]
                    reads, seen, specs = dynamic
                    k = union & reads
                    evs = seen.get(k)  # type: ignore[assignment]
                    if evs is None:
                        evs = seen[k] = [ev for ev, mask, test in specs
                                         if (test(st, vc) if test is not None else mask < 0 or union & mask)]
                out.append((a, _new(State, (ci, pc, vis, vcpus[:v] + (nvc,) + vcpus[v + 1:])), evs))
        return out

    def _moves(self, st: State, v: int, vc: Vcpu, evictions: bool) -> list[Move]:
        _acts, tl = self._globals(st)
        out: list[Move] = []
        for a in self._vcpu_actions(st, v, vc, tl, evictions):
            c = self.fired(st, a)
            static: list[Event] = []
            specs: list[tuple[Event, int, Test | None]] = []  # in order; a static event always holds
            reads = 0
            for (prop, cause, test, anywhere), others in zip(c.events, c.others, strict=True):
                ev = _new(Event, (prop, v, c.address, cause))
                if anywhere:
                    specs.append((ev, anywhere, None))
                    reads |= anywhere
                elif others:
                    specs.append((ev, 0, test))
                    reads |= others
                elif test is None or test(st, vc):
                    static.append(ev)
                    specs.append((ev, -1, None))
            dynamic: Dynamic | None = (reads, {}, specs) if len(specs) > len(static) else None
            out.append((a, c.vcpu_update(st, vc), static, dynamic))
        return out

    # ---- effects --------------------------------------------------------------------------------
    def fired(self, st: State, action: Action) -> Compiled:
        """The command an enabled action executes in ``st``."""
        kind = action[0]
        if kind == "u":
            return self.updater[st[1]]
        if kind == "p":
            i = action[2]
            return self.propagate[i][st[2][i]]
        if kind == "t":
            return self.tlbi_of[action[2]]
        if kind == "w":
            return self.walk_of[(action[2], action[3])].case(st)
        if kind == "s":
            return self.steps[st[3][action[1]][2]].case(st)
        if kind == "e":
            return (self.evict_tlb if action[2] == 0 else self.evict_wc)[action[3]]
        if kind == "l":
            return self.lookups[action[2]]
        raise ValueError(f"unknown action {action!r}")

    def step(self, st: State, action: Action) -> tuple[State, list[Event]]:
        kind = action[0]
        if kind is _STEP or kind is _WALK:
            v = action[1]
            vc = st[3][v]
            g = self.steps[vc[2]] if kind is _STEP else self.walk_of[(action[2], action[3])]
            c = g.memo.get(g.key(st)) or g.case(st)
        elif kind is _TLBI:
            v = action[1]
            vc = st[3][v]
            c = self.tlbi_of[action[2]]
        elif kind is _UPDATE or kind is _PROPAGATE:
            if kind is _UPDATE:
                c = self.updater[st[1]]
            else:
                i = action[2]
                c = self.propagate[i][st[2][i]]
            events: list[Event] = []
            if c.events:
                c.raised(st, IDLE, -1, events)
            return c.update(st), events
        elif kind is _LOOKUP:
            return st, self.lookup(st, action[1], action[2])
        else:
            v = action[1]
            vc = st[3][v]
            c = self.fired(st, action)
        return c.run(st, v, vc)

    # ---- the explicit engine's Model protocol (engines/explicit.py) -------------------------------
    canonical = staticmethod(canonical)

    @property
    def end(self) -> int:
        return self.s.end

    @property
    def jumps(self) -> dict[int, int]:
        return self.s.jumps

    @property
    def periods(self) -> list[Any]:
        return self.s.periods

    def initial_states(self) -> list[State]:
        return initial_states(self.s)

    # ---- lookups ---------------------------------------------------------------------------------
    def lookup(self, st: State, v: int, ai: int) -> list[Event]:
        c = self.lookups[ai]
        vc = st[3][v]
        events: list[Event] = []
        if c.local(st, vc):
            c.raised(st, vc, v, events)
        return events

    def observe(self, st: State) -> list[tuple[Action, list[Event]]]:
        """Every lookup's events in this state. They read only the class, the pc, the visible
        stores and the TLBs (not walk caches, walks or applied TLBIs), which is the memo key."""
        vcpus = st[3]
        key = (st[0], st[1], st[2], tuple(vc[0] for vc in vcpus))
        got = self.observe_memo.get(key)
        if got is None:
            got = []
            for v, vc in enumerate(vcpus):
                if not vc[0]:
                    continue
                for ai, c in enumerate(self.lookups):
                    if c.local(st, vc):
                        evs: list[Event] = []
                        c.raised(st, vc, v, evs)
                        if evs:
                            got.append((Action(Kind.LOOKUP, v, ai), evs))
            self.observe_memo[key] = got
        return got


def machine(s: System) -> Machine:
    m = s.compiled
    if not isinstance(m, Machine):
        m = s.compiled = Machine(s)
    return m


def actions(s: System, st: State, evictions: bool = False) -> list[Action]:
    return machine(s).actions(st, evictions)


def step(s: System, st: State, action: Action) -> tuple[State, list[Event]]:
    return machine(s).step(st, action)


def observe(s: System, st: State) -> list[tuple[Action, list[Event]]]:
    return machine(s).observe(st)


def lookup_events(s: System, st: State, v: int, ai: int) -> list[Event]:
    return machine(s).lookup(st, v, ai)
