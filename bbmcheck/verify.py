"""The library entry point: check a sequence, replay every counterexample, return a :class:`Result`."""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from .arch.config import ChoiceSpace, Config, FeatBBM, Rmrrpw, dnf
from .arch.rules import PROPERTIES, PROPERTY_INFO
from .engines.base import Exploration, Occurrence
from .engines.decompose import explore_decomposed
from .engines.explicit import explore
from .replay import Replay, execute
from .results import Finding, Result, Stats, Trace, Verdict, Window, without_claims
from .sequences.load import MAX_VCPUS
from .sequences.schema import Sequence
from .system.build import STORE_DSB, System, build
from .system.commands import commands_of
from .system.cutoff import observers_needed
from .system.describe import cause_info
from .trace.counterexample import counterexample


@dataclass(frozen=True)
class Options:
    """Everything a run can be asked to do differently from the model file's defaults."""

    level: FeatBBM | None = None
    vcpus: int | None = None
    symmetry: bool = True
    evictions: bool = False
    max_states: int = 2_000_000
    timeout: float | None = None
    rmrrpw: Rmrrpw = Rmrrpw.OVERLAP
    space: ChoiceSpace = ChoiceSpace()
    engine: str = "explicit"  # or "bmc"
    bound: int | None = None  # depth bound: BMC's unrolling, or the explicit search's depth
    claims: str = "model"  # "model": the model's [claims]; "none": verdicts only (also a model with no [claims])
    cutoff: bool = True  # answer more vCPUs than the cutoff needs by the cutoff's search (system/cutoff.py)
    decompose: bool = True  # one search per class of alike addresses (engines/decompose.py)
    jobs: int | None = None  # worker processes for those searches (None: one per core)
    scheduler: str | None = None  # a Dask scheduler's address ("local": a local cluster) instead of a pool


DEFAULT_BMC_BOUND = 24
Progress = Callable[[int, int, float], None]  # states, transitions, seconds so far


class TimeUp(Exception):
    """The --timeout deadline passed in work that cannot stop by itself (loading, building, an SMT query)."""


# The deadline of the whole command. ``time_limit`` sets it (nested calls keep the earliest); the
# explicit search stops by itself at it; loading, building and BMC run inside ``interruptible``,
# where a SIGALRM at the deadline raises TimeUp (and a timer thread cancels a running z3 query,
# which no signal reaches). Outside those regions (the search, assembling, rendering) the alarm
# only records that the time is up. Past the deadline the alarm and the z3 interrupt repeat every
# ``_AGAIN`` seconds: a TimeUp raised while a gc or weakref callback runs is swallowed by Python
# ("Exception ignored in ..."), and a z3 query started after the first interrupt would run to its end.
_AGAIN = 0.05
_deadlines: list[float] = []
_loud = [0]
_expired = [False]


def remaining() -> float | None:
    """Seconds left before the deadline (None: no deadline)."""
    return None if not _deadlines else max(0.0, _deadlines[-1] - time.monotonic())


def _on_alarm(signum: int, frame: Any) -> None:
    _expired[0] = True
    if _loud[0]:
        raise TimeUp(_reason())


def _reason() -> str:
    return f"time cap of {_limits[-1]:g} s reached" if _limits else "time cap reached"


_limits: list[float] = []


def _interrupt_z3() -> None:
    z3 = sys.modules.get("z3")
    if z3 is not None:
        try:
            z3.main_ctx().interrupt()
        except Exception:  # noqa: BLE001 - best effort: a query that ends by itself ends anyway
            pass


