"""The values the transition relation works on: states, vCPU states, actions and events.

All are ``NamedTuple``s: hashable and ordered like the plain tuples they replace, so the visited
set, symmetry (sorting vCPU states) and traces behave as before, and every field has a name.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Kind(StrEnum):
    """What acts. The values are the one-letter codes traces and ``assert_violation(steps=...)``
    use: ``u`` the updater's next instruction, ``p`` a store becomes visible, ``t`` a pending
    broadcast TLBI acts on a vCPU, ``w`` a walk starts, ``s`` a walk reads its next level, ``e`` an
    eviction, ``l`` a TLB lookup."""

    UPDATE = "u"
    PROPAGATE = "p"
    TLBI = "t"
    WALK = "w"
    STEP = "s"
    EVICT = "e"
    LOOKUP = "l"

    # hash as the code does (Enum's own hash is a Python call on every dict lookup of an action)
    __hash__ = str.__hash__


# how many arguments each kind of action has, in its code (``w0.1.2``) and in a trace file
ARITY: dict[Kind, int] = {Kind.UPDATE: 0, Kind.PROPAGATE: 1, Kind.TLBI: 2, Kind.WALK: 3,
                          Kind.STEP: 1, Kind.EVICT: 3, Kind.LOOKUP: 2}


class Action(NamedTuple):
    """One transition label. ``vcpu`` is -1 for the updater and the memory system.

    * ``u``: no arguments; ``p``: ``arg`` = index of the written entry (``System.wlocs``);
    * ``t``: ``arg`` = the TLBI's pc; ``w``: ``arg`` = address index, ``arg2`` = table index;
    * ``s``: none beyond the vCPU; ``e``: ``arg`` = 0 TLB or 1 walk cache, ``arg2`` = bit;
    * ``l``: ``arg`` = address index.
    """

    kind: Kind
    vcpu: int = -1
    arg: int = -1
    arg2: int = -1

    @property
    def args(self) -> tuple[int, ...]:
        """The arguments a code writes: ``p`` has its entry, the others their vCPU first."""
        if self.kind is Kind.PROPAGATE:
            return (self.arg,)
        return (self.vcpu, self.arg, self.arg2)[:ARITY[self.kind]]

    @classmethod
    def of(cls, kind: Kind | str, *args: int) -> Action:
        """From a kind and the arguments its code writes (the inverse of ``args``)."""
        k = Kind(kind)
        if len(args) != ARITY[k]:
            raise ValueError(f"action {k.value!r} takes {ARITY[k]} argument(s), not {len(args)}")
        if k is Kind.PROPAGATE:
            return cls(k, -1, args[0])
        return cls(k, *args)


UPDATE = Action(Kind.UPDATE)


class Vcpu(NamedTuple):
    """One vCPU: bit sets over ``System.leaf_entries`` (``tlb``) and ``System.walk_entries``
    (``wc``), the in-flight walk (0, or 1 + address * tables + table), and the bit set of pending
    broadcast TLBIs (by pc) that already acted on this PE."""

    tlb: int
    wc: int
    walk: int
    applied: int


IDLE = Vcpu(0, 0, 0, 0)


class State(NamedTuple):
    """``choice`` indexes ``System.choices``; ``pc`` counts executed instructions; ``vis[i]`` is how
    many stores to ``System.wlocs[i]`` walkers can see (spec §5.2)."""

    choice: int
    pc: int
    vis: tuple[int, ...]
    vcpus: tuple[Vcpu, ...]


class Event(NamedTuple):
    """A property shown by a step: the vCPU and address index (-1 for the updater) and the cause,
    a key of ``arch.rules.CAUSES`` or ``bbm:<pc>:<k>`` for a bbm-required finding."""

    prop: str
    vcpu: int
    address: int
    cause: str


def bits(x: int) -> list[int]:
    """The positions of the set bits of ``x``, lowest first."""
    out = []
    i = 0
    while x:
        if x & 1:
            out.append(i)
        x >>= 1
        i += 1
    return out
