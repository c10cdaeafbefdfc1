"""Stretches of an address's program that repeat, for the layered search to pass over.

KVM remakes pages one at a time, each with the same flush (``tlbi ipas2e1is``, ``tlbi
vmalle1is``, DSBs). In the system of one page, every other page's block is the same few tracked
instructions at a later pc: the system from one block start to the next is the system from the
next to the one after, with every pc (and TLBI) moved on by the block's length ``L``.

A :class:`Period` ``(start, length, blocks)`` is such a stretch: for every pc ``q`` from ``start``
up to (not including) ``start + (blocks - 1) * length``, moving every pc by ``length``

* turns the updater command at ``q`` into the one at ``q + length`` (its guard, effects, jump and
  events), and the command of a TLBI issued at ``q`` into that of the TLBI at ``q + length``;
* leaves every other command's reading of the pc unchanged (``q`` and ``q + length`` are in the
  same pc sets), and the pending TLBIs the same up to the move (``q - t`` for each pending ``t``);

and no TLBI issued in the stretch is pending at a block start, and no jump crosses one. Then a
block's search is a function of the states at its start (``engines/layered.py`` argues the rest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any, NamedTuple

from .build import System
from .commands import (
    TRUE,
    Applied,
    Command,
    MarkApplied,
    PcIn,
    SetPc,
    atoms_in,
    commands_of,
    group_and_memory_atoms,
    observer_commands,
)
from .state import Action, Kind


class Period(NamedTuple):
    start: int
    length: int
    blocks: int  # the stretch ends at start + blocks * length

    @property
    def end(self) -> int:
        return self.start + self.blocks * self.length

    def block_starts(self) -> range:
        return range(self.start, self.end + 1, self.length)


MIN_KEPT = 48  # a system with fewer pcs the search visits is not worth the analysis
MAX_LENGTH = 32  # the longest block looked for
MIN_BLOCKS = 3  # a stretch of two blocks saves nothing


def periods(s: System) -> list[Period]:
    """The repeating stretches of ``s`` (an address's collapsed system), not overlapping, in pc order."""
    c = commands_of(s)
    inside = {q for a, b in s.jumps.items() for q in range(a + 1, b)}
    if s.end - len(inside) < MIN_KEPT:
        return []
    others = observer_commands(c, tlbis=False)
    atoms = group_and_memory_atoms(c) + [a for x in others for a in atoms_in(x)]
    if any(isinstance(a, (Applied, MarkApplied)) for a in atoms):
        return []  # something besides TLBIs and the updater tells TLBIs apart: no move is an isomorphism
    sets = sorted({a.pcs for a in atoms if isinstance(a, PcIn)}, key=sorted)
    member = [tuple(i for i, p in enumerate(sets) if q in p) for q in range(s.end + 1)]
    offsets = [tuple(sorted(q - t for t in s.pending[q])) for q in range(s.end + 1)]
    cut = inside  # the pcs a jump passes over: no block may start there
    rel = [_kept(s, u, q, _updater_relative) for q, u in enumerate(c.updater)]
    trel = {t: _kept(s, x, t, relative) for t, x in c.tlbi.items()}
    found: list[Period] = []
    taken: set[int] = set()
    # Moving every pc by ``length`` turns pc q's commands into those of q + length when both are
    # the same relative to their own pcs: the pc sets holding q, the distances to its pending TLBIs,
    # its updater command and its TLBI's command. Per pc all four as one small number.
    ids: dict[object, int] = {}
    key = [ids.setdefault((member[q], offsets[q], rel[q], q in trel, trel.get(q)), len(ids)) for q in range(s.end)]
    for length in range(1, MAX_LENGTH + 1):
        ok = [q + length < s.end and key[q] == key[q + length] for q in range(s.end + 1)]
        q = 0
        while q <= s.end:
            if not ok[q]:
                q += 1
                continue
            last = q
            while last + 1 <= s.end and ok[last + 1]:
                last += 1
            got = _placed(s, q, last, length, cut)
            if got is not None and not any(p in taken for p in range(got.start, got.end + 1)):
                found.append(got)
                taken.update(range(got.start, got.end + 1))
            q = last + 1
    return sorted(found)


def _placed(s: System, first: int, last: int, length: int, cut: set[int]) -> Period | None:
    """The longest stretch of blocks of ``length`` whose pcs ``q`` (all but the last block) lie in
    ``first .. last``, at the first phase whose block starts have no TLBI of the stretch pending
    and no jump across them."""
    best = None
    for start in range(first, min(first + length, last + 1)):
        blocks = (last - start + 1) // length + 1  # pcs start .. start + (blocks - 1) * length - 1 move
        while blocks >= MIN_BLOCKS and start + blocks * length > s.end:
            blocks -= 1
        if blocks < MIN_BLOCKS:
            continue
        p = Period(start, length, blocks)
        if all(b not in cut and not any(t >= start for t in s.pending[b]) for b in p.block_starts()):
            if best is None or p.blocks > best.blocks:
                best = p
    return best


def _kept(s: System, x: Command, base: int, how: Callable[[Command, int], Any]) -> Any:
    """``how(x, base)``, kept in the systems' shared dict beside ``x`` (commands.py interns the updater
    and TLBI commands there, so alike addresses compute it once)."""
    got = s._shared.get(("rel", id(x)))
    if got is None or got[0] is not x or got[1] != base or got[2] is not how:
        got = s._shared[("rel", id(x))] = (x, base, how, how(x, base))  # holding ``x`` keeps its id its own
    return got[3]


def _updater_relative(u: Command, q: int) -> Any:
    """``relative(u, q)`` for the updater command at ``q``, shortened where it is on its own pc and
    moves to the next (as almost all are): the same value for the same commands, a distinct one
    otherwise (the leading tag tells the forms apart)."""
    if u.when == PcIn(frozenset((q,))) and u.local == TRUE and u.effects[:1] == (SetPc(q + 1),):
        if len(u.effects) == 1 and not u.events:
            return ("next", relative(u.action, q), u.address)
        return ("next+", relative(u.action, q), relative(u.effects[1:], q), relative(u.events, q), u.address)
    return ("any", relative(u, q))


_PLAIN: dict[type, bool] = {}  # types whose values hold no pc (returned as they are)


def relative(x: Any, base: int) -> Any:
    """``x`` as a hashable value with every pc in it (pcs of guards and jumps, TLBIs named by their
    pc) written as its distance from ``base``: two commands are moves of each other by ``L`` iff
    their values relative to pcs ``L`` apart are equal."""
    t = type(x)
    if t is SetPc:
        return ("pc", x.pc - base)
    if t is PcIn:
        return ("in", frozenset(p - base for p in x.pcs))
    if t is Applied or t is MarkApplied:
        return (t.__name__, x.tlbi - base)
    if t is Action:
        return (x.kind, x.vcpu, x.arg - base if x.kind is Kind.TLBI else x.arg, x.arg2)
    if t is tuple:
        return tuple(relative(v, base) for v in x)
    plain = _PLAIN.get(t)
    if plain is None:
        plain = _PLAIN[t] = not (is_dataclass(t) or (issubclass(t, tuple) and hasattr(t, "_fields")))
    if plain:
        return x
    if issubclass(t, tuple):
        return (t.__name__, *(relative(v, base) for v in x))
    return (t.__name__, *(relative(getattr(x, f.name), base) for f in _fields(t)))


_FIELDS: dict[type, tuple[Any, ...]] = {}


def _fields(t: type) -> tuple[Any, ...]:
    got = _FIELDS.get(t)
    if got is None:
        got = _FIELDS[t] = tuple(f for f in fields(t) if f.init and f.name not in ("case", "what", "row"))
    return got


def shift_action(a: Action, by: int) -> Action:
    """An action of one block as the same action a block ``by`` pcs later."""
    return a._replace(arg=a.arg + by) if a.kind is Kind.TLBI else a
