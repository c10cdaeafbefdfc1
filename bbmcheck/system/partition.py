"""Representative addresses: a partition of the input-address space into regions that every
version of the tree treats alike, and one address per region.

The argument (ARCHITECTURE.md, "Representative addresses"). What the model does with an IPA ``a``
depends on ``a`` only through the entries a walk of ``a`` reads: at each table that covers ``a``,
the entry ``index_at(level, a)``. Walks read those entries, TLB and walk-cache entries are made from
them and cover whole entry ranges, and a TLBI removes an entry by comparing the entry's range with
the TLBI's own address, never with ``a``. So two IPAs that read the same entries in every table of
every version are indistinguishable to every action and every property.

Within a set of tables placed at one base (the tables some entry links, in any version), the
entries split into

* *significant* entries: valid in some version of some of those tables. Each is a region of its
  own. If it links a next-level table in some version, the region is refined by the children's
  partition (recursively; the children cover exactly this entry's range); otherwise its base
  stands for the whole entry;
* entries invalid in every version of every one of those tables. They all read "invalid" at this
  table, after the same entries above it, and no table lies below them: one region, whose
  representative is the lowest such entry's base.

Every IPA the root maps lies in exactly one region, so the representatives are complete by
construction; ``region_of`` maps any IPA to its region's representative, which is how a listed
``addresses`` set is checked for regions it leaves out. Each TLBI address is added as well (it is a
point of its region; redundant representatives are sound).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..arch.descriptors import ENTRIES_PER_TABLE, Descriptor, index_at, size_at
from ..sequences.schema import Loc


@dataclass(frozen=True)
class Region:
    """One region of the partition: its representative IPA and why it is a region of its own."""

    rep: int
    why: str


class Partition:
    def __init__(self, root: str, levels: Mapping[str, int], bases: Mapping[str, int],
                 descs: Mapping[Loc, list[Descriptor]]) -> None:
        self.root = root
        self.levels = levels
        self.bases = bases
        self._slots: dict[str, dict[int, list[Descriptor]]] = {}
        for loc, hist in descs.items():
            if any(d.valid for d in hist):
                self._slots.setdefault(loc.table, {})[loc.index] = hist
        self.regions: list[Region] = []
        self._walk((root,), bases[root], levels[root])

    def _children(self, group: tuple[str, ...], index: int) -> tuple[str, ...]:
        kids = {d.next_table for t in group for d in self._slots.get(t, {}).get(index, ()) if d.kind == "table"}
        return tuple(sorted(kids))

    def _significant(self, group: tuple[str, ...]) -> list[int]:
        return sorted({i for t in group for i in self._slots.get(t, {})})

    def _walk(self, group: tuple[str, ...], base: int, level: int) -> None:
        size = size_at(level)
        names = "/".join(group)
        sig = self._significant(group)
        rest = _first_free(sig)
        for i in sig:
            kids = self._children(group, i)
            if kids:
                self._walk(kids, base + i * size, level + 1)
            else:
                self.regions.append(Region(base + i * size, f"{names}[{i}]"))
        if rest is not None:
            self.regions.append(Region(base + rest * size, f"the entries of {names} invalid in every version"))

    def region_of(self, ia: int) -> int:
        """The representative of the region holding ``ia`` (which the root maps)."""
        group: tuple[str, ...] = (self.root,)
        base, level = self.bases[self.root], self.levels[self.root]
        while True:
            size = size_at(level)
            sig = self._significant(group)
            i = index_at(level, ia)
            if i not in sig:
                return base + (_first_free(sig) or 0) * size
            kids = self._children(group, i)
            if not kids:
                return base + i * size
            group, base, level = kids, base + i * size, level + 1

    def representatives(self, extra: Iterable[int] = ()) -> tuple[int, ...]:
        return tuple(sorted({r.rep for r in self.regions} | set(extra)))

    def uncovered(self, listed: Iterable[int]) -> list[Region]:
        """Regions that no address of ``listed`` lies in."""
        have = {self.region_of(a) for a in listed}
        return [r for r in self.regions if r.rep not in have]


def _first_free(sig: list[int]) -> int | None:
    """The lowest entry index not in ``sig``, or None if every entry is significant."""
    taken = set(sig)
    return next((i for i in range(ENTRIES_PER_TABLE) if i not in taken), None)
