"""The one re-execution of a path against the semantics.

A path is an implementation class and the actions from its initial state (as :class:`Action`\\ s
or as their codes, ``u p3 t0.5 w0.1.2 s0 e0.0.3 l0.1``). :func:`execute` re-executes it through
``system/step.py``: every action must be enabled in the state reached (a lookup must name a vCPU
and an address of the model), and, when an event is expected, the last step must show it. It
never raises for a bad path: the :class:`Replay` it returns records how far the path re-executed
and why it stopped, so what a caller prints (``Trace.replayed``) is what the replay confirmed.

Every user of a path goes through here: the assembly of every engine's counterexamples
(``verify``), BMC's decoded models, ``assert_violation(steps=...)``, ``bbmcheck replay`` and
``show`` (``trace/replay_itf.py``). :func:`replay` is the strict form for engines: a path that does
not confirm is an engine bug (exit 4), never printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from .system.build import System
from .system.describe import action_code, parse_action_code
from .system.state import Action, Event, Kind, State
from .system.step import actions, initial_states, step


class ReplayError(Exception):
    """A path that does not replay: an internal error (exit 4) when it came from an engine.
    ``index`` is the 0-based index of the action (step ``index + 1``); ``message`` says why."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"step {index + 1}: {message}")
        self.index = index
        self.message = message


class Row(NamedTuple):
    """One re-executed step: the state before, the action, the state after, the events shown."""

    before: State
    action: Action
    after: State
    events: list[Event]


@dataclass(frozen=True)
class Replay:
    """What :func:`execute` did: the rows it re-executed, in order, and the error that stopped it
    (None: every action of the path re-executed)."""

    system: System
    choice: int
    initial: State
    rows: tuple[Row, ...]
    length: int  # how many actions the path has
    error: ReplayError | None
    expect: Event | None  # the event the last step must show, if one was asked for

    @property
    def complete(self) -> bool:
        """Every action of the path was enabled and re-executed."""
        return self.error is None and len(self.rows) == self.length

    @property
    def last_events(self) -> list[Event]:
        return self.rows[-1].events if self.rows else []

    def shows(self, prop: str) -> bool:
        """The path re-executed to its end and its last step shows ``prop``."""
        return self.complete and any(ev.prop == prop for ev in self.last_events)

    @property
    def confirmed(self) -> bool:
        """The path re-executed to its end, is not empty, and its last step shows the expected
        event (any event of its property is not enough)."""
        return self.complete and bool(self.rows) and (self.expect is None or self.expect in self.last_events)

    @property
    def states(self) -> list[State]:
        """The initial state and the state after each re-executed step."""
        return [self.initial, *(row.after for row in self.rows)]

    @property
    def path(self) -> str:
        """The re-executed actions as codes."""
        return " ".join(action_code(row.action) for row in self.rows)

    def check(self) -> list[Row]:
        """The rows, or the :class:`ReplayError` that says why the path is not confirmed."""
        if self.error is not None:
            raise self.error
        if self.expect is not None and not self.confirmed:
            raise ReplayError(max(0, self.length - 1), f"the last step does not show {self.expect!r}")
        return list(self.rows)


def _code(action: Action | str) -> str:
    if isinstance(action, str):
        return action
    try:
        return action_code(action)
    except Exception:  # noqa: BLE001 - only for the message about an action that is not one
        return repr(action)


def execute(s: System, choice: int, path: Iterable[Action | str], expect: Event | None = None) -> Replay:
    """Re-execute ``path`` from the initial state of implementation ``choice``; never raises for a
    bad path (see :class:`Replay`)."""
    todo = list(path)
    inits = initial_states(s)
    if not 0 <= choice < len(inits):
        return Replay(s, choice, inits[0] if inits else State(choice, 0, (), ()), (), len(todo),
                      ReplayError(0, f"no implementation class {choice}"), expect)
    st = inits[choice]
    lookups = {Action(Kind.LOOKUP, v, ai) for v in range(s.vcpus) for ai in range(len(s.addresses))}
    rows: list[Row] = []
    error = None
    for i, given in enumerate(todo):
        code = _code(given)
        try:
            action = parse_action_code(given) if isinstance(given, str) else given
        except (ValueError, IndexError):
            action = None
        if code.startswith(Kind.LOOKUP.value):
            if action not in lookups:
                error = ReplayError(i, f"lookup {code} names no vCPU/address of this model")
                break
        elif action is None or action not in actions(s, st, evictions=True):
            error = ReplayError(i, f"action {code} is not enabled in the state before it")
            break
        assert action is not None
        nxt, events = step(s, st, action)
        rows.append(Row(st, action, nxt, events))
        st = nxt
    return Replay(s, choice, inits[choice], tuple(rows), len(todo), error, expect)


def replay(s: System, choice: int, path: Iterable[Action | str], expect: Event | None = None) -> list[Row]:
    """Re-execute ``path`` (see :func:`execute`); raise :class:`ReplayError` unless every action
    re-executed and, with ``expect``, the last step shows that event."""
    return execute(s, choice, path, expect).check()
