"""The engine contract: what every engine (explicit search, BMC) gives ``verify.assemble``.

An engine explores one compiled system and answers, per (property, implementation class), the
shortest occurrence it found, at which pcs it saw the property, and whether the answer is
complete. ``assemble`` turns that into a :class:`~bbmcheck.results.Result`; it never looks inside
an engine.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from ..system.build import System
from ..system.state import Action, Event, State


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: a search and the building around it make millions of
    acyclic objects (states, commands) that every collection would scan for nothing (a third of a
    per-address search's time). Cycles made meanwhile are collected once it is back on."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


Key = object  # an engine's name for a reached state: a canonical State (explicit), a path key (BMC)


@dataclass
class Occurrence:
    """Where a property was first seen for one choice class, and at which pcs at all."""

    depth: int
    key: Key  # the state the occurrence's action starts from (the engine's key)
    action: Action
    event: Event
    pcs: set[int] = field(default_factory=set)  # pcs of states where a vCPU or lookup showed it
    instr_pcs: set[int] = field(default_factory=set)  # instructions whose execution showed it
    causes: set[str] = field(default_factory=set)
    persisting: tuple[int, Key, Action, Event] | None = None  # shortest occurrence at pc == end


@dataclass
class Explored:
    """What the explicit engine's explorations (one search, or the per-address ones merged) share:
    the :class:`Exploration` fields besides the system and the traces."""

    occurrences: dict[tuple[str, int], Occurrence]
    complete: bool
    stop_reason: str
    states: int
    transitions: int
    seconds: float
    max_depth: int
    done_reached: set[int]  # choice classes in which the updater finished


class Exploration(Protocol):
    """What an engine hands to the assembly. ``trace_to(key)`` gives the actions from the initial
    state of the occurrence's class to ``key``; ``assemble`` replays them before printing."""

    @property
    def system(self) -> System: ...
    @property
    def occurrences(self) -> dict[tuple[str, int], Occurrence]: ...
    @property
    def complete(self) -> bool: ...
    @property
    def stop_reason(self) -> str: ...
    @property
    def states(self) -> int: ...
    @property
    def transitions(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def max_depth(self) -> int: ...
    @property
    def queries(self) -> int: ...
    @property
    def done_reached(self) -> set[int]: ...
    @property
    def engine(self) -> str: ...

    def trace_to(self, key: Key) -> list[Action]: ...


__all__ = ["Exploration", "Key", "Occurrence", "Explored", "State"]
