"""One result vocabulary for engines, CLI and pytest plugin.

Verdicts are ordered VIOLATED < UNKNOWN < HOLDS < PROVED. The explicit engine never says PROVED:
an exhaustive search holds for the vCPU count and representative addresses it explored, which
the result names as its bound. PROVED is reserved for unbounded proofs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any


class Verdict(IntEnum):
    VIOLATED = 0
    UNKNOWN = 1
    HOLDS = 2  # no violation in an exhaustive search of the stated bound
    PROVED = 3

    @property
    def word(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Step:
    """One row of a counterexample: who did what, and what changed."""

    index: int
    actor: str  # "updater", "memory", "vCPU0", ...
    action: str  # human text of the action
    line: int | None  # model-file line for updater instructions
    changes: tuple[str, ...]  # descriptor / TLB / walk state that changed
    events: tuple[str, ...]  # findings this step shows
    code: str  # the action's compact form, e.g. "w0.1.2"
    explanation: str = ""  # one sentence with the Arm rule that allows the step


@dataclass(frozen=True)
class Trace:
    """A replayed counterexample: the ITF document (the interchange form every view renders from)
    and the step rows computed from it. Made only by :func:`bbmcheck.trace.counterexample.counterexample`
    from a replay's rows; ``replayed`` is what that replay confirmed (every action re-executed and
    the last step shows the finding), so a trace of a corrupted path says False."""

    choices: str
    steps: tuple[Step, ...]
    replayed: bool  # the replay it was made from confirmed it (bbmcheck.replay.Replay.confirmed)
    itf: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def path(self) -> str:
        """A short, replayable encoding of the actions."""
        return " ".join(step.code for step in self.steps)


@dataclass(frozen=True)
class Window:
    """Instructions between which a hazard is possible (pc = instructions executed)."""

    opens_pc: int
    closes_pc: int | None  # None: still possible after the sequence completed (persisting)
    opens_after: str  # "after line 12 (str T1[1], block_nt)" or "before the first instruction"
    closes_at: str


@dataclass(frozen=True)
class Finding:
    """The outcome for one property. ``claim`` is the model's (holds, violated, any), or "none"
    when the run makes no claims."""

    property: str
    verdict: Verdict
    severity: str
    rules: str
    summary: str
    claim: str  # holds | violated | any
    claim_ok: bool
    violated_when: tuple[str, ...] = ()  # DNF over implementation choices; () = on every choice
    violated_on: tuple[str, ...] = ()  # every implementation (full choice vector) it is violated on
    persisting_on: tuple[str, ...] = ()
    holds_when: tuple[str, ...] = ()
    depends_on_choice: bool = False
    persisting: bool = False
    persisting_when: tuple[str, ...] = ()
    window: Window | None = None  # for hazards vCPUs can observe
    at_lines: tuple[str, ...] = ()  # instructions whose execution is itself the violation
    causes: tuple[str, ...] = ()  # cause texts with rule ids
    trace: Trace | None = None
    persisting_trace: Trace | None = None
    engine: str = "explicit"
    bound: str = ""


@dataclass(frozen=True)
class Stats:
    states: int
    transitions: int
    seconds: float
    max_depth: int
    queries: int = 0  # solver queries (SMT engines)

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float(self.states)


@dataclass(frozen=True)
class Proof:
    """What an unbounded proof (``bbmcheck prove``) adds to a result. A finding is PROVED when the
    proof covers every implementation, for every IPA in ``region`` and any number of vCPUs (the
    ``cutoff`` argument); a VIOLATED property may be proved on the other implementations
    (``proved_on``, and as a short OR of ANDs ``proved_when``); ``unknown`` says, per property,
    why the implementations not violated are not proved either."""

    region: tuple[str, str]  # [start, end) of the IPAs the root table maps
    cutoff: int  # observers in the proof systems
    added: tuple[str, ...]  # representatives the cover query added to the model's
    proved_on: dict[str, tuple[str, ...]] = field(default_factory=dict)
    proved_when: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    invariants: tuple[str, ...] = ()  # the certificate's invariant files: its one claim
    obligations: tuple[str, ...] = ()  # every obligation, each unsat in z3 (none: no certificate)
    spacer_seconds: float = 0.0


@dataclass(frozen=True)
class Result:
    model: str
    title: str
    path: str
    sha256: str
    level: str
    vcpus: int
    addresses: tuple[str, ...]
    choices: tuple[str, ...]  # implementation classes explored
    complete: bool
    stop_reason: str
    stats: Stats
    findings: tuple[Finding, ...]
    witnesses: dict[str, bool] = field(default_factory=dict)
    universe: tuple[str, ...] = ()  # every implementation (full choice vector) the classes stand for
    notes: tuple[str, ...] = ()
    symmetry: bool = True
    engine: str = "explicit"  # "explicit" (breadth-first search), "bmc" (bounded model checking) or "prove"
    claims: str = "model"  # "model": judged against the model's claims; "none": verdicts only
    proof: Proof | None = None  # engine "prove": the unbounded statement and its certificate
    # what was checked, not data: for verify (sequence, options), for helpers that replay user-given
    # steps; for prove the certificate's terms (smt.prove.Certificate), for writing it
    context: Any = field(default=None, compare=False, repr=False)
    # the vCPUs the search had: ``vcpus`` itself, or fewer when the vCPU cutoff answered for ``vcpus``
    searched_vcpus: int | None = None
    # the per-address decomposition (engines/decompose.py): per searched address, the addresses its
    # search answered for (alike ones), in address order; None when the addresses were searched together
    address_classes: tuple[tuple[str, ...], ...] | None = None

    @property
    def by_cutoff(self) -> bool:
        return self.searched_vcpus is not None and self.searched_vcpus != self.vcpus

    def finding(self, prop: str) -> Finding:
        for f in self.findings:
            if f.property == prop:
                return f
        raise KeyError(prop)

    @property
    def vacuous(self) -> bool:
        return not all(self.witnesses.values())

    @property
    def exit_code(self) -> int:
        """0 every claim holds, 1 a claim is refuted, 3 inconclusive (cap reached or vacuous).

        With no claims (``claims == "none"``) each finding's claim_ok says whether it is not an
        error-severity violation, so 1 means exactly that one is violated."""
        if any(not f.claim_ok and f.verdict is Verdict.VIOLATED for f in self.findings):
            return 1
        if not self.complete or self.vacuous:
            return 3
        if any(not f.claim_ok for f in self.findings):
            return 1
        return 0


def without_claims(result: Result) -> Result:
    """The same verdicts judged against no claims: only an error-severity violation fails."""
    findings = tuple(replace(f, claim="none", claim_ok=not (f.verdict is Verdict.VIOLATED and f.severity == "error"))
                     for f in result.findings)
    return replace(result, findings=findings, claims="none")
