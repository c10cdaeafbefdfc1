"""The transition system of ``system/step.py`` as SMT terms over one state vector.

The encoding reads the same compiled :class:`System` the explicit engine reads (per-version walk
outcomes, TLBI kill masks, pending TLBIs and freed tables per pc), so both engines share one
statement of the Arm rules; the rule ids are cited where ``step.py`` cites them.

State variables (names are stable: certificates and decoders refer to them):

* ``ci`` the implementation class, ``pc`` the updater's pc, ``vis<i>`` visible stores per entry;
* per vCPU ``v``: ``tlb<v>_<b>`` / ``wc<v>_<b>`` one Boolean per cached leaf / table pointer,
  ``walk<v>`` the in-flight walk (0, or 1 + address * tables + table), ``app<v>_<t>`` whether
  pending broadcast TLBI ``t`` (its pc) has acted on this PE.

A *template* is one explicit action with the case split that makes its effect a plain assignment
(which version of the entry a walk reads, which implementation class decides an nT=1 read). Its
``action`` is the explicit action it stands for, so a solver model decodes into a trace that
``replay`` re-executes. Lookups are state predicates, as in the explicit engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from ..arch.config import NtCache, NtFault, Rmrrpw
from ..arch.descriptors import Descriptor
from ..system.build import FULL_DSB, INVALID, STORE_DSB, System
from ..system.step import CONFLICT_ORDER, _bits, conflict_cause

Expr = Any  # a z3 term: z3's operators are dynamically typed, so the alias is Any for mypy
Env = dict[str, Expr]
Event = tuple[str, str, Expr]  # (property, cause as in step.py's events, condition)


@dataclass(frozen=True)
class Template:
    action: tuple  # the explicit action (system/step.py) this template stands for
    case: tuple  # which case of the action (version read, class), for a unique identity
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
        leaf = range(len(s.leaf_entries)) if only is None else _bits(s.match_mask[only])
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

    def decode(self, model: z3.ModelRef, env: Env) -> tuple:
        """A solver model's values as an explicit ``step.State``."""
        s = self.system

        def iv(n: str) -> int:
            return model.eval(env[n], model_completion=True).as_long()

        def bv(n: str) -> bool:
            return n in env and z3.is_true(model.eval(env[n], model_completion=True))

        vis = tuple(iv(f"vis{i}") for i in range(len(s.wlocs)))
        vcpus = []
        for v in range(s.vcpus):
            tlb = sum(1 << b for b in range(len(s.leaf_entries)) if bv(f"tlb{v}_{b}"))
            wc = sum(1 << b for b in range(len(s.walk_entries)) if bv(f"wc{v}_{b}"))
            app = sum(1 << t for t in s.tlbi_leaf_kill if bv(f"app{v}_{t}"))
            vcpus.append((tlb, wc, iv(f"walk{v}"), app))
        return (iv("ci"), iv("pc"), vis, tuple(vcpus))


def _any(xs: list[Expr]) -> Expr:
    return z3.Or(xs) if xs else z3.BoolVal(False)


def _all(xs: list[Expr]) -> Expr:
    return z3.And(xs) if xs else z3.BoolVal(True)


