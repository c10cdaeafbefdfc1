"""Replay a counterexample against the semantics: every action must be enabled and the last one
must produce the claimed event. Engines' traces pass through here before anything is printed."""

from __future__ import annotations

from .system.build import System
from .system.step import Action, State, actions, initial_states, step


class ReplayError(Exception):
    """A trace that does not replay: an internal error (exit 4) when it came from an engine."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"step {index + 1}: {message}")
        self.index = index


def replay(s: System, choice: int, trace: list[Action], expect: tuple | None = None
           ) -> list[tuple[State, Action, State, list[tuple]]]:
    """Re-execute ``trace`` from the initial state of implementation ``choice``."""
    inits = initial_states(s)
    if not 0 <= choice < len(inits):
        raise ReplayError(0, f"no implementation class {choice}")
    st = inits[choice]
    rows = []
    for i, action in enumerate(trace):
        if action[0] != "l" and action not in actions(s, st, evictions=True):
            raise ReplayError(i, f"action {action!r} is not enabled in the state reached")
        if action[0] == "l" and not (0 <= action[1] < s.vcpus and 0 <= action[2] < len(s.addresses)):
            raise ReplayError(i, f"lookup {action!r} names no vCPU/address of this model")
        nxt, events = step(s, st, action)
        rows.append((st, action, nxt, events))
        st = nxt
    if expect is not None:
        if not rows or expect not in rows[-1][3]:
            raise ReplayError(len(trace) - 1, f"the last step does not show {expect!r}")
    return rows
