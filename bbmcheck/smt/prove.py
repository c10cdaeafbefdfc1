"""Unbounded proofs: an inductive invariant from Spacer (z3's PDR engine for constrained Horn
clauses), for every address in the region and any number of vCPUs.

The argument, each step an SMT obligation written into the certificate:

1. *Cover*: the representative addresses stand for every address the root table maps
   (``cover.py``; QF_BV, the address a 64-bit vector).
2. *Per address*: every event is about one address (the walk or lookup that raises it). The system
   in which observers walk and look up only address a has exactly the events about a of the full
   system: a walk of another address a' fills an entry covering a only through the same tables and
   entries a walk of a reads at that moment (tables map one IPA range), so a walk of a does the same;
   entries not covering a take no part in events about a. The proof system of a is its own
   system (``build(only=a)``: the updater tracks only the stores and TLBIs that concern a, as
   ``verify`` searches it; ARCHITECTURE.md, "Per-address decomposition"). One invariant per class
   of alike addresses: those whose own systems have equal commands (``system/fingerprint.py``)
   have one proof problem, variable for variable (tests/test_prove.py checks the per-address BMC
   union against the full system).
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

``prove`` returns a :class:`~bbmcheck.results.Result`, as ``verify`` does: a property is PROVED
when its proof covers every implementation, VIOLATED when the explicit search (at the cutoff, on
the representatives, every counterexample replayed) finds it, and UNKNOWN otherwise: Spacer gave
up, or a query was not decided (``solver.Unknown``). A bounded or undecided answer is never
PROVED. ``Result.proof`` states the scope and the implementations each property is proved on;
``Result.context`` carries the certificate's terms (:class:`Certificate`) for ``certificate.write``.

The explicit search that picks the implementations to prove is the caller's (``search``: the
explicit engine's ``explore``), so the SMT engines import no other engine.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import z3

from ..arch.config import Choices, Config, FeatBBM, dnf
from ..arch.rules import PROPERTIES, PROPERTY_INFO
from ..engines.base import Exploration
from ..results import Finding, Proof, Result, Stats, Verdict, without_claims
from ..sequences.schema import Sequence
from ..system.build import System, build, for_address
from ..system.fingerprint import fingerprint
from ..system.state import Kind
from . import solver
from .cover import cover, region, uncovered
from .encode import Encoder, Env, Layout, Template, _any, bad_state, transition

CUTOFF = 2  # observers in the proof system (argument 5 above)


class Search(Protocol):
    """The explicit search that picks the implementations to prove, and its report:
    ``verify.explicit_report`` (an SMT engine imports neither the explicit engine nor verify)."""

    def __call__(self, seq: Sequence, s: System) -> tuple[Exploration, Result]: ...


@dataclass
class Obligation:
    name: str  # file stem in the certificate
    logic: str
    meaning: str
    formula: z3.BoolRef  # expected UNSAT


@dataclass
class PropertyProof:
    """One property's outcome as the certificate's manifest records it, per implementation:
    ``violated_on`` and ``proved_on`` list full choice vectors, ``*_when`` describe them as a short
    OR of ANDs. ``status`` is the verdict's name: VIOLATED if violated on some implementation, else
    UNKNOWN if some is undecided, else PROVED (on every implementation)."""

    property: str
    status: str  # PROVED, VIOLATED, UNKNOWN
    classes: tuple[int, ...] = ()  # implementation classes to prove (no counterexample at CUTOFF vCPUs)
    proved_on: tuple[str, ...] = ()  # implementations the proof covers
    violated_on: tuple[str, ...] = ()  # implementations with a counterexample (explicit engine, replayed)
    proved_when: tuple[str, ...] = ()
    violated_when: tuple[str, ...] = ()
    claim: str = "holds"
    note: str = ""

    def undecided(self) -> bool:
        """Some implementations were to be proved and are neither proved nor violated."""
        return bool(self.classes) and not self.proved_on


@dataclass
class Plan:
    """Everything a proof is made of except the invariants: the covered sequence, the proof
    systems, the explicit run that picks the implementations to prove (``report``: its result,
    claims judged as ``verify`` judges them), and the resulting statuses. ``prove`` and ``recheck``
    both derive it from the model alone."""

    covered: Sequence
    systems: dict[int, System]  # observers -> system of the covered sequence
    added: tuple[int, ...]
    properties: list[PropertyProof]
    groups: dict[int, dict[str, list[int]]]  # observers -> property -> classes to prove
    report: Result
    # representative index -> the indices of the alike addresses its proof stands for (itself first)
    classes: dict[int, list[int]] = field(default_factory=dict)
    _own: dict[Key, System] = field(default_factory=dict)

    @property
    def system(self) -> System:
        return self.systems[CUTOFF]

    def keys(self) -> list[Key]:
        """The (address index, observers) problems a proof needs, in certificate order: one per
        class of alike addresses (its lowest)."""
        return [(ai, n) for ai in sorted(self.classes) for n in (1, CUTOFF) if self.groups[n]]

    def system_for(self, ai: int, observers: int) -> System:
        """The proof system of address ``ai`` with ``observers`` vCPUs: the address's own system."""
        key = (ai, observers)
        if key not in self._own:
            self._own[key] = for_address(self.systems[observers], ai)
        return self._own[key]


