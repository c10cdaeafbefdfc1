"""The loaded form of a model file: tables before the update, the updater's program, observers, claims.

These frozen values are what the TOML loader produces and what a test may build in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..arch.config import FeatBBM
from ..arch.descriptors import Descriptor

CLAIM_VALUES = ("holds", "violated", "any")
EXPECT_VALUES = ("claims-hold", "claims-refuted")
MNEMONICS = ("str", "stlr", "dsb", "isb", "tlbi", "free")
DSB_OPTIONS = ("sy", "st", "ld", "ish", "ishst", "ishld", "nsh", "nshst", "nshld", "osh", "oshst", "oshld")


@dataclass(frozen=True, order=True)
class Loc:
    """A descriptor's place: entry ``index`` of table ``table``."""

    table: str
    index: int

    def text(self) -> str:
        return f"{self.table}[{self.index}]"


@dataclass(frozen=True)
class Instr:
    """One updater instruction, with where it was written."""

    op: str  # one of MNEMONICS
    line: int
    col: int
    text: str
    loc: Loc | None = None
    desc: Descriptor | None = None
    option: str = ""  # dsb option, or the TLBI operation name
    ipa: int | None = None
    ttl: int | None = None
    table: str = ""
    file: str = ""  # set when the line is in another file than the model (extracted code's context)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"

    @property
    def is_store(self) -> bool:
        return self.op in ("str", "stlr")


@dataclass(frozen=True)
class TableDecl:
    name: str
    level: int
    root: bool
    entries: tuple[tuple[int, Descriptor], ...]
    line: int = 1
    # (entry index, line, col) of each table link's linked name, where the file wrote it (for errors)
    links: tuple[tuple[int, int, int], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Sequence:
    """A whole model: everything ``build`` needs, plus names for reports."""

    name: str
    title: str
    source: str
    path: str
    level: FeatBBM
    tables: tuple[TableDecl, ...]
    program: tuple[Instr, ...]
    vcpus: int = 2
    addresses: tuple[int, ...] | None = None
    claims: dict[str, str] = field(default_factory=dict)
    claimed: bool = True  # the model has a [claims] table; without one it is checked with no claims
    sha256: str = ""
    expect: str = "claims-hold"  # what checking the claims should give: a known-bug model expects a refutation
    warnings: tuple[str, ...] = field(default=(), compare=False)  # "file:line:col: warning: ..." lines
    # how a model extracted from code is made again (code file and sha256, function, scenario and
    # sha256, primitive map, path label): a trace records it, and replay re-extracts (None: a model file)
    origin: dict[str, str | None] | None = field(default=None, compare=False)

    def table(self, name: str) -> TableDecl:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)