def _interrupt_z3_from(deadline: float, stop: threading.Event) -> None:
    """At ``deadline`` interrupt z3's running query; until ``stop``, again every ``_AGAIN`` seconds
    while an ``interruptible`` region runs."""
    if stop.wait(max(0.0, deadline - time.monotonic())):
        return
    _interrupt_z3()
    while not stop.wait(_AGAIN):
        if _loud[0]:
            _interrupt_z3()


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Bound everything inside to ``seconds`` of wall time (None: no bound)."""
    if seconds is None:
        yield
        return
    deadline = time.monotonic() + seconds
    if _deadlines and _deadlines[-1] <= deadline:
        deadline, seconds = _deadlines[-1], _limits[-1]
    main = threading.current_thread() is threading.main_thread()
    old = signal.getsignal(signal.SIGALRM) if main and not _deadlines else None
    if not _deadlines:
        _expired[0] = False
    _deadlines.append(deadline)
    _limits.append(seconds)
    stop = threading.Event()
    timer = threading.Thread(target=_interrupt_z3_from, args=(deadline, stop), daemon=True)
    timer.start()
    if main:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.monotonic()), _AGAIN)
    try:
        yield
    finally:
        stop.set()
        _deadlines.pop()
        _limits.pop()
        if main:
            if _deadlines:
                signal.setitimer(signal.ITIMER_REAL, max(0.001, _deadlines[-1] - time.monotonic()), _AGAIN)
            else:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old if old is not None else signal.SIG_DFL)


@contextmanager
def interruptible() -> Iterator[None]:
    """Inside, the deadline raises TimeUp (at once if it has already passed)."""
    if _deadlines and (_expired[0] or remaining() == 0):
        raise TimeUp(_reason())
    _loud[0] += 1
    try:
        yield
    finally:
        _loud[0] -= 1


def verify(seq: Sequence, options: Options = Options(), progress: Progress | None = None) -> Result:
    """Check ``seq``; with ``options.timeout`` the whole call (building, search, BMC) is bounded by it,
    and inside :func:`time_limit` (the CLI's whole command) by that deadline too."""
    start = time.monotonic()
    with time_limit(options.timeout):
        try:
            result = _verify(seq, options, progress)
        except TimeUp as e:
            result = _timed_out(seq, options, str(e), time.monotonic() - start)
    return without_claims(result) if options.claims == "none" or not seq.claimed else result


def _timed_out(seq: Sequence, options: Options, reason: str, seconds: float) -> Result:
    """UNKNOWN on every property: the deadline passed before the search could say anything."""
    findings = tuple(Finding(p, Verdict.UNKNOWN, PROPERTY_INFO[p].severity, PROPERTY_INFO[p].rules,
                             PROPERTY_INFO[p].summary, seq.claims.get(p, "holds"), True) for p in PROPERTIES)
    return Result(model=seq.name, title=seq.title, path=seq.path, sha256=seq.sha256,
                  level=(options.level or seq.level).value, vcpus=options.vcpus or seq.vcpus, addresses=(),
                  choices=(), complete=False, stop_reason=f"{reason} before the search ended",
                  stats=Stats(0, 0, seconds, 0, 0), findings=findings, witnesses={}, engine=options.engine,
                  context=(seq, options))


def _verify(seq: Sequence, options: Options, progress: Progress | None) -> Result:
    config = Config(level=options.level or seq.level, rmrrpw=options.rmrrpw, space=options.space)
    with interruptible():  # the cutoff's analysis reads every command: as long as the build on large models
        system = build(seq, config, vcpus=options.vcpus)
        asked = system.vcpus
        system = searched_system(system, cutoff=options.cutoff)
    if options.engine == "bmc":
        from .smt.bmc import bmc  # z3 is imported only when the SMT engine is asked for

        depth = options.bound or DEFAULT_BMC_BOUND
        with interruptible():  # a query the deadline cancels is UNKNOWN: BMC stops at the last decided depth
            bex = bmc(system, depth, timeout=remaining())
        result = assemble(seq, system, bex, symmetry=False, depth=depth, vcpus=asked)
        return replace(result, context=(seq, options), stop_reason=_cap_text(result.stop_reason))
    if options.decompose:
        runner = None
        if options.scheduler is not None:
            from .engines.cluster import dask_runner  # dask is imported only when a cluster is asked for

            runner = dask_runner(options.scheduler)
        ex: Exploration = explore_decomposed(
            system, symmetry=options.symmetry, evictions=options.evictions, max_states=options.max_states,
            timeout=remaining(), progress=progress, depth_bound=options.bound, jobs=options.jobs, runner=runner)
    else:
        ex = explore(system, symmetry=options.symmetry, evictions=options.evictions, max_states=options.max_states,
                     timeout=remaining(), progress=progress, depth_bound=options.bound)
    result = assemble(seq, system, ex, symmetry=options.symmetry, depth=options.bound, vcpus=asked)
    return replace(result, context=(seq, options), stop_reason=_cap_text(result.stop_reason))


def searched_system(s: System, *, cutoff: bool = True) -> System:
    """``s``, or the same system with fewer vCPUs when the cutoff (system/cutoff.py) says that
    many decide every property for ``s.vcpus``. Raises ``TooManyVcpus`` for a count above
    ``MAX_VCPUS`` that the cutoff does not answer."""
    cut = observers_needed(commands_of(s)) if cutoff else None
    if cut is not None and cut.vcpus is not None and s.vcpus > cut.vcpus:
        return replace(s, vcpus=cut.vcpus, compiled=None)
    if s.vcpus > MAX_VCPUS:
        why = "--no-cutoff was given" if cut is None else f"the cutoff does not apply ({cut.why})"
        raise TooManyVcpus(f"more than {MAX_VCPUS} vCPUs are answered only by the vCPU cutoff, and {why}")
    return s


class TooManyVcpus(ValueError):
    """More vCPUs than any search is given, for a model the cutoff cannot answer."""


def _cap_text(reason: str) -> str:
    """The engines name the seconds they were given (what was left); say the user's --timeout."""
    return re.sub(r"^time cap of \S+ s reached", _reason(), reason) if _limits else reason


def assemble(seq: Sequence, s: System, ex: Exploration, *, symmetry: bool, depth: int | None = None,
             vcpus: int | None = None) -> Result:
    """The result of ``ex``; ``vcpus`` (more than ``s.vcpus``) when it answers for that many by
    the vCPU cutoff."""
    asked = vcpus or s.vcpus
    bound = f"{asked} vCPU{'s' if asked != 1 else ''}"
    if asked != s.vcpus:
        bound += f" (by the vCPU cutoff: a search over {s.vcpus} decides any number)"
    bound += f", {len(s.addresses)} representative addresses"
    if depth is not None:
        bound += f", paths of at most {depth} steps"
    engine: str = getattr(ex, "engine", "explicit")  # every engine names itself (engines/base.py)
    findings = tuple(replace(_finding(seq, s, ex, prop, bound), engine=engine) for prop in PROPERTIES)
    classes = range(len(s.choices))
    witnesses = {"updater-done": all(ci in ex.done_reached for ci in classes)}
    if any(s.changed):  # a sequence that only unmaps has no new mapping to witness
        witnesses["new-mapping-used"] = all(("witness", ci) in ex.occurrences for ci in classes)
    return Result(
        model=seq.name,
        title=seq.title,
        path=seq.path,
        sha256=seq.sha256,
        level=s.level.value,
        vcpus=asked,
        searched_vcpus=s.vcpus,
        addresses=tuple(f"{a:#x}" for a in s.addresses),
        choices=tuple(c.label() for c in s.choices),
        complete=ex.complete,
        stop_reason=ex.stop_reason,
        stats=Stats(ex.states, ex.transitions, ex.seconds, ex.max_depth, getattr(ex, "queries", 0)),
        findings=findings,
        witnesses=witnesses,
        universe=tuple(c.label() for c in s.universe),
        notes=tuple(s.notes),
        symmetry=symmetry,
        engine=engine,
        address_classes=_classes(s, getattr(ex, "classes", None)),
    )


def _classes(s: System, classes: dict[int, list[int]] | None) -> tuple[tuple[str, ...], ...] | None:
    if classes is None:
        return None
    return tuple(tuple(f"{s.addresses[ai]:#x}" for ai in classes[k]) for k in sorted(classes))


def _finding(seq: Sequence, s: System, ex: Exploration, prop: str, bound: str) -> Finding:
    info = PROPERTY_INFO[prop]
    claim = seq.claims.get(prop, "holds")
    occ = {ci: o for (p, ci), o in ex.occurrences.items() if p == prop}
    if not occ:
        verdict = Verdict.HOLDS if ex.complete else Verdict.UNKNOWN
        claim_ok = claim != "violated" or verdict is Verdict.UNKNOWN
        return Finding(prop, verdict, info.severity, info.rules, info.summary, claim, claim_ok, bound=bound)
    violated = [m for ci in occ for m in s.choice_members[s.choices[ci]]]
    persisting = [m for ci, o in occ.items() if o.persisting for m in s.choice_members[s.choices[ci]]]
    pcs = set().union(*(o.pcs for o in occ.values()))
    instr = sorted(set().union(*(o.instr_pcs for o in occ.values())))
    is_persisting = bool(persisting)
    window = None
    if pcs:
        window = Window(
            opens_pc=min(pcs),
            closes_pc=None if is_persisting else max(pcs),
            opens_after=_after(s, min(pcs)),
            closes_at=_never(s) if is_persisting else _at(s, max(pcs)),
        )
    causes, severity = [], "warning"
    for _ci, o in sorted(occ.items()):
        for cause in sorted(o.causes):
            sev, text, rules = cause_info(s, cause)
            said = f"{text} ({rules})"
            if said not in causes:
                causes.append(said)
            if sev == "error":
                severity = "error"
    first_ci = min(occ, key=lambda ci: (occ[ci].depth, ci))
    trace = _trace(s, ex, first_ci, occ[first_ci], persisting=False)
    ptrace = None
    pers = {ci: o.persisting for ci, o in occ.items() if o.persisting is not None}
    if pers:
        pci = min(pers, key=lambda ci: (pers[ci][0], ci))
        ptrace = _trace(s, ex, pci, occ[pci], persisting=True)
    universe = s.universe
    return Finding(
        property=prop,
        verdict=Verdict.VIOLATED,
        severity=severity,
        rules=info.rules,
        summary=info.summary,
        claim=claim,
        claim_ok=claim != "holds",
        violated_when=dnf(violated, universe),
        violated_on=tuple(sorted({c.label() for c in violated})),
        persisting_on=tuple(sorted({c.label() for c in persisting})),
        holds_when=dnf([c for c in universe if c not in violated], universe) if len(violated) < len(universe) else (),
        depends_on_choice=len(set(violated)) < len(universe),
        persisting=is_persisting,
        persisting_when=dnf(persisting, universe) if persisting else (),
        window=window,
        at_lines=tuple(f"{s.program[pc].where} ({s.program[pc].text})" for pc in instr),
        causes=tuple(causes),
        trace=trace,
        persisting_trace=ptrace,
        bound=bound,
    )


def _after(s: System, pc: int) -> str:
    if pc == 0:
        return "before the first instruction"
    ins = s.program[pc - 1]
    return f"after {ins.where} ({ins.text})"


def _never(s: System) -> str:
    """A persisting window's close, and what the model says about it: a last store that no
    store-visibility DSB follows (RDDMVT steps 2, 6) may stay invisible to walkers for good."""
    text = "never: still possible after the sequence completed"
    stores = [pc for pc, ins in enumerate(s.program) if ins.is_store]
    if stores and not any(ins.op == "dsb" and ins.option in STORE_DSB for ins in s.program[stores[-1] + 1:]):
        text += f"; the last store is never made visible: no DSB follows {s.program[stores[-1]].where}"
    return text


def _at(s: System, pc: int) -> str:
    if pc >= s.end:
        return "at the end"
    ins = s.program[pc]
    return f"once {ins.where} ({ins.text}) has executed"


def _trace(s: System, ex: Exploration, ci: int, o: Occurrence, *, persisting: bool) -> Trace:
    key, action, event = o.key, o.action, o.event
    if persisting:
        assert o.persisting is not None
        _depth, key, action, event = o.persisting
    run = execute(s, ci, [*ex.trace_to(key), action], expect=event)
    run.check()  # raises ReplayError: an engine bug, never printed
    return counterexample(run)


def system_of(result: Result) -> System:
    """The compiled system ``result`` was checked on (its level, vCPUs and implementation choices)."""
    if result.context is None:
        raise ValueError("this result carries no model to build")
    seq, options = result.context
    config = Config(level=FeatBBM.parse(result.level), rmrrpw=options.rmrrpw, space=options.space)
    return build(seq, config, vcpus=result.searched_vcpus or result.vcpus)


def rerun(result: Result, path: list[str]) -> list[Replay]:
    """``path`` (action codes) re-executed from the initial state of every implementation class
    ``result`` explored, in class order."""
    system = system_of(result)
    return [execute(system, ci, path) for ci in range(len(system.choices))]


def explicit_report(seq: Sequence, s: System) -> tuple[Exploration, Result]:
    """The explicit search of ``s`` with symmetry and its report: what ``prove`` and ``recheck``
    use to pick the implementations to prove (``smt.prove.Search``), address by address."""
    ex = explore_decomposed(s, symmetry=True)
    return ex, assemble(seq, s, ex, symmetry=True)