@dataclass
class Certificate:
    """What a certificate is written from (a prove result's ``context``): the statuses as the
    manifest records them, the invariants Spacer found (as terms, and as the text the certificate
    holds) and every obligation (none when nothing was proved: then no certificate is written)."""

    addresses: tuple[int, ...]
    properties: list[PropertyProof]
    invariants: dict[Key, z3.BoolRef] = field(default_factory=dict)  # (address index, observers) -> Inv
    texts: dict[Key, str] = field(default_factory=dict)
    obligations: list[Obligation] = field(default_factory=list)
    per_address: dict[int, float] = field(default_factory=dict)  # Spacer seconds per address
    classes: dict[int, list[int]] = field(default_factory=dict)  # representative -> alike addresses


def certificate_of(result: Result) -> Certificate:
    """The certificate a prove result carries."""
    if not isinstance(result.context, Certificate):
        raise TypeError(f"the result of {result.model} is not a prove result; it carries no certificate")
    return result.context


def _horn(lay: Layout, enc: Encoder, bad: z3.BoolRef, pre: Env, post: Env, timeout: float) -> tuple[str, Any]:
    tr = transition(enc, pre, post, "sel")
    sorts = [pre[n].sort() for n in lay.names]
    inv = z3.Function("Inv", *sorts, z3.BoolSort())
    xs = [pre[n] for n in lay.names]
    ys = [post[n] for n in lay.names]
    h = solver.solver("HORN", timeout=timeout)
    h.add(z3.ForAll(xs, z3.Implies(lay.initial(pre), inv(*xs))))
    h.add(z3.ForAll(xs + ys + [tr.sel], z3.Implies(z3.And(inv(*xs), lay.ranges(pre), tr.relation), inv(*ys))))
    h.add(z3.ForAll(xs, z3.Implies(z3.And(inv(*xs), bad), False)))
    answer = solver.decide(h)
    if answer.sat:
        body = answer.model.eval(inv(*xs))
        if _quantified(body):
            body = _eliminate(body)
        return "proved", body
    if answer.unsat:
        return "refuted", None
    return "unknown", answer.reason


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
Job = tuple[Sequence, str, Key, dict[str, list[int]], float]  # one Spacer problem, as a worker gets it


def _address_job(job: Job) -> tuple[Key, str, str, float]:
    """One Spacer problem: a representative address, 1 or 2 observers (a worker process: z3 terms
    do not pickle, so the system is rebuilt from the sequence)."""
    seq, level, (ai, vcpus), targets, timeout = job
    s = for_address(build(seq, Config(level=FeatBBM(level)), vcpus=vcpus), ai)
    enc = Encoder(s, bitvectors=False)
    lay = enc.layout
    pre, post = lay.fresh(""), lay.fresh("_next")
    bad = z3.simplify(_any([z3.And(bad_state(enc, pre, p), _class_in(enc.s, pre, cis)) for p, cis in targets.items()]))
    start = time.perf_counter()
    if z3.is_false(bad):
        return (ai, vcpus), "proved", "true", 0.0
    verdict, answer = _horn(lay, enc, bad, pre, post, timeout)
    text = answer.sexpr() if verdict == "proved" else str(answer)
    return (ai, vcpus), verdict, text, time.perf_counter() - start