class Encoder:
    """Builds the templates and lookup predicates of one system over a given state copy."""

    def __init__(self, s: System, bitvectors: bool = False, only: int | None = None) -> None:
        self.s = s
        # ``only``: observers walk and look up this address index alone (prove.py, per-address proofs)
        self.addrs = list(range(len(s.addresses))) if only is None else [only]
        self.layout = Layout.of(s, bitvectors, only)
        self.num = self.layout.num
        nt = len(s.tables)
        self.ntables = nt
        self.choice_nt_always = [c.nt_fault is NtFault.ALWAYS for c in s.choices]
        self.choice_shadow = [c.nt_cache is NtCache.SHADOW for c in s.choices]
        self.pending_pcs = {t: [p for p in range(s.end + 1) if t in s.pending[p]] for t in s.tlbi_leaf_kill}

    # ---- helpers -------------------------------------------------------------------------
    def pc_in(self, env: Env, pcs: list[int]) -> Expr:
        if len(pcs) == self.s.end + 1:
            return z3.BoolVal(True)
        return _any([env["pc"] == p for p in pcs])

    def ci_in(self, env: Env, classes: list[int]) -> Expr:
        if len(classes) == len(self.s.choices):
            return z3.BoolVal(True)
        return _any([env["ci"] == c for c in classes])

    def walk_code(self, ai: int, ti: int) -> int:
        return 1 + ai * self.ntables + ti

    def is_new(self, ai: int, loc: object, ver: int) -> bool:
        return bool(self.s.changed[ai]) and self.s.final_leaf[ai] == (loc, ver)

    def mapped_both(self, ai: int) -> bool:
        return self.s.mapped_before[ai] and self.s.mapped_after[ai]

    # ---- templates -----------------------------------------------------------------------
    def templates(self, env: Env) -> list[Template]:
        s = self.s
        out: list[Template] = []
        for pc in range(s.end):
            out.append(self._updater(env, pc))
        for i in range(len(s.wlocs)):
            for n in range(len(s.store_pcs[i])):
                out.append(self._propagate(env, i, n))
        for v in range(s.vcpus):
            for t in sorted(s.tlbi_leaf_kill):
                out.append(self._tlbi(env, v, t))
            for ai in self.addrs:
                starts: dict[int, list[int]] = {s.root: []}
                for bit, ti in s.walk_starts[ai]:
                    starts.setdefault(ti, []).append(bit)
                for ti in sorted(starts):
                    cached = z3.BoolVal(True) if ti == s.root else _any([env[f"wc{v}_{b}"] for b in starts[ti]])
                    guard = z3.And(env[f"walk{v}"] == 0, cached)
                    out += self._read(env, v, ai, ti, guard, ("w", v, ai, ti))
            for (ti, ai) in sorted(s.walk_loc):
                if ai not in self.addrs:
                    continue
                guard = env[f"walk{v}"] == self.walk_code(ai, ti)
                out += self._read(env, v, ai, ti, guard, ("s", v))
        return out

    def _updater(self, env: Env, pc: int) -> Template:
        s = self.s
        ins = s.program[pc]
        upd: dict[str, Expr] = {"pc": self.num(pc + 1)}
        events: list[Event] = []
        if ins.op == "dsb":
            if ins.option in STORE_DSB:
                for i, n in enumerate(s.executed[pc]):  # RDDMVT steps 2/6
                    upd[f"vis{i}"] = self.num(n)
            if ins.option in FULL_DSB:
                # RDDMVT step 4, RYNJCP: the DSB completes every pending TLBI on every PE that it
                # has not yet acted on, then nothing is pending.
                pend = s.pending[pc]
                for v in range(s.vcpus):
                    not_yet = {t: z3.Not(env[f"app{v}_{t}"]) for t in pend}
                    for b in range(len(s.leaf_entries)):
                        killers = [not_yet[t] for t in pend if s.tlbi_leaf_kill[t] >> b & 1]
                        if killers and f"tlb{v}_{b}" in env:
                            upd[f"tlb{v}_{b}"] = z3.And(env[f"tlb{v}_{b}"], z3.Not(_any(killers)))
                    for b in range(len(s.walk_entries)):
                        killers = [not_yet[t] for t in pend if s.tlbi_walk_kill[t] >> b & 1]
                        if killers and f"wc{v}_{b}" in env:
                            upd[f"wc{v}_{b}"] = z3.And(env[f"wc{v}_{b}"], z3.Not(_any(killers)))
                    walk = env[f"walk{v}"]
                    dropped = [z3.And(not_yet[t], walk == self.walk_code(ai, ti))
                               for t in pend for (ai, ti) in sorted(s.tlbi_kills_walk[t])]
                    if dropped:
                        upd[f"walk{v}"] = z3.If(_any(dropped), self.num(0), walk)
                    for t in s.tlbi_leaf_kill:
                        upd[f"app{v}_{t}"] = z3.BoolVal(False)
        elif ins.is_store:
            desc = ins.desc
            assert desc is not None
            if desc.nt and (s.level.rank == 0 or desc.kind != "block"):
                cause = "nt-store-l0" if desc.kind == "block" else "nt-not-block"
                events.append(("nt-misuse", cause, z3.BoolVal(True)))
        for k in range(len(s.bbm_events.get(pc, ()))):
            events.append(("bbm-required", f"bbm:{pc}:{k}", z3.BoolVal(True)))
        return Template(("u",), (pc,), env["pc"] == pc, upd, tuple(events))

    def _propagate(self, env: Env, i: int, n: int) -> Template:
        """Store ``n`` to entry ``i`` becomes visible: after it executed, in program order per entry
        (coherence), a release store only after every earlier store (B2.3)."""
        s = self.s
        executed_pcs = [p for p in range(s.end + 1) if s.executed[p][i] > n]
        terms = [env[f"vis{i}"] == n, self.pc_in(env, executed_pcs)]
        spc = s.store_pcs[i][n]
        if s.program[spc].op == "stlr":
            need = s.before[spc]
            terms += [env[f"vis{j}"] >= need[j] for j in range(len(s.wlocs))]
        return Template(("p", i), (n,), z3.And(terms), {f"vis{i}": self.num(n + 1)}, ())

    def _tlbi(self, env: Env, v: int, t: int) -> Template:
        s = self.s
        guard = z3.And(self.pc_in(env, self.pending_pcs[t]), z3.Not(env[f"app{v}_{t}"]))
        upd: dict[str, Expr] = {f"app{v}_{t}": z3.BoolVal(True)}
        for b in range(len(s.leaf_entries)):
            if s.tlbi_leaf_kill[t] >> b & 1 and f"tlb{v}_{b}" in env:
                upd[f"tlb{v}_{b}"] = z3.BoolVal(False)
        for b in range(len(s.walk_entries)):
            if s.tlbi_walk_kill[t] >> b & 1 and f"wc{v}_{b}" in env:
                upd[f"wc{v}_{b}"] = z3.BoolVal(False)
        kills = sorted(s.tlbi_kills_walk[t])
        if kills:  # RLXHLD: walks in flight holding old table information in scope are discarded
            walk = env[f"walk{v}"]
            upd[f"walk{v}"] = z3.If(_any([walk == self.walk_code(ai, ti) for ai, ti in kills]), self.num(0), walk)
        return Template(("t", v, t), (), guard, upd, ())

    def _read(self, env: Env, v: int, ai: int, ti: int, guard: Expr, action: tuple) -> list[Template]:
        """One level of a walk of address ``ai`` reading table ``ti`` (step._read), split by case."""
        s = self.s
        out: list[Template] = []
        walk = f"walk{v}"
        freed_pcs = [p for p in range(s.end + 1) if ti in s.freed[p]]
        freed = self.pc_in(env, freed_pcs)
        if freed_pcs:  # row 23, RRVJDB
            out.append(Template(action, (ai, ti, "freed"), z3.And(guard, freed), {walk: self.num(0)},
                                (("freed-table-walk", "freed", z3.BoolVal(True)),)))
        wi, outcomes = s.reads[(ti, ai)]
        def fault(cause: str) -> tuple[Event, ...]:
            return (("invalid-window", cause, z3.BoolVal(True)),) if self.mapped_both(ai) else ()
        for ver, o in enumerate(outcomes):
            g = z3.And(guard, z3.Not(freed), env[f"vis{wi}"] == ver if wi >= 0 else z3.BoolVal(ver == 0))
            case = (ai, ti, ver)
            kind = o[0]
            if kind == "I":  # row 1, IWZCBG
                out.append(Template(action, case, g, {walk: self.num(0)}, fault("invalid")))
            elif kind == "T":  # row 4, RRVJDB
                out.append(Template(action, case, g, {f"wc{v}_{o[1]}": z3.BoolVal(True),
                                                      walk: self.num(self.walk_code(ai, o[2]))}, ()))
            elif kind == "A":  # row 3, RXFXTY
                seen = (("witness", "new-mapping", z3.BoolVal(True)),) if self.is_new(ai, o[1], o[2]) else ()
                out.append(Template(action, case, g, {walk: self.num(0)}, seen))
            else:
                out += self._leaf(env, v, ai, g, action, case, o, fault)
        return out

    def _leaf(self, env: Env, v: int, ai: int, g: Expr, action: tuple, case: tuple, o: tuple,
              fault: Callable[[str], tuple[Event, ...]]) -> list[Template]:
        s = self.s
        _, bits, shadow, block_nt, content, here, loc, ver, nt_page = o
        walk = f"walk{v}"
        common: list[Event] = []
        # the final descriptor was read and used (not on a fault): the new mapping is in use
        used = (("witness", "new-mapping", z3.BoolVal(True)),) if self.is_new(ai, loc, ver) else ()
        if nt_page:
            common.append(("nt-misuse", "nt-not-block", z3.BoolVal(True)))  # IPJZBK
        if block_nt and s.level_rank == 0:
            common.append(("nt-misuse", "nt-walk-l0", z3.BoolVal(True)))  # RDFJNG
        differ = s.differs[ai].get(here, s.match_mask[ai])
        stale = _any([env[f"tlb{u}_{b}"] for u in range(s.vcpus) for b in _bits(differ)])  # ITHWDH
        out: list[Template] = []
        honoured = [ci for ci in range(len(s.choices)) if block_nt and s.honours[ci]]
        plain = [ci for ci in range(len(s.choices)) if ci not in honoured]
        if plain:  # row 2: a valid leaf may be cached
            upd = self._fill(env, v, bits)
            upd[walk] = self.num(0)
            out.append(Template(action, case + ("plain",), z3.And(g, self.ci_in(env, plain)), upd,
                                tuple(common) + (("stale-translation", "incoherent", stale),) + used))
        for ci in honoured:  # row 5, RMRRPW
            gc = z3.And(g, env["ci"] == ci)
            if self.choice_nt_always[ci]:
                out.append(Template(action, case + (ci,), gc, {walk: self.num(0)}, tuple(common) + fault("nt-fault")))
                continue
            events = list(common)
            if s.may_abort:
                if s.config.rmrrpw is Rmrrpw.LITERAL:
                    events.append(("tlb-conflict", "rmrrpw", z3.BoolVal(True)))
                else:
                    overlap = [b for b in _bits(s.match_mask[ai]) if s.leaf_entries[b].content != content]
                    events.append(("tlb-conflict", "rmrrpw", _any([env[f"tlb{v}_{b}"] for b in overlap])))
            upd = self._fill(env, v, shadow if self.choice_shadow[ci] else 0)
            upd[walk] = self.num(0)
            events.append(("stale-translation", "incoherent", stale))
            out.append(Template(action, case + (ci,), gc, upd, tuple(events) + used))
        return out

    def _fill(self, env: Env, v: int, bits: int) -> dict[str, Expr]:
        return {f"tlb{v}_{b}": z3.BoolVal(True) for b in _bits(bits)}

    # ---- lookups (state predicates) ------------------------------------------------------
    def lookups(self, env: Env) -> list[tuple[tuple, str, str, Expr]]:
        """``(("l", v, a), property, cause, condition)`` for every lookup event (step.lookup_events)."""
        s = self.s
        out: list[tuple[tuple, str, str, Expr]] = []
        for ai in self.addrs:
            match = _bits(s.match_mask[ai])
            trans = s.trans[ai]
            mem = self._memory(env, ai)
            for v in range(s.vcpus):
                own = {b: env[f"tlb{v}_{b}"] for b in match}
                action = ("l", v, ai)
                pairs: dict[str, list[Expr]] = {}
                for k, b1 in enumerate(match):
                    for b2 in match[k + 1:]:
                        cause = conflict_cause(s, 1 << b1 | 1 << b2, ai)
                        if cause:
                            pairs.setdefault(cause, []).append(z3.And(own[b1], own[b2]))
                # rows 6-8, 15, 17-19: a lookup reports its strongest cause (step.CONFLICT_ORDER)
                ranked = sorted(pairs, key=lambda c: -CONFLICT_ORDER[c])
                for i, cause in enumerate(ranked):
                    stronger = [x for c in ranked[:i] for x in pairs[c]]
                    out.append((action, "tlb-conflict", cause, z3.And(_any(pairs[cause]), z3.Not(_any(stronger)))))
                late = [own[b] for b in match if s.not_final[ai] >> b & 1]  # RGPPYH, rows 9/10
                out.append((action, "stale-translation", "after-completion", z3.And(env["pc"] == s.end, _any(late))))
                incoherent = []  # ITHWDH, RWHZWS
                for b1 in match:
                    differ = [env[f"tlb{u}_{b2}"] for u in range(s.vcpus) for b2 in match if trans[b2] != trans[b1]]
                    differ += [cond for cond, val in mem if val is not None and val != trans[b1]]
                    incoherent.append(z3.And(own[b1], _any(differ)))
                out.append((action, "stale-translation", "incoherent", _any(incoherent)))
        return out

    def _memory(self, env: Env, ai: int) -> list[tuple[Expr, tuple[int, str] | None]]:
        """step.memory_translation as cases: (condition, translation or None)."""
        s = self.s
        a = s.addresses[ai]
        out: list[tuple[Expr, tuple[int, str] | None]] = []

        def walk(ti: int, cond: Expr) -> None:
            freed = self.pc_in(env, [p for p in range(s.end + 1) if ti in s.freed[p]])
            out.append((z3.And(cond, freed), None))
            loc = s.walk_loc[(ti, ai)]
            wi = s.wloc_index.get(loc)
            descs: list[Descriptor] = s.versions[loc] if wi is not None else [s.initial.get(loc, INVALID)]
            for ver, desc in enumerate(descs):
                c = z3.And(cond, z3.Not(freed), env[f"vis{wi}"] == ver if wi is not None else z3.BoolVal(True))
                if desc.kind == "table":
                    walk(s.tables.index(desc.next_table), c)
                elif desc.is_leaf and desc.af == 1:
                    val = (desc.oa + (a - s.loc_base(loc)), desc.attr)
                    faults = [ci for ci in range(len(s.choices))
                              if desc.nt and s.honours[ci] and self.choice_nt_always[ci]]
                    out.append((z3.And(c, z3.Not(self.ci_in(env, faults)) if faults else z3.BoolVal(True)), val))

        walk(s.root, z3.BoolVal(True))
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
