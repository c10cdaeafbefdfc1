"""Unbounded proofs: an inductive invariant from Spacer (z3's PDR engine for constrained Horn
clauses), for every address in the region and any number of vCPUs.

The argument, each step an SMT obligation written into the certificate:

1. *Cover*: the representative addresses stand for every address the root table maps
   (``cover.py``; QF_BV, the address a 64-bit vector).
2. *Per address*: every event is about one address (the walk or lookup that raises it). The system
   in which observers walk and look up only address a has exactly the events about a of the full
   system: a walk of another address a' fills an entry covering a only through the same tables and
   entries a walk of a reads at that moment (tables map one IPA range), so a walk of a does the same;
   entries not covering a take no part in events about a. One invariant per representative
   address (tests/test_prove.py checks the per-address BMC union against the full system).
3. *Initiation, consecution*: J_a = Inv_a ∧ ranges holds initially and is preserved by every
   template of the 2-vCPU system of address a (QF_LIA). Spacer finds Inv_a; the obligations do not
   trust Spacer.
4. *Safety*: J_a excludes every event of the property on the implementation classes claimed.
5. *Locality* (the cutoff to any N): every action's guard and its effect on the shared state and on
   a vCPU's own state depend only on those, and an observer's action changes neither the shared
   state nor another vCPU. Observers never write shared state in this model (no hardware
   Access-flag updates, spec row 24), so any k observers of an N-vCPU run, with the shared state,
   form a run of the k-vCPU system. Events of every property but stale-translation read one
   observer's state only (also an obligation), so those are proved with one observer;
   stale-translation compares two TLBs, or a TLB and the memory walk (ITHWDH), so it is proved with
   two. Either way the property holds for every N >= 1.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field

import z3

from ..arch.config import Config, FeatBBM
from ..arch.rules import PROPERTIES
from ..engines.explicit import explore
from ..sequences.schema import Sequence
from ..system.build import System, build
from .cover import cover, region, uncovered
from .encode import Encoder, Env, Layout, Template, _any, bad_state, transition

CUTOFF = 2  # observers in the proof system (argument 4 above)
SEED = 0


@dataclass
class Obligation:
    name: str  # file stem in the certificate
    logic: str
    meaning: str
    formula: z3.BoolRef  # expected UNSAT


@dataclass
class PropertyProof:
    property: str
    status: str  # PROVED, VIOLATED, UNKNOWN
    proved_on: tuple[str, ...] = ()  # implementation classes the proof covers
    violated_on: tuple[str, ...] = ()  # classes with a counterexample (explicit engine, replayed)
    note: str = ""


@dataclass
class ProofResult:
    model: str
    sha256: str
    level: str
    addresses: tuple[int, ...]
    added: tuple[int, ...]  # representatives the cover query added
    region: tuple[int, int]
    properties: list[PropertyProof]
    invariants: dict[tuple[int, int], z3.BoolRef]  # (address index, observers) -> Inv found by Spacer
    obligations: list[Obligation] = field(default_factory=list)
    seconds: float = 0.0
    spacer_seconds: float = 0.0
    states: int = 0  # explicit states of the covered 2-vCPU system (which classes to prove)
    per_address: dict[int, float] = field(default_factory=dict)  # Spacer seconds per address

    def status(self, prop: str) -> PropertyProof:
        return next(p for p in self.properties if p.property == prop)


def _horn(lay: Layout, enc: Encoder, bad: z3.BoolRef, pre: Env, post: Env, timeout: float) -> tuple[str, object]:
    tr = transition(enc, pre, post, "sel")
    sorts = [pre[n].sort() for n in lay.names]
    inv = z3.Function("Inv", *sorts, z3.BoolSort())
    xs = [pre[n] for n in lay.names]
    ys = [post[n] for n in lay.names]
    h = z3.SolverFor("HORN")
    h.set("random_seed", SEED)
    h.set("timeout", int(timeout * 1000))
    h.add(z3.ForAll(xs, z3.Implies(lay.initial(pre), inv(*xs))))
    h.add(z3.ForAll(xs + ys + [tr.sel], z3.Implies(z3.And(inv(*xs), lay.ranges(pre), tr.relation), inv(*ys))))
    h.add(z3.ForAll(xs, z3.Implies(z3.And(inv(*xs), bad), False)))
    answer = h.check()
    if answer == z3.sat:
        body = h.model().eval(inv(*xs))
        if _quantified(body):
            body = _eliminate(body)
        return "proved", body
    if answer == z3.unsat:
        return "refuted", None
    return "unknown", h.reason_unknown()


def _quantified(e: z3.ExprRef) -> bool:
    if z3.is_quantifier(e):
        return True
    return any(_quantified(c) for c in e.children())


def _eliminate(e: z3.BoolRef) -> z3.BoolRef:
    goal = z3.Goal()
    goal.add(e)
    out = z3.Then("qe", "simplify")(goal)
    return z3.And([f for g in out for f in g])


# Properties whose events involve one observer (its own walk or its own TLB): proved with one
# vCPU. stale-translation compares a TLB with another TLB or the memory walk (ITHWDH): two.
PAIRWISE = ("stale-translation",)


def observers_needed(prop: str) -> int:
    return 2 if prop in PAIRWISE else 1


Key = tuple[int, int]  # (address index, observers in the proof system)


def _address_job(job: tuple) -> tuple[Key, str, str, float]:
    """One Spacer problem: a representative address, 1 or 2 observers (a worker process: z3 terms
    do not pickle, so the system is rebuilt from the sequence)."""
    seq, level, (ai, vcpus), targets, timeout = job
    s = build(seq, Config(level=FeatBBM(level)), vcpus=vcpus)
    enc = Encoder(s, bitvectors=False, only=ai)
    lay = enc.layout
    pre, post = lay.fresh(""), lay.fresh("_next")
    bad = z3.simplify(_any([z3.And(bad_state(enc, pre, p), enc.ci_in(pre, cis)) for p, cis in targets.items()]))
    start = time.perf_counter()
    if z3.is_false(bad):
        return (ai, vcpus), "proved", "true", 0.0
    verdict, answer = _horn(lay, enc, bad, pre, post, timeout)
    text = answer.sexpr() if verdict == "proved" else str(answer)  # type: ignore[attr-defined]
    return (ai, vcpus), verdict, text, time.perf_counter() - start


def prove(seq: Sequence, level: FeatBBM | None = None, timeout: float = 120.0, jobs: int | None = None
          ) -> ProofResult:
    start = time.perf_counter()
    config = Config(level=level or seq.level)

    def system_of(q: Sequence) -> System:
        return build(q, config, vcpus=CUTOFF)

    covered, s, added = cover(seq, system_of)
    systems = {CUTOFF: s, 1: build(covered, config, vcpus=1)}
    ex = explore(s, symmetry=True)
    labels = [c.label() for c in s.choices]
    classes = range(len(s.choices))
    props: list[PropertyProof] = []
    targets: dict[str, list[int]] = {}
    for prop in PROPERTIES:
        bad = [ci for ci in classes if (prop, ci) in ex.occurrences]
        good = [ci for ci in classes if ci not in bad]
        if not ex.complete:
            props.append(PropertyProof(prop, "UNKNOWN", note=f"explicit search incomplete: {ex.stop_reason}"))
            continue
        if good:
            targets[prop] = good
        props.append(PropertyProof(prop, "PROVED" if good else "VIOLATED", tuple(labels[c] for c in good),
                                   tuple(labels[c] for c in bad)))
    groups = {n: {p: cis for p, cis in targets.items() if observers_needed(p) == n} for n in (1, CUTOFF)}
    spacer_start = time.perf_counter()
    work = [(covered, config.level.value, (ai, n), groups[n], timeout)
            for n in (CUTOFF, 1) for ai in range(len(s.addresses)) if groups[n]]  # 2-observer ones are slowest: first
    answers = _run(work, jobs)
    spacer_seconds = time.perf_counter() - spacer_start
    invariants: dict[Key, z3.BoolRef] = {}
    failed = []
    for key, verdict, text, _secs in answers:
        if verdict == "proved":
            env = Encoder(systems[key[1]], bitvectors=False, only=key[0]).layout.fresh("")
            invariants[key] = z3.parse_smt2_string(f"(assert {text})", decls=dict(env))[0]
        else:
            failed.append((key, verdict, text))
    if failed:
        (ai, _n), verdict, text = failed[0]
        why = (f"Spacer found a path to a violation at {s.addresses[ai]:#x} the explicit engine did not"
               if verdict == "refuted" else f"Spacer gave up at {s.addresses[ai]:#x}: {text}")
        for pp in props:
            if pp.status == "PROVED":
                pp.status, pp.note = "UNKNOWN", why
    per_address: dict[int, float] = {}
    for (ai, _n), _v, _t, secs in answers:
        per_address[s.addresses[ai]] = per_address.get(s.addresses[ai], 0.0) + secs
    result = ProofResult(seq.name, seq.sha256, config.level.value, tuple(s.addresses), tuple(added),
                         region(s), props, invariants, states=ex.states, spacer_seconds=spacer_seconds,
                         per_address=per_address)
    if not failed and targets:
        obs = obligations(systems, invariants, groups)
        side = [ob for ob in obs if ob.name.startswith("locality") and check_unsat(ob.formula) != "unsat"]
        if side:
            # the cutoff needs observers that write no shared state; with hardware Access-flag
            # updates (row 24) they would. Then only bounded results (verify) remain.
            for pp in props:
                if pp.status == "PROVED":
                    pp.status = "UNKNOWN"
                    pp.note = (f"{side[0].name} fails: observers interfere, so a proof for a fixed number of "
                               "vCPUs says nothing about N; use 'bbmcheck verify' for a bounded result")
        else:
            result.obligations = obs
            for ob in obs:  # z3 checks every obligation before the proof is reported
                if check_unsat(ob.formula) != "unsat":
                    raise RuntimeError(f"obligation {ob.name} does not hold: the certificate would be wrong")
    result.seconds = time.perf_counter() - start
    return result


def _run(work: list[tuple], jobs: int | None) -> list[tuple[Key, str, str, float]]:
    jobs = jobs if jobs is not None else min(len(work), os.cpu_count() or 1)
    if jobs <= 1 or len(work) <= 1:
        return [_address_job(job) for job in work]
    # spawn, not fork: z3's global context is not fork-safe
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        return sorted(pool.map(_address_job, work, chunksize=1))


def check_unsat(formula: z3.BoolRef) -> str:
    solver = z3.Solver()
    solver.set("random_seed", SEED)
    solver.add(formula)
    return str(solver.check())


def obligations(systems: dict[int, System], invariants: dict[Key, z3.BoolRef],
                groups: dict[int, dict[str, list[int]]]) -> list[Obligation]:
    out: list[Obligation] = []
    for (ai, n), invariant in sorted(invariants.items()):
        s = systems[n]
        enc = Encoder(s, bitvectors=False, only=ai)
        lay = enc.layout
        where = f"{s.addresses[ai]:#x}/{n}vcpu"
        said = f"address {s.addresses[ai]:#x}, {n} observer{'s' if n > 1 else ''}"
        pre, post = lay.fresh(""), lay.fresh("_next")
        sub = [(pre[x], post[x]) for x in lay.names]
        j_pre = z3.And(invariant, lay.ranges(pre))
        j_post = z3.substitute(j_pre, *sub)
        tr = transition(enc, pre, post, "sel")
        out += [
            Obligation(f"{where}/initiation", "QF_LIA", f"{said}: every initial state satisfies J",
                       z3.And(lay.initial(pre), z3.Not(j_pre))),
            Obligation(f"{where}/consecution", "QF_LIA",
                       f"{said}: every action from a state satisfying J reaches one satisfying J",
                       z3.And(j_pre, tr.relation, z3.Not(j_post))),
        ]
        for prop, cis in groups[n].items():
            classes = ", ".join(s.choices[c].label() for c in cis)
            bad = z3.And(bad_state(enc, pre, prop), enc.ci_in(pre, cis))
            out.append(Obligation(f"{where}/safety-{prop}", "QF_LIA",
                                  f"{said}: no state satisfying J raises {prop} (implementations: {classes})",
                                  z3.And(j_pre, bad)))
    s = systems[CUTOFF]
    enc = Encoder(s, bitvectors=False)
    single = sorted({p for p in groups[1]})
    for v in range(s.vcpus):
        out.append(Obligation(f"locality-vcpu{v}", "QF_LIA",
                              f"guards and effects on the shared state and vCPU {v} depend only on those; "
                              f"other observers change neither; vCPU {v}'s events of {', '.join(single) or '-'} "
                              "depend only on those", _locality(enc, v, single)))
    _a, query = uncovered(s, tuple(s.addresses))
    out.append(Obligation("cover", "QF_BV", "every address the root table maps is like a representative", query))
    return out


def _shared(lay: Layout) -> list[str]:
    return [n for n in lay.names if n == "ci" or n == "pc" or n.startswith("vis")]


def _own(lay: Layout, v: int) -> list[str]:
    return [n for n in lay.names if n in (f"walk{v}",) or n.startswith((f"tlb{v}_", f"wc{v}_", f"app{v}_"))]


def _observer(t: Template) -> int | None:
    return t.action[1] if t.action[0] in ("w", "s", "t") else None


def _locality(enc: Encoder, v: int, single: list[str]) -> z3.BoolRef:
    lay = enc.layout
    one, two = lay.fresh("_one"), lay.fresh("_two")
    kept = _shared(lay) + _own(lay, v)
    agree = z3.And([one[n] == two[n] for n in kept])
    t1, t2 = enc.templates(one), enc.templates(two)
    broken = []
    for a, b in zip(t1, t2, strict=True):
        owner = _observer(a)
        if owner is not None and owner != v:  # another observer: changes nothing kept
            changed = [a.updates[n] != one[n] for n in kept if n in a.updates]
            broken.append(z3.And(a.guard, _any(changed)))
            continue
        differ = [a.updates.get(n, one[n]) != b.updates.get(n, two[n]) for n in kept]
        broken.append(z3.And(a.guard, z3.Or(z3.Not(b.guard), _any(differ))))
        # single-observer events of this vCPU (or of the updater) read nothing else
        for (p, _c, c1), (_p, _c2, c2) in zip(a.events, b.events, strict=True):
            if p in single:
                broken.append(z3.And(a.guard, c1, z3.Not(c2)))
    for (act, p, _c, c1), (_a, _p, _c2, c2) in zip(enc.lookups(one), enc.lookups(two), strict=True):
        if act[1] == v and p in single:
            broken.append(z3.Xor(c1, c2))
    return z3.And(agree, _any(broken))