def _class_in(s: System, env: Env, classes: list[int]) -> z3.BoolRef:
    """The implementation class is one of ``classes`` (true when they are every class)."""
    if len(classes) == len(s.choices):
        return z3.BoolVal(True)
    return z3.Or([env["ci"] == c for c in classes]) if classes else z3.BoolVal(False)


def plan(seq: Sequence, level: FeatBBM | None, search: Search) -> Plan:
    """The cover query, the proof systems and the explicit run (``search``) that picks, per
    property, the implementations to prove (a deterministic function of the model and the level).
    Raises ``solver.Unknown`` if z3 does not decide the cover query."""
    config = Config(level=level or seq.level)

    def system_of(q: Sequence) -> System:
        return build(q, config, vcpus=CUTOFF)

    covered, s, added = cover(seq, system_of)
    systems = {CUTOFF: s, 1: build(covered, config, vcpus=1)}
    ex, report = search(covered, s)
    if not seq.claimed:
        report = without_claims(report)
    props: list[PropertyProof] = []
    groups: dict[int, dict[str, list[int]]] = {1: {}, CUTOFF: {}}
    for prop in PROPERTIES:
        finding = report.finding(prop)
        bad = [ci for ci in range(len(s.choices)) if (prop, ci) in ex.occurrences]
        good = [ci for ci in range(len(s.choices)) if ci not in bad]
        violated = [m for ci in bad for m in s.choice_members[s.choices[ci]]]
        if not ex.complete:
            props.append(PropertyProof(prop, "VIOLATED" if bad else "UNKNOWN",
                                       violated_on=_labels(violated), violated_when=dnf(violated, s.universe),
                                       claim=finding.claim, note=f"explicit search incomplete: {ex.stop_reason}"))
            continue
        if good:
            groups[observers_needed(prop)][prop] = good
        props.append(PropertyProof(prop, "VIOLATED" if bad else "UNKNOWN", tuple(good),
                                   violated_on=_labels(violated),
                                   violated_when=dnf(violated, s.universe) if bad else (), claim=finding.claim))
    return Plan(covered, systems, tuple(added), props, groups, report, alike_classes(systems))


def alike_classes(systems: dict[int, System]) -> dict[int, list[int]]:
    """The representatives whose own systems, at 1 and at CUTOFF observers, have equal commands
    (``system/fingerprint.py``): their proof problems are one problem, variable for variable."""
    first: dict[tuple[bytes, bytes], int] = {}
    out: dict[int, list[int]] = {}
    for ai in range(len(systems[CUTOFF].addresses)):
        key = (fingerprint(for_address(systems[1], ai)), fingerprint(for_address(systems[CUTOFF], ai)))
        out.setdefault(first.setdefault(key, ai), []).append(ai)
    return out


def _labels(members: list[Choices]) -> tuple[str, ...]:
    return tuple(sorted({c.label() for c in members}))


def settle(p: Plan, proved: bool, why: str = "") -> list[PropertyProof]:
    """The statuses once the invariants are in (``proved``) or not (``why``): the classes to
    prove become PROVED or UNKNOWN, per implementation."""
    s = p.system
    out = []
    for pp in p.properties:
        if not pp.classes:
            out.append(pp)
            continue
        members = [m for ci in pp.classes for m in s.choice_members[s.choices[ci]]]
        if proved:
            status = pp.status if pp.violated_on else "PROVED"
            out.append(replace(pp, status=status, proved_on=_labels(members),
                               proved_when=dnf(members, s.universe) if pp.violated_on else ()))
        else:
            out.append(replace(pp, status=pp.status if pp.violated_on else "UNKNOWN", note=why))
    return out


