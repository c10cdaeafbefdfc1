"""The commands of ``system/commands.py`` as SMT terms over one state vector.

This module makes no Arm decision: it translates each command's guard, assignments and event
conditions term by term (``Encoder.cond``, ``Encoder.effects``), so the explicit search and the
solver read one statement of the rules.

State variables (names are stable: certificates and decoders refer to them):

* ``ci`` the implementation class, ``pc`` the updater's pc, ``vis<i>`` visible stores per entry;
* per vCPU ``v``: ``tlb<v>_<b>`` / ``wc<v>_<b>`` one Boolean per cached leaf / table pointer,
  ``walk<v>`` the in-flight walk (0, or 1 + address * tables + table), ``app<v>_<t>`` whether
  pending broadcast TLBI ``t`` (its pc) has acted on this PE.

A *template* is one command for one vCPU. Its ``action`` is the explicit action it stands for, so a
solver model decodes into a trace that ``replay`` re-executes. Lookups are state predicates, as in
the explicit engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from ..system.build import System
from ..system.commands import (
    All,
    AnyOf,
    AnyTlb,
    Applied,
    ChoiceIn,
    ClearApplied,
    ClearTlb,
    ClearWc,
    Command,
    Commands,
    Cond,
    DropWalk,
    EachVcpu,
    Effect,
    FillTlb,
    FillWc,
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
    commands_of,
)
from ..system.state import Action, State, Vcpu, bits

Expr = Any  # a z3 term: z3's operators are dynamically typed, so the alias is Any for mypy
Env = dict[str, Expr]
Event = tuple[str, str, Expr]  # (property, cause as in step.py's events, condition)


@dataclass(frozen=True)
class Template:
    action: Action  # the explicit action (system/step.py) this template stands for
    case: tuple[object, ...]  # which case of the action (version read, class), for a unique identity
    guard: Expr
    updates: dict[str, Expr]
    events: tuple[Event, ...]  # (property, cause, condition on the pre-state)


@dataclass
class Layout:
    """The state vector of a system: names, sorts and value ranges."""

    system: System
    bitvectors: bool = False  # small numbers as bit-vectors (BMC: bit-blasted) or integers (Spacer)
    names: list[str] = field(default_factory=list)
    ints: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> inclusive range
    width: int = 0  # bit-vector width: every value fits, with a spare sign bit

    @classmethod
    def of(cls, s: System, bitvectors: bool = False, only: int | None = None) -> Layout:
        """With ``only``, the TLB and walk-cache bits of entries covering that address alone: a walk of
        it fills no other (every entry it reads covers it)."""
        lay = cls(s, bitvectors)
        leaf = range(len(s.leaf_entries)) if only is None else bits(s.match_mask[only])
        walk = range(len(s.walk_entries)) if only is None else sorted(b for b, _ti in s.walk_starts[only])
        lay.ints["ci"] = (0, len(s.choices) - 1)
        lay.ints["pc"] = (0, s.end)
        for i, loc in enumerate(s.wlocs):
            lay.ints[f"vis{i}"] = (0, len(s.versions[loc]) - 1)
        nwalk = 1 + len(s.addresses) * len(s.tables)
        for v in range(s.vcpus):
            lay.ints[f"walk{v}"] = (0, nwalk - 1)
        lay.names = list(lay.ints)
        for v in range(s.vcpus):
            lay.names += [f"tlb{v}_{b}" for b in leaf]
            lay.names += [f"wc{v}_{b}" for b in walk]
            lay.names += [f"app{v}_{t}" for t in sorted(s.tlbi_leaf_kill)]
        lay.width = max(hi for _lo, hi in lay.ints.values()).bit_length() + 1
        return lay

    def num(self, value: int) -> Expr:
        return z3.BitVecVal(value, self.width) if self.bitvectors else z3.IntVal(value)

    def var(self, name: str, most: int | None = None) -> Expr:
        """A number variable that holds 0..``most`` (default: any state value)."""
        width = self.width if most is None else most.bit_length() + 1
        return z3.BitVec(name, width) if self.bitvectors else z3.Int(name)

    def is_int(self, name: str) -> bool:
        return name in self.ints

    def fresh(self, suffix: str) -> Env:
        """One copy of the state vector, every variable named ``<name><suffix>``."""
        return {n: (self.var(n + suffix) if n in self.ints else z3.Bool(n + suffix)) for n in self.names}

    def ranges(self, env: Env) -> Expr:
        return z3.And([z3.And(env[n] >= lo, env[n] <= hi) for n, (lo, hi) in self.ints.items()])

    def initial(self, env: Env) -> Expr:
        s = self.system
        terms = [env["ci"] >= 0, env["ci"] < len(s.choices)]
        for n in self.names:
            if n == "ci":
                continue
            terms.append(env[n] == 0 if n in self.ints else z3.Not(env[n]))
        return z3.And(terms)

    def decode(self, model: z3.ModelRef, env: Env) -> State:
        """A solver model's values as an explicit ``step.State``."""
        s = self.system

        def iv(n: str) -> int:
            return int(model.eval(env[n], model_completion=True).as_long())

        def bv(n: str) -> bool:
            return n in env and z3.is_true(model.eval(env[n], model_completion=True))

        vis = tuple(iv(f"vis{i}") for i in range(len(s.wlocs)))
        vcpus = []
        for v in range(s.vcpus):
            tlb = sum(1 << b for b in range(len(s.leaf_entries)) if bv(f"tlb{v}_{b}"))
            wc = sum(1 << b for b in range(len(s.walk_entries)) if bv(f"wc{v}_{b}"))
            app = sum(1 << t for t in s.tlbi_leaf_kill if bv(f"app{v}_{t}"))
            vcpus.append(Vcpu(tlb, wc, iv(f"walk{v}"), app))
        return State(iv("ci"), iv("pc"), vis, tuple(vcpus))


