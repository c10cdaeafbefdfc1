"""VMSAv8-64 stage-2 descriptors (4 KiB granule) and their text form in model files.

A descriptor is a frozen value; ``Descriptor.parse`` reads the model-file syntax::

    invalid
    table T2
    block oa=0x80000000 attr=normal perm=rw [af=0] [nT]
    page  oa=0x80200000 attr=normal perm=ro

Levels and sizes follow the 4 KiB granule: level 0 entries map 512 GiB, level 1 1 GiB,
level 2 2 MiB, level 3 4 KiB. Blocks exist at levels 1 and 2, pages at level 3, tables at
levels 0-2 (Arm ARM D8.3). nT (bit 16) is meaningful only in Block descriptors (IPJZBK, RDFJNG).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import did_you_mean

GRANULE_SHIFT = 12
ENTRIES_PER_TABLE = 512
LEVEL_SHIFT = {0: 39, 1: 30, 2: 21, 3: 12}
OA_BITS = 48  # without FEAT_LPA2, as the model's IPAs

ATTRS = ("normal", "normal-wt", "normal-nc", "device-nGnRnE", "device-nGnRE", "device-GRE")
PERM_RE = re.compile(r"^(none|r?w?x?)$")


def size_at(level: int) -> int:
    """Bytes of input address space one entry at ``level`` maps."""
    return 1 << LEVEL_SHIFT[level]


def index_at(level: int, ia: int) -> int:
    return (ia >> LEVEL_SHIFT[level]) & (ENTRIES_PER_TABLE - 1)


def human_size(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"


@dataclass(frozen=True)
class Descriptor:
    """One translation-table entry. ``kind`` is 'invalid', 'table', 'block' or 'page'."""

    kind: str
    oa: int = 0
    next_table: str = ""
    attr: str = "normal"
    perm: str = "rw"
    af: int = 1
    nt: bool = False

    @property
    def valid(self) -> bool:
        return self.kind != "invalid"

    @property
    def is_leaf(self) -> bool:
        return self.kind in ("block", "page")

    def without_nt(self) -> Descriptor:
        return replace(self, nt=False)

    def text(self) -> str:
        if self.kind == "invalid":
            return "invalid"
        if self.kind == "table":
            return f"table {self.next_table}"
        extra = "" if self.af == 1 else " af=0"
        nt = " nT" if self.nt else ""
        return f"{self.kind} oa={self.oa:#x} attr={self.attr} perm={self.perm}{extra}{nt}"


class DescriptorSyntaxError(Exception):
    """Raised with a column offset (0-based, within the parsed text) and a message."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


def _tokens(text: str) -> list[tuple[str, int]]:
    return [(m.group(0), m.start()) for m in re.finditer(r"\S+", text)]


def parse_int(word: str) -> int:
    return int(word.replace("_", ""), 0)


def parse_descriptor(text: str) -> Descriptor:
    """Parse the model-file descriptor syntax; raises DescriptorSyntaxError with an offset."""
    toks = _tokens(text)
    if not toks:
        raise DescriptorSyntaxError(0, "empty descriptor (expected invalid, table, block or page)")
    kind, kpos = toks[0]
    kind = kind.lower()
    if kind == "invalid":
        if len(toks) > 1:
            raise DescriptorSyntaxError(toks[1][1], f"unexpected '{toks[1][0]}' after 'invalid'")
        return Descriptor("invalid")
    if kind == "table":
        if len(toks) != 2:
            at = toks[2][1] if len(toks) > 2 else kpos + len(toks[0][0])
            raise DescriptorSyntaxError(at, "a table descriptor is 'table <table name>'")
        return Descriptor("table", next_table=toks[1][0])
    if kind not in ("block", "page"):
        raise DescriptorSyntaxError(
            kpos,
            f"unknown descriptor kind '{toks[0][0]}'"
            + did_you_mean(kind, ("invalid", "table", "block", "page")),
        )
    fields: dict[str, object] = {}
    for word, pos in toks[1:]:
        if word in ("nT", "nt", "NT"):
            fields["nt"] = True
            continue
        if "=" not in word:
            raise DescriptorSyntaxError(pos, f"expected key=value or nT, got '{word}'")
        key, _, value = word.partition("=")
        key = key.lower()
        if key in fields:
            raise DescriptorSyntaxError(pos, f"'{key}' given twice")
        if key == "oa":
            try:
                oa = parse_int(value)
            except ValueError:
                raise DescriptorSyntaxError(pos + 3, f"output address '{value}' is not a number") from None
            if not 0 <= oa < 1 << OA_BITS:
                raise DescriptorSyntaxError(pos + 3, f"output address '{value}' is not in 0..2^{OA_BITS}-1 "
                                            f"(a 4 KiB-granule descriptor holds OA[{OA_BITS - 1}:12])")
            fields["oa"] = oa
        elif key == "attr":
            match = [a for a in ATTRS if a.lower() == value.lower()]
            if not match:
                raise DescriptorSyntaxError(
                    pos + 5, f"unknown memory attribute '{value}'" + did_you_mean(value, ATTRS)
                )
            fields["attr"] = match[0]
        elif key == "perm":
            if not PERM_RE.match(value.lower()) or value == "":
                raise DescriptorSyntaxError(pos + 5, f"permission '{value}' is not none or a subset of rwx")
            fields["perm"] = value.lower()
        elif key == "af":
            if value not in ("0", "1"):
                raise DescriptorSyntaxError(pos + 3, f"af must be 0 or 1, got '{value}'")
            fields["af"] = int(value)
        else:
            raise DescriptorSyntaxError(
                pos, f"unknown descriptor field '{key}'" + did_you_mean(key, ("oa", "attr", "perm", "af", "nT"))
            )
    if "oa" not in fields:
        raise DescriptorSyntaxError(kpos, f"a {kind} descriptor needs oa=<output address>")
    return Descriptor(kind, **fields)  # type: ignore[arg-type]


def check_at_level(desc: Descriptor, level: int) -> tuple[str, str] | None:
    """Why ``desc`` cannot stand at ``level`` (4 KiB granule, D8.3), or None if it can.

    The answer is (field, message): the field at fault ("oa", or "" for the descriptor's kind), so
    an error can point at the output address of a misaligned block rather than at the word 'block'.
    """
    if desc.kind == "block" and level not in (1, 2):
        return "", f"a block descriptor cannot stand at level {level} (4 KiB granule: levels 1 and 2 only)"
    if desc.kind == "page" and level != 3:
        return "", f"a page descriptor can only stand at level 3, not level {level}"
    if desc.kind == "table" and level == 3:
        return "", "a table descriptor cannot stand at level 3 (level 3 holds pages)"
    if desc.is_leaf and desc.oa % size_at(level):
        return "oa", (
            f"output address {desc.oa:#x} is not aligned to the {human_size(size_at(level))} "
            f"a level-{level} {desc.kind} maps"
        )
    return None


def field_offset(text: str, field: str) -> int:
    """0-based offset of ``field=`` in descriptor text (0, the start, if not written there)."""
    if not field:
        return 0
    m = re.search(r"(?:^|\s)(" + re.escape(field) + r"=)", text, re.IGNORECASE)
    return m.start(1) if m else 0