def prove(seq: Sequence, level: FeatBBM | None = None, timeout: float = 120.0, jobs: int | None = None, *,
          search: Search) -> Result:
    """Prove every property the explicit search (``search``) finds no violation of, for every
    address in the region and any number of vCPUs; the result as ``verify`` gives one, with
    PROVED where the proof holds (module docstring)."""
    start = time.perf_counter()
    try:
        p = plan(seq, level, search)
    except solver.Unknown as e:
        return _undecided(seq, level, f"the cover query is undecided: {e}", time.perf_counter() - start)
    s, groups = p.system, p.groups
    spacer_start = time.perf_counter()
    work: list[Job] = [(p.covered, s.level.value, (ai, n), groups[n], timeout)  # 2-observer ones first
                       for n in (CUTOFF, 1) for ai in sorted(p.classes) if groups[n]]
    answers = _run(work, jobs)
    spacer_seconds = time.perf_counter() - spacer_start
    invariants: dict[Key, z3.BoolRef] = {}
    texts: dict[Key, str] = {}
    failed = []
    for key, verdict, text, _secs in answers:
        if verdict == "proved":
            # the invariant as the certificate states it, read back as recheck reads it: the
            # obligations below are then exactly the ones recheck derives
            env = Encoder(p.system_for(*key), bitvectors=False).layout.fresh("")
            body = z3.parse_smt2_string(f"(assert {text})", decls=dict(env))[0]
            texts[key] = render_invariant(f"{s.addresses[key[0]]:#x}, {key[1]} observer(s)", body)
            invariants[key] = read_invariant(texts[key], env)
        else:
            failed.append((key, verdict, text))
    properties = p.properties
    obs: list[Obligation] = []
    queries = len(work)
    if failed:
        (ai, _n), verdict, text = failed[0]
        why = (f"Spacer found a path to a violation at {s.addresses[ai]:#x} the explicit engine did not"
               if verdict == "refuted" else f"Spacer gave up at {s.addresses[ai]:#x}: {text}")
        properties = settle(p, False, why)
    elif p.keys():
        obs = obligations(p, invariants)
        why, asked = _confirm(obs)
        queries += asked
        if why:
            obs = []
            properties = settle(p, False, why)
        else:
            properties = settle(p, True)
    per_address: dict[int, float] = {}
    for (ai, _n), _v, _t, secs in answers:
        per_address[s.addresses[ai]] = per_address.get(s.addresses[ai], 0.0) + secs
    cert = Certificate(tuple(s.addresses), properties, invariants if obs else {}, texts if obs else {}, obs,
                       per_address, p.classes)
    return _result(p, cert, time.perf_counter() - start, spacer_seconds, queries)


def _confirm(obs: list[Obligation]) -> tuple[str, int]:
    """z3 checks every obligation before a proof is reported: ('', queries) when each is unsat,
    else why the properties stay UNKNOWN. Locality first: if it fails, observers interfere (as
    hardware Access-flag updates, row 24, would make them) and a proof for a fixed number of vCPUs
    says nothing about N. Any other obligation z3 refutes is a bug (the certificate would be
    wrong); one it does not decide leaves the proof UNKNOWN, without a certificate."""
    answers: dict[str, solver.Answer] = {}
    ordered = [ob for ob in obs if _is_locality(ob)] + [ob for ob in obs if not _is_locality(ob)]
    for ob in ordered:
        answer = answers[ob.name] = solver.unsat(ob.formula)
        if answer.unknown:
            return f"z3 answered unknown on obligation {ob.name} ({answer.reason or 'no reason given'})", len(answers)
        if answer.sat and _is_locality(ob):
            return (f"{ob.name} fails: observers interfere, so a proof for a fixed number of vCPUs says nothing "
                    "about N; use 'bbmcheck verify' for a bounded result"), len(answers)
        if answer.sat:
            raise RuntimeError(f"obligation {ob.name} does not hold: the certificate would be wrong")
    return "", len(answers)


def _is_locality(ob: Obligation) -> bool:
    return ob.name.rsplit("/", 1)[-1].startswith("locality")


def scope(result_region: tuple[int, int]) -> str:
    lo, hi = result_region
    return f"every IPA in [{lo:#x}, {hi:#x}) and any number of vCPUs (cutoff {CUTOFF})"


