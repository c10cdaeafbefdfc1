"""FEAT_BBM levels and the IMPLEMENTATION DEFINED / [INF] choices the checker explores.

Every open choice of spec §3.3 and §9.1 is an enum field of :class:`Choices`, never a bare bool.
By default the checker explores every permitted value and each finding records which values it
needs, so a report can say "only on implementations that fault on nT=1 (RMRRPW)".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any


class FeatBBM(Enum):
    """ID_AA64MMFR2_EL1.BBM support level (spec §3.1, §3.4)."""

    L0 = "L0"
    L1 = "L1"
    L2 = "L2"
    L2_NOABORT = "L2-noabort"  # Linux BBML2_NOABORT (reportedly FEAT_BBML3): L2 minus conflict aborts

    @property
    def rank(self) -> int:
        return {"L0": 0, "L1": 1, "L2": 2, "L2-noabort": 2}[self.value]

    @property
    def may_abort_on_size_change(self) -> bool:
        # RFVQCK (L0), RFCPSG / I_HYQMB (L1, L2); Linux's definition of BBML2_NOABORT removes them.
        return self is not FeatBBM.L2_NOABORT

    @classmethod
    def parse(cls, text: str) -> FeatBBM:
        for level in cls:
            if level.value.lower() == text.strip().lower():
                return level
        raise ValueError(text)


class NtFault(Enum):
    """RMRRPW: 'It is IMPLEMENTATION DEFINED whether a Translation fault is generated' on nT=1 use.

    A per-access mix of the two adds no behaviour: a faulting walk changes no state, so every
    mixed run is an ``never`` run with some walks replaced by faults that ``always`` also shows.
    """

    ALWAYS = "always"
    NEVER = "never"


class NtCache(Enum):
    """Whether an nT=1 block used for translation is cached as a non-conflicting shadow entry.

    SMMU §3.21.1 and an older Arm ARM text say nT entries are 'not cached in a way that can cause a
    TLB conflict'; one permitted reading is not caching at all (spec §3.3 [INF], §8.2 item 3).
    """

    NONE = "none"
    SHADOW = "shadow"


class L2Nt(Enum):
    """How a level-2 PE treats nT=1 (spec §3.3 [INF]): as level 1 does, or ignoring it (SMMU-like)."""

    HONOURS = "honours"
    IGNORES = "ignores"


class Rmrrpw(Enum):
    """Reading of RMRRPW's second sentence ('If a Translation fault is not generated, a TLB conflict
    abort can be generated'). Default ``overlap``: only while an overlapping entry is cached
    (spec §3.3 [INF]); ``literal``: any non-faulting use of an nT=1 entry may abort."""

    OVERLAP = "overlap"
    LITERAL = "literal"


CHOICE_RULES: dict[str, str] = {
    "nt_fault": "RMRRPW",
    "nt_cache": "SMMU §3.21.1, I_HYQMB",
    "l2_nt": "spec §3.3 [INF], SMMU §3.21.1.3",
}

CHOICE_MEANING: dict[tuple[str, str], str] = {
    ("nt_fault", "always"): "take a Translation fault on nT=1 blocks",
    ("nt_fault", "never"): "translate through nT=1 blocks",
    ("nt_cache", "none"): "never cache nT=1 blocks",
    ("nt_cache", "shadow"): "cache nT=1 blocks as non-conflicting entries",
    ("l2_nt", "honours"): "honour nT at level 2 as level 1 does",
    ("l2_nt", "ignores"): "ignore nT at level 2",
}


@dataclass(frozen=True)
class Choices:
    """One implementation: a value for every IMPLEMENTATION DEFINED choice that matters.

    ``None`` means "not applicable here" (for example nT choices at L0, or when the sequence never
    stores an nT=1 descriptor).
    """

    nt_fault: NtFault | None = None
    nt_cache: NtCache | None = None
    l2_nt: L2Nt | None = None

    def items(self) -> list[tuple[str, str]]:
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out.append((f.name, value.value))
        return out

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.items()) or "(no choices)"

    def normalized(self) -> Choices:
        """The behaviour class: fields that cannot matter given the others are dropped.

        A PE that ignores nT (level 2) never faults on or shadows nT entries; one that always faults
        never caches the faulting entry (IWZCBG: faulting entries are not cached).
        """
        if self.l2_nt is L2Nt.IGNORES:
            return Choices(l2_nt=L2Nt.IGNORES)
        if self.nt_fault is NtFault.ALWAYS:
            return Choices(nt_fault=NtFault.ALWAYS, l2_nt=self.l2_nt)
        return self


@dataclass(frozen=True)
class ChoiceSpace:
    """The set of implementations to explore: allowed values per field."""

    nt_fault: tuple[NtFault, ...] = (NtFault.ALWAYS, NtFault.NEVER)
    nt_cache: tuple[NtCache, ...] = (NtCache.NONE, NtCache.SHADOW)
    l2_nt: tuple[L2Nt, ...] = (L2Nt.HONOURS, L2Nt.IGNORES)

    def universe(self, level: FeatBBM, uses_nt: bool) -> list[Choices]:
        """Every full choice vector that applies at ``level`` for a sequence (with/without nT)."""
        if not uses_nt or level is FeatBBM.L0:
            return [Choices()]
        l2 = self.l2_nt if level.rank >= 2 else (None,)
        return sorted(
            (
                Choices(nt_fault=f, nt_cache=c, l2_nt=l2v)
                for f, c, l2v in itertools.product(self.nt_fault, self.nt_cache, l2)
            ),
            key=Choices.label,
        )


@dataclass(frozen=True)
class Config:
    """Everything about the hardware that a run fixes: level, reading of RMRRPW, choices to explore."""

    level: FeatBBM
    rmrrpw: Rmrrpw = Rmrrpw.OVERLAP
    space: ChoiceSpace = ChoiceSpace()


def dnf(members: list[Choices], universe: list[Choices]) -> tuple[str, ...]:
    """Describe a set of implementations as a short OR of ANDs of choice values.

    Returns () when the set is every implementation in the universe."""
    target = set(members)
    if target >= set(universe):
        return ()
    names = [f.name for f in fields(Choices)]
    domains = {n: sorted({getattr(c, n) for c in universe if getattr(c, n) is not None}, key=lambda e: e.value)
               for n in names}
    live = [n for n in names if domains[n]]
    cubes: list[tuple[int, list[tuple[str, Any]], set[Choices]]] = []
    for combo in itertools.product(*[[None, *domains[n]] for n in live]):
        fixed = [(n, v) for n, v in zip(live, combo, strict=True) if v is not None]
        covered = {c for c in universe if all(getattr(c, n) == v for n, v in fixed)}
        if covered and covered <= target:
            cubes.append((len(fixed), fixed, covered))
    cubes.sort(key=lambda c: (c[0], [(names.index(n), v.value) for n, v in c[1]]))
    chosen: list[str] = []
    left = set(target)
    for _, terms, cover in cubes:
        if cover & left:
            chosen.append(" and ".join(f"{n}={v.value}" for n, v in terms))
            left -= cover
        if not left:
            break
    return tuple(chosen)
