"""The one door to SMT solving: every query bbmcheck puts to z3 or cvc5 goes through here.

* **Fixed seeds, set here only**: z3's ``random_seed`` on every solver and optimizer, cvc5's
  ``seed``, and the hash seed of the processes Spacer runs in (:func:`seeded_processes`: Spacer's
  search follows z3's term ids, which follow the process's hashing). The same query gives the same
  answer, model and invariant in every run.
* **One answer type**, :class:`Answer`: ``sat`` with its model, ``unsat``, or ``unknown`` with the
  solver's reason (a timeout, a cancelled query, an incomplete theory).
* **An unknown is never an error.** It means the solver did not decide, so neither can bbmcheck:
  BMC ends its search at that depth (UNKNOWN beyond it), ``prove`` reports UNKNOWN, ``recheck``
  says not confirmed either way; each exits 3, as any inconclusive run. A caller that cannot go on
  without a definite answer raises :class:`Unknown`, which the command turns into that UNKNOWN. It
  is never exit 4 (an internal error, or a certificate refuted by a definite answer).

:func:`decide` is the only place a z3 query is decided (tests replace it to answer unknown).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import z3

SEED = 0  # z3 random_seed and cvc5 seed
HASH_SEED = "0"  # PYTHONHASHSEED of the spawned Spacer workers


class Status(StrEnum):
    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Answer:
    """A solver's answer: ``model`` for sat (z3 only), ``reason`` for unknown."""

    status: Status
    model: Any = None  # z3.ModelRef when sat
    reason: str = ""

    @property
    def sat(self) -> bool:
        return self.status is Status.SAT

    @property
    def unsat(self) -> bool:
        return self.status is Status.UNSAT

    @property
    def unknown(self) -> bool:
        return self.status is Status.UNKNOWN

    def said(self) -> str:
        """The answer in words: ``sat``, ``unsat`` or ``unknown (reason)``."""
        return f"unknown ({self.reason})" if self.unknown and self.reason else self.status.value


class Unknown(Exception):  # noqa: N818 - an answer, not a program error
    """A query the solver did not decide, where the caller needs a definite answer. The command
    that asked reports UNKNOWN (exit 3), naming ``what`` and the solver's ``reason``."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"z3 answered unknown on {what}" + (f" ({reason})" if reason else ""))
        self.what, self.reason = what, reason


class ScriptError(Exception):
    """An SMT-LIB script a solver could not read, or that gave no answer: ``error: ...`` or
    ``no answer`` (not an answer, so never UNKNOWN)."""


def solver(logic: str | None = None, *, timeout: float | None = None) -> Any:
    """A z3 solver (for ``logic``, e.g. ``"QF_BV"`` or ``"HORN"`` for Spacer) with the fixed seed;
    ``timeout`` in seconds, after which it answers unknown."""
    s = z3.SolverFor(logic) if logic is not None else z3.Solver()
    s.set("random_seed", SEED)
    if timeout is not None:
        s.set("timeout", int(timeout * 1000))
    return s


def optimizer() -> Any:
    """A z3 optimizer with the fixed seed."""
    opt = z3.Optimize()
    opt.set("random_seed", SEED)
    return opt


def decide(s: Any) -> Answer:
    """The one ``check()`` of bbmcheck: z3's answer on what ``s`` (a solver or an optimizer) holds."""
    result = s.check()
    if result == z3.sat:
        return Answer(Status.SAT, s.model())
    if result == z3.unsat:
        return Answer(Status.UNSAT)
    return Answer(Status.UNKNOWN, reason=str(s.reason_unknown()))


def query(s: Any, *extra: Any) -> Answer:
    """``s`` with ``extra`` added in a scope of its own (pushed, decided, popped): an incremental
    solver keeps what it holds for the next query. The model stays readable after the pop."""
    s.push()
    try:
        s.add(*extra)
        return decide(s)
    finally:
        s.pop()


def solve(*formulas: Any, logic: str | None = None) -> Answer:
    """The conjunction of ``formulas`` in a fresh solver."""
    s = solver(logic)
    s.add(*formulas)
    return decide(s)


def minimize(term: Any, *formulas: Any) -> Answer:
    """A model of ``formulas`` in which ``term`` is smallest."""
    opt = optimizer()
    opt.add(*formulas)
    opt.minimize(term)
    return decide(opt)


def unsat(formula: Any) -> Answer:
    """Whether ``formula`` (expected unsat: a proof obligation) is unsat, in a fresh z3 solver."""
    return solve(formula)


# ---- SMT-LIB scripts, for re-checking certificates with two solvers -----------------------------

def script_z3(text: str) -> Answer:
    """z3's answer on an SMT-LIB2 script (one ``check-sat``). Raises ScriptError if z3 cannot
    read it."""
    s = solver()
    try:
        s.from_string(text)
    except z3.Z3Exception as e:
        raise ScriptError(f"error: {' '.join(str(e).split())[:120]}") from None
    return decide(s)


def cvc5_available() -> bool:
    try:
        import cvc5  # noqa: F401
    except ImportError:
        return False
    return True


def script_cvc5(text: str) -> Answer:
    """cvc5's answer on an SMT-LIB2 script: its last ``check-sat``. Raises ScriptError on a parse
    error or an output that is no answer (ImportError without cvc5)."""
    import cvc5

    tm = cvc5.TermManager()
    s = cvc5.Solver(tm)
    s.setOption("seed", str(SEED))
    symbols = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(s, symbols)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, text, "obligation")
    answers: list[Answer | str] = []  # an answer, or the error a command printed
    try:
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            out = cmd.invoke(s, symbols).strip()
            if out in ("sat", "unsat"):
                answers.append(Answer(Status(out)))
            elif out == "unknown":
                answers.append(Answer(Status.UNKNOWN, reason=_cvc5_reason(s)))
            elif out:
                answers.append(f"error: {out.splitlines()[0]}")
    except RuntimeError as e:  # cvc5 raises its parse errors as RuntimeError
        answers.append(f"error: {' '.join(str(e).split())[:120]}")
    last = answers[-1] if answers else "no answer"
    if isinstance(last, str):
        raise ScriptError(last)
    return last


def _cvc5_reason(s: Any) -> str:
    try:
        return str(s.getInfo("reason-unknown"))
    except RuntimeError:
        return ""


@contextmanager
def seeded_processes() -> Iterator[None]:
    """Inside, processes spawned inherit the fixed hash seed (restored after)."""
    saved = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = HASH_SEED
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PYTHONHASHSEED"]
        else:
            os.environ["PYTHONHASHSEED"] = saved