def _result(p: Plan, cert: Certificate, seconds: float, spacer_seconds: float, queries: int) -> Result:
    """The prove result: the explicit report's findings, each PROVED where the proof covers every
    implementation and UNKNOWN where it was to prove them and did not."""
    s = p.system
    lo, hi = region(s)
    statuses = {pp.property: pp for pp in cert.properties}
    findings: list[Finding] = []
    for f in p.report.findings:
        pp = statuses[f.property]
        if pp.status == "PROVED":  # HOLDS in the explicit search, so its claim is judged as HOLDS was
            f = replace(f, verdict=Verdict.PROVED, bound=scope((lo, hi)), engine="prove")
        elif pp.status == "UNKNOWN":
            f = replace(f, verdict=Verdict.UNKNOWN, claim_ok=True)
        findings.append(f)
    unknown = {pp.property: pp.note for pp in cert.properties if pp.status == "UNKNOWN" or pp.undecided()}
    proof = Proof(region=(f"{lo:#x}", f"{hi:#x}"), cutoff=CUTOFF, added=tuple(f"{a:#x}" for a in p.added),
                  proved_on={pp.property: pp.proved_on for pp in cert.properties if pp.proved_on},
                  proved_when={pp.property: pp.proved_when for pp in cert.properties if pp.proved_on},
                  unknown=unknown,
                  invariants=tuple(invariant_file(cert.addresses[ai], n) for ai, n in sorted(cert.texts)),
                  obligations=tuple(ob.name for ob in cert.obligations), spacer_seconds=spacer_seconds)
    complete = p.report.complete and not unknown
    if complete:
        stop = f"every property not violated is proved, for {scope((lo, hi))}"
    else:
        stop = next(iter(unknown.values()), "") or p.report.stop_reason
    stats = Stats(p.report.stats.states, p.report.stats.transitions, seconds, p.report.stats.max_depth, queries)
    return replace(p.report, findings=tuple(findings), complete=complete, stop_reason=stop, stats=stats,
                   engine="prove", proof=proof, context=cert)


INVARIANT = "invariant.smt2"


def invariant_file(address: int, observers: int) -> str:
    """The certificate's file of the invariant for one representative and observer count."""
    return f"{address:#x}/{observers}vcpu/{INVARIANT}"


def _undecided(seq: Sequence, level: FeatBBM | None, reason: str, seconds: float) -> Result:
    """UNKNOWN on every property: the proof could not begin (no certificate)."""
    findings = tuple(Finding(p, Verdict.UNKNOWN, PROPERTY_INFO[p].severity, PROPERTY_INFO[p].rules,
                             PROPERTY_INFO[p].summary, seq.claims.get(p, "holds"), True) for p in PROPERTIES)
    result = Result(model=seq.name, title=seq.title, path=seq.path, sha256=seq.sha256,
                    level=(level or seq.level).value, vcpus=CUTOFF, addresses=(), choices=(), complete=False,
                    stop_reason=reason, stats=Stats(0, 0, seconds, 0, 0), findings=findings, engine="prove",
                    context=Certificate((), []))
    return without_claims(result) if not seq.claimed else result


# ---- invariants as the certificate states them ----------------------------------------------------

def render_invariant(where: str, body: z3.BoolRef) -> str:
    names = sorted({(str(d), "Int" if d.range() == z3.IntSort() else "Bool") for d in _consts(body)})
    params = " ".join(f"({n} {sort})" for n, sort in names)
    return (f"; Inv for address {where}, found by Spacer; the certified invariant is J = Inv and the ranges\n"
            f"(define-fun inv ({params}) Bool\n  {body.sexpr()})\n")


def _consts(e: z3.ExprRef) -> set[z3.FuncDeclRef]:
    out: set[z3.FuncDeclRef] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if z3.is_const(x) and x.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(x.decl())
        stack.extend(x.children())
    return out


MAX_INVARIANT = 4 << 20  # characters: Spacer's invariants here are a few KiB