def _any(xs: list[Expr]) -> Expr:
    return xs[0] if len(xs) == 1 else z3.Or(xs) if xs else z3.BoolVal(False)


def _all(xs: list[Expr]) -> Expr:
    return xs[0] if len(xs) == 1 else z3.And(xs) if xs else z3.BoolVal(True)


class Encoder:
    """Translates the commands of one system (``system/commands.py``) over a given state copy:
    every guard, assignment and event condition term by term, and nothing else."""

    def __init__(self, s: System, bitvectors: bool = False, only: int | None = None,
                 commands: Commands | None = None) -> None:
        self.s = s
        self.commands = commands or commands_of(s)
        # ``only``: observers walk and look up this address index alone (prove.py, per-address proofs)
        self.addrs = list(range(len(s.addresses))) if only is None else [only]
        self.layout = Layout.of(s, bitvectors, only)
        self.num = self.layout.num

    # ---- conditions ------------------------------------------------------------------------
    def cond(self, c: Cond, env: Env, v: int) -> Expr:
        """``c`` for vCPU ``v`` (-1: an updater or memory command) in the state ``env``."""
        if isinstance(c, All):
            return _all([self.cond(x, env, v) for x in c.conds])
        if isinstance(c, AnyOf):
            return _any([self.cond(x, env, v) for x in c.conds])
        if isinstance(c, Not):
            return z3.Not(self.cond(c.cond, env, v))
        if isinstance(c, PcIn):
            return _any([env["pc"] == p for p in sorted(c.pcs)])
        if isinstance(c, ChoiceIn):
            return _any([env["ci"] == k for k in sorted(c.classes)])
        if isinstance(c, VisIs):
            return env[f"vis{c.entry}"] == c.n
        if isinstance(c, VisAtLeast):
            return env[f"vis{c.entry}"] >= c.n
        if isinstance(c, WalkIs):
            return env[f"walk{v}"] == c.code
        if isinstance(c, WcAny):
            return _any(self._bits(env, f"wc{v}_", c.mask))
        if isinstance(c, TlbAny):
            return _any(self._bits(env, f"tlb{v}_", c.mask))
        if isinstance(c, TlbAll):
            return _all(self._bits(env, f"tlb{v}_", c.mask, absent=False))
        if isinstance(c, AnyTlb):
            return _any([x for u in range(self.s.vcpus) for x in self._bits(env, f"tlb{u}_", c.mask)])
        if isinstance(c, Applied):
            return env[f"app{v}_{c.tlbi}"]
        raise TypeError(f"not a condition: {c!r}")

    @staticmethod
    def _bits(env: Env, prefix: str, mask: int, absent: bool | None = None) -> list[Expr]:
        """The Booleans of the bits of ``mask``. A bit outside the layout (``Layout.of(only=...)``)
        is never set: it is left out, or for ``TlbAll`` stands as false."""
        out = []
        for b in bits(mask):
            name = prefix + str(b)
            if name in env:
                out.append(env[name])
            elif absent is False:
                out.append(z3.BoolVal(False))
        return out

    # ---- effects ---------------------------------------------------------------------------
    def effects(self, effects: tuple[Effect, ...], env: Env, v: int, upd: dict[str, Expr],
                pre: Env | None = None) -> None:
        """The assignments in order into ``upd`` (new values of the variables they change);
        conditions of ``When`` read the state before the command (``pre``)."""
        pre = env if pre is None else pre

        def cur(name: str) -> Expr:
            return upd.get(name, env[name])

        for e in effects:
            if isinstance(e, SetPc):
                upd["pc"] = self.num(e.pc)
            elif isinstance(e, SetVis):
                upd[f"vis{e.entry}"] = self.num(e.n)
            elif isinstance(e, SetAllVis):
                for i, n in enumerate(e.counts):
                    upd[f"vis{i}"] = self.num(n)
            elif isinstance(e, EachVcpu):
                for u in range(self.s.vcpus):
                    self.effects(e.effects, env, u, upd, pre)
            elif isinstance(e, When):
                inner: dict[str, Expr] = {}
                self.effects(e.effects, {**env, **upd}, v, inner, pre)
                test = self.cond(e.cond, pre, v)
                for name, val in inner.items():
                    old = cur(name)
                    if z3.is_bool(val) and z3.is_false(val):
                        upd[name] = z3.And(old, z3.Not(test))
                    else:
                        upd[name] = z3.If(test, val, old)
            elif isinstance(e, ClearTlb | FillTlb | ClearWc | FillWc):
                prefix = f"tlb{v}_" if isinstance(e, ClearTlb | FillTlb) else f"wc{v}_"
                value = z3.BoolVal(isinstance(e, FillTlb | FillWc))
                for b in bits(e.mask):
                    if prefix + str(b) in env:
                        upd[prefix + str(b)] = value
            elif isinstance(e, SetWalk):
                upd[f"walk{v}"] = self.num(e.code)
            elif isinstance(e, DropWalk):
                walk = cur(f"walk{v}")
                upd[f"walk{v}"] = z3.If(_any([walk == code for code in sorted(e.codes)]), self.num(0), walk)
            elif isinstance(e, MarkApplied):
                upd[f"app{v}_{e.tlbi}"] = z3.BoolVal(True)
            elif isinstance(e, ClearApplied):
                for t in sorted(self.s.tlbi_leaf_kill):
                    upd[f"app{v}_{t}"] = z3.BoolVal(False)
            else:
                raise TypeError(f"not an effect: {e!r}")

    # ---- templates -------------------------------------------------------------------------
    def template(self, c: Command, env: Env, v: int, guard: Expr | None = None) -> Template:
        upd: dict[str, Expr] = {}
        self.effects(c.effects, env, v, upd)
        events = tuple((e.prop, e.cause, self.cond(e.cond, env, v)) for e in c.events)
        action = c.action._replace(vcpu=v) if c.per_vcpu else c.action
        own = z3.And(self.cond(c.when, env, v), self.cond(c.local, env, v))
        return Template(action, c.case, own if guard is None else z3.And(guard, own), upd, events)

    def templates(self, env: Env) -> list[Template]:
        s, cmds = self.s, self.commands
        out = [self.template(c, env, -1) for c in cmds.updater]
        out += [self.template(c, env, -1) for per in cmds.propagate for c in per]
        for v in range(s.vcpus):
            out += [self.template(cmds.tlbi[t], env, v) for t in sorted(cmds.tlbi)]
            for (ai, _ti), g in sorted(cmds.walks.items()):
                if ai in self.addrs:
                    start = self.cond(g.local, env, v)
                    out += [self.template(c, env, v, start) for c in g.cases]
            nt = len(s.tables)
            for code, g in sorted(cmds.steps.items(), key=lambda kv: ((kv[0] - 1) % nt, (kv[0] - 1) // nt)):
                if (code - 1) // nt in self.addrs:
                    step = self.cond(g.local, env, v)
                    out += [self.template(c, env, v, step) for c in g.cases]
        return out

    # ---- lookups (state predicates) ------------------------------------------------------
    def lookups(self, env: Env) -> list[tuple[Action, str, str, Expr]]:
        """``(("l", v, a), property, cause, condition)`` for every lookup event."""
        out: list[tuple[Action, str, str, Expr]] = []
        for ai in self.addrs:
            c = self.commands.lookups[ai]
            for v in range(self.s.vcpus):
                local = self.cond(c.local, env, v)
                action = c.action._replace(vcpu=v)
                for e in c.events:
                    out.append((action, e.prop, e.cause, z3.And(local, self.cond(e.cond, env, v))))
        return out


@dataclass
class Transition:
    """The templates of one step, with a selector variable choosing which one fires."""

    templates: list[Template]
    sel: Expr
    relation: Expr  # over (pre, post, sel)

    def event(self, prop: str, updater: bool | None = None, cause: str | None = None) -> Expr:
        """The chosen template raises ``prop`` (optionally: only updater ones, only this cause)."""
        terms = []
        for k, t in enumerate(self.templates):
            if updater is not None and (t.action[0] == "u") != updater:
                continue
            for p, c, cond in t.events:
                if p == prop and cause in (None, c):
                    terms.append(z3.And(self.sel == k, cond))
        return _any(terms)


def transition(enc: Encoder, pre: Env, post: Env, sel_name: str) -> Transition:
    lay = enc.layout
    temps = enc.templates(pre)
    n = len(temps)
    sel = lay.var(sel_name, n)
    terms = [sel >= 0, sel < n]
    terms += [z3.Implies(sel == k, t.guard) for k, t in enumerate(temps)]
    nexts: dict[str, Expr] = {}
    for name in lay.names:
        nexts[name] = pre[name]
    for k in reversed(range(n)):
        for name, val in temps[k].updates.items():
            nexts[name] = z3.If(sel == k, val, nexts[name])
    terms += [post[name] == nexts[name] for name in lay.names]
    return Transition(temps, sel, z3.And(terms))


def bad_state(enc: Encoder, env: Env, prop: str) -> Expr:
    """Some enabled action or lookup in this state raises ``prop``."""
    terms = [z3.And(t.guard, cond) for t in enc.templates(env) for p, _c, cond in t.events if p == prop]
    terms += [cond for _a, p, _c, cond in enc.lookups(env) if p == prop]
    return _any(terms)