def read_invariant(text: str, env: Env) -> z3.BoolRef:
    """The invariant of an ``invariant.smt2`` file: exactly one ``(define-fun inv ((x S) ...) Bool
    body)`` whose parameters are state variables of the address's system with their sorts and whose
    body is quantifier-free linear arithmetic over them. Raises ValueError saying what is wrong."""
    if len(text) > MAX_INVARIANT:
        raise ValueError(f"larger than {MAX_INVARIANT} characters")
    forms = _sexprs(text)
    if len(forms) != 1 or not isinstance(forms[0], list) or len(forms[0]) != 5 or forms[0][:2] != ["define-fun", "inv"]:
        raise ValueError("expected exactly one form, (define-fun inv ((name Sort) ...) Bool body)")
    _df, _name, params, sort, _body = forms[0]
    if sort != "Bool" or not isinstance(params, list):
        raise ValueError("inv must take a parameter list and return Bool")
    args = []
    for param in params:
        if not (isinstance(param, list) and len(param) == 2 and all(isinstance(x, str) for x in param)):
            raise ValueError(f"parameter {_show(param)} is not (name Sort)")
        name, psort = param
        if name not in env:
            raise ValueError(f"parameter {name} is not a state variable of this address's system")
        want = "Int" if env[name].sort() == z3.IntSort() else "Bool"
        if psort != want:
            raise ValueError(f"parameter {name} has sort {psort}; the state variable is {want}")
        if env[name] in args:
            raise ValueError(f"parameter {name} is listed twice")
        args.append(env[name])
    call = f"(inv {' '.join(str(a) for a in args)})" if args else "inv"
    try:
        parsed = z3.parse_smt2_string(text + f"\n(assert {call})\n", decls=dict(env))
    except z3.Z3Exception as e:
        raise ValueError(f"not valid SMT-LIB2: {_z3_message(e)}") from None
    if len(parsed) != 1:
        raise ValueError("expected one invariant")
    inv = parsed[0]
    known = {v.decl() for v in env.values()}
    _check_terms(inv, known)
    return inv


def _z3_message(e: z3.Z3Exception) -> str:
    raw = e.value.decode(errors="replace") if isinstance(e.value, bytes) else str(e.value)
    return " ".join(raw.split())[:200]


_ARITH = {z3.Z3_OP_TRUE, z3.Z3_OP_FALSE, z3.Z3_OP_EQ, z3.Z3_OP_DISTINCT, z3.Z3_OP_ITE, z3.Z3_OP_AND, z3.Z3_OP_OR,
          z3.Z3_OP_IFF, z3.Z3_OP_XOR, z3.Z3_OP_NOT, z3.Z3_OP_IMPLIES, z3.Z3_OP_ANUM, z3.Z3_OP_LE, z3.Z3_OP_GE,
          z3.Z3_OP_LT, z3.Z3_OP_GT, z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_UMINUS, z3.Z3_OP_MUL}


def _check_terms(e: z3.ExprRef, known: set[z3.FuncDeclRef]) -> None:
    stack, seen = [e], set()
    while stack:
        x = stack.pop()
        if x.get_id() in seen:
            continue
        seen.add(x.get_id())
        if z3.is_quantifier(x):
            raise ValueError("the body has a quantifier; an invariant here is quantifier-free")
        if not (z3.is_int(x) or z3.is_bool(x)):
            raise ValueError(f"the body has a term of sort {x.sort()}; only Int and Bool")
        kind = x.decl().kind()
        if kind == z3.Z3_OP_UNINTERPRETED:
            if x.decl() not in known:
                raise ValueError(f"the body uses {x.decl().name()}, which is not a state variable")
        elif kind not in _ARITH:
            raise ValueError(f"the body uses {x.decl().name()}; only linear integer arithmetic and Booleans")
        elif kind == z3.Z3_OP_MUL and sum(not _constant(c) for c in x.children()) > 1:
            raise ValueError("the body multiplies two variables; only linear arithmetic")
        stack.extend(x.children())


def _constant(e: z3.ExprRef) -> bool:
    """A numeral, or arithmetic over numerals only (such as (- 1))."""
    if z3.is_int_value(e):
        return True
    return e.decl().kind() in (z3.Z3_OP_UMINUS, z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_MUL) and \
        all(_constant(c) for c in e.children())


def _sexprs(text: str) -> list:  # type: ignore[type-arg]
    """S-expressions of SMT-LIB text (comments dropped; |quoted| symbols and strings kept whole)."""
    out: list = []  # type: ignore[type-arg]
    stack: list[list] = [out]  # type: ignore[type-arg]
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == ";":
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "(":
            if len(stack) > 200:
                raise ValueError("nested more than 200 deep")
            stack[-1].append([])
            stack.append(stack[-1][-1])
            i += 1
        elif c == ")":
            if len(stack) == 1:
                raise ValueError("unbalanced ')'")
            stack.pop()
            i += 1
        elif c in "|\"":
            j = text.find(c, i + 1)
            if j < 0:
                raise ValueError(f"unterminated {c}")
            stack[-1].append(text[i:j + 1])
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "();|\"":
                j += 1
            stack[-1].append(text[i:j])
            i = j
    if len(stack) != 1:
        raise ValueError("unbalanced '('")
    return out


def _show(x: object) -> str:
    if isinstance(x, list):
        return "(" + " ".join(_show(y) for y in x) + ")"
    return str(x)


def _run(work: list[Job], jobs: int | None) -> list[tuple[Key, str, str, float]]:
    """Each Spacer problem in a fresh process (spawned, not forked: z3's global context is not
    fork-safe) with the fixed hash seed (``solver.seeded_processes``). Spacer's search depends on
    z3's term ids, so a worker that solved another problem first, or one with another hash seed,
    finds another invariant; a fresh process per problem makes the certificate byte-identical
    between runs, whatever ``jobs`` is."""
    if not work:
        return []
    jobs = max(1, min(jobs if jobs is not None else (os.cpu_count() or 1), len(work)))
    with solver.seeded_processes(), multiprocessing.get_context("spawn").Pool(jobs, maxtasksperchild=1) as pool:
        return sorted(pool.map(_address_job, work, chunksize=1))


def obligations(p: Plan, invariants: dict[Key, z3.BoolRef]) -> list[Obligation]:
    """Every obligation a proof of the plan's properties needs, for every class of alike addresses
    and observer count (whatever ``invariants`` holds: each needed one must be there), on the
    class's own system, then locality and cover."""
    out: list[Obligation] = []
    systems, groups = p.systems, p.groups
    for ai, n in p.keys():
        invariant = invariants[(ai, n)]
        s = p.system_for(ai, n)
        enc = Encoder(s, bitvectors=False)
        lay = enc.layout
        a = systems[n].addresses[ai]
        alike = len(p.classes[ai]) - 1
        where = f"{a:#x}/{n}vcpu"
        said = (f"address {a:#x}" + (f" (and {alike} alike)" if alike else "")
                + f", {n} observer{'s' if n > 1 else ''}")
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
            bad = z3.And(bad_state(enc, pre, prop), _class_in(enc.s, pre, cis))
            out.append(Obligation(f"{where}/safety-{prop}", "QF_LIA",
                                  f"{said}: no state satisfying J raises {prop} (implementations: {classes})",
                                  z3.And(j_pre, bad)))
    # locality, on each class's own system with CUTOFF observers (the system its proofs are of:
    # any N vCPUs of it, restricted to k, are a run of its k-vCPU system)
    single = sorted({p for p in groups[1]})
    s = systems[CUTOFF]
    for ai in sorted(p.classes):
        enc = Encoder(p.system_for(ai, CUTOFF), bitvectors=False)
        for v in range(s.vcpus):
            out.append(Obligation(f"{s.addresses[ai]:#x}/{CUTOFF}vcpu/locality-vcpu{v}", "QF_LIA",
                                  f"address {s.addresses[ai]:#x}: guards and effects on the shared state and vCPU "
                                  f"{v} depend only on those; other observers change neither; vCPU {v}'s events of "
                                  f"{', '.join(single) or '-'} depend only on those", _locality(enc, v, single)))
    _a, query = uncovered(s, tuple(s.addresses))
    out.append(Obligation("cover", "QF_BV", "every address the root table maps is like a representative", query))
    return out


def _shared(lay: Layout) -> list[str]:
    return [n for n in lay.names if n == "ci" or n == "pc" or n.startswith("vis")]


def _own(lay: Layout, v: int) -> list[str]:
    return [n for n in lay.names if n in (f"walk{v}",) or n.startswith((f"tlb{v}_", f"wc{v}_", f"app{v}_"))]


def _observer(t: Template) -> int | None:
    """The observer whose own action ``t`` is (a walk starting or stepping, a TLBI acting on it)."""
    return t.action.vcpu if t.action.kind in (Kind.WALK, Kind.STEP, Kind.TLBI) else None


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
        if act.vcpu == v and p in single:
            broken.append(z3.Xor(c1, c2))
    return z3.And(agree, _any(broken))
