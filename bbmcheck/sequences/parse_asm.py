"""The updater's instructions: AArch64-like lines, so a kernel developer reads them as assembly.

    str   T1[1], new_nt          // plain single-copy store (WRITE_ONCE)
    stlr  T1[1], block oa=0x80000000 attr=normal perm=rw   // release store (smp_store_release)
    dsb   ishst
    tlbi  vmalls12e1is
    tlbi  ipas2e1is, 0x40200000, ttl=3
    isb
    free  T2                     // the page goes back to the allocator

A store's descriptor is a name from ``[descriptors]`` or written inline.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..arch.descriptors import DescriptorSyntaxError, parse_descriptor
from ..arch.tlbi import TLBI_OPS
from ..errors import InputError, did_you_mean
from .schema import DSB_OPTIONS, MNEMONICS, Instr, Loc

ENTRY_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\s*[0-9A-Za-z_]+\s*)\]$")
ENTRY_START_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\[[^\]]*\]")


# The model is stage 2 with a 4 KiB granule: leaves are at levels 1..3, so a level-0 hint matches none.
TTL0_WARNING = ("ttl=0 names a level-0 leaf, but with a 4 KiB granule stage 2 has no leaf at level 0: this TLBI "
                "need invalidate nothing (RSQXYZ); give the leaf's level 1..3, or no hint")


NUMBER_RE = re.compile(r"[+-]?(0[xX][0-9a-fA-F](_?[0-9a-fA-F])*|0[bB][01](_?[01])*|0[oO][0-7](_?[0-7])*"
                       r"|[0-9](_?[0-9])*)")


def parse_number(word: str) -> int:
    """An integer written in ASCII (decimal, 0x, 0b or 0o; '_' between digits): unlike int(), no
    other script's digits and no surrounding space. Raises ValueError."""
    if not NUMBER_RE.fullmatch(word):
        raise ValueError(word)
    return int(word.replace("_", ""), 0)


def strip_comment(text: str) -> str:
    cut = text.find("//")
    return text if cut < 0 else text[:cut]


def parse_line(
    text: str, *, file: str, line: int, col: int, descriptors: dict[str, object],
    warn: Callable[[InputError], None] | None = None,
) -> Instr | None:
    """Parse one program line (``col`` is the 1-based column of ``text[0]`` in the file). Valid but
    useless operands are passed to ``warn`` as located warnings (never raised)."""
    body = strip_comment(text)
    stripped = body.strip()
    if not stripped:
        return None
    start = body.index(stripped[0])

    def err(offset: int, message: str) -> InputError:
        return InputError(file, line, col + offset, message)

    odd = next((k for k, c in enumerate(body) if not (c.isascii() and (c.isprintable() or c in " \t"))), None)
    if odd is not None:
        raise err(odd, f"character {body[odd]!r} in an instruction: instructions are written in ASCII "
                       "(a '//' comment may hold anything)")

    mnemonic = stripped.split(None, 1)[0]
    rest = body[start + len(mnemonic):]
    rest_off = start + len(mnemonic)
    op = mnemonic.lower()
    if op not in MNEMONICS:
        hint = did_you_mean(op, MNEMONICS)
        if op in ("dmb", "ldr", "cas", "stp", "ldxr", "stxr"):
            hint = " (bbmcheck models str/stlr stores and dsb/isb barriers only)"
        raise err(start, f"unknown instruction '{mnemonic}'{hint}")
    operands = _split_operands(rest, rest_off)
    here = (line, col + start)

    if op in ("str", "stlr"):
        m = ENTRY_START_RE.match(operands[0][0]) if len(operands) == 1 else None
        if m and operands[0][0][m.end():].strip():  # "str T1[1] invalid": the ',' is missing
            word = operands[0][0][m.end():].split()[0]
            at = operands[0][1] + operands[0][0].index(word, m.end())
            raise err(at, f"expected ',' before '{word}': {op} <table>[<index>], <descriptor>")
        if len(operands) < 2:
            raise err(start, f"'{op}' needs two operands: {op} <table>[<index>], <descriptor>")
        (entry, epos), *desc_parts = operands
        loc = _parse_entry(entry, epos, err)
        dtext = ", ".join(p for p, _ in desc_parts)
        dpos = desc_parts[0][1]
        if dtext in descriptors:
            desc = descriptors[dtext]
        else:
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", dtext) and dtext not in (
                "invalid", "table", "block", "page"
            ):
                raise err(dpos, f"unknown descriptor name '{dtext}'" + did_you_mean(dtext, descriptors))
            try:
                desc = parse_descriptor(dtext)
            except DescriptorSyntaxError as e:
                raise err(dpos + e.offset, e.message) from None
        return Instr(op, *here, text=stripped, loc=loc, desc=desc)  # type: ignore[arg-type]

    if op == "dsb":
        if len(operands) != 1:
            raise err(start, "'dsb' needs one option, e.g. dsb ish")
        opt, opos = operands[0]
        if opt.lower() not in DSB_OPTIONS:
            raise err(opos, f"unknown DSB option '{opt}'" + did_you_mean(opt.lower(), DSB_OPTIONS))
        return Instr("dsb", *here, text=stripped, option=opt.lower())

    if op == "isb":
        if operands and operands[0][0].lower() != "sy" or len(operands) > 1:
            raise err(operands[0][1], "'isb' takes no operand other than 'sy'")
        return Instr("isb", *here, text=stripped)

    if op == "free":
        if len(operands) != 1 or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", operands[0][0]):
            raise err(start, "'free' needs one table name: free <table>")
        return Instr("free", *here, text=stripped, table=operands[0][0])

    # tlbi <op>[, <ipa>][, ttl=<level>]
    if not operands:
        raise err(start, "'tlbi' needs an operation, e.g. tlbi vmalls12e1is")
    name, npos = operands[0]
    tlbi = TLBI_OPS.get(name.lower())
    first, *more = name.split()
    if tlbi is None and first.lower() in TLBI_OPS:  # "tlbi ipas2e1is 0x40000000": the ',' is missing
        raise err(npos + name.index(more[0], len(first)), f"expected ',' before '{more[0]}': tlbi <operation>, <ipa>")
    if tlbi is None:
        raise err(npos, f"unknown or unmodelled TLBI operation '{name}'" + did_you_mean(name.lower(), TLBI_OPS))
    ipa: int | None = None
    ttl: int | None = None
    for word, wpos in operands[1:]:
        if word.lower().startswith("ttl="):
            if not tlbi.by_ipa:
                raise err(wpos, f"'tlbi {tlbi.name}' takes no TTL hint")
            value = word[4:]
            if value not in ("0", "1", "2", "3"):
                raise err(wpos + 4, f"TTL level hint must be 0..3, got '{value}'")
            if ttl is not None:
                raise err(wpos, f"a second TTL hint '{word}': this TLBI already has ttl={ttl} (give one)")
            ttl = int(value)
            if ttl == 0 and warn is not None:
                warn(err(wpos, TTL0_WARNING))
            continue
        if ipa is not None:
            raise err(wpos, f"unexpected operand '{word}'")
        try:
            ipa = parse_number(word)
        except ValueError:
            raise err(wpos, f"'{word}' is not an intermediate physical address") from None
        if not 0 <= ipa < 1 << 48:
            raise err(wpos, f"IPA '{word}' is not in 0..2^48-1 (the model's IPAs are 48-bit)")
    if tlbi.by_ipa and ipa is None:
        raise err(npos, f"'tlbi {tlbi.name}' needs an IPA operand, e.g. tlbi {tlbi.name}, 0x40000000")
    if not tlbi.by_ipa and ipa is not None:
        raise err(operands[1][1], f"'tlbi {tlbi.name}' takes no address operand")
    if ipa is not None and ipa % 4096:
        raise err(operands[1][1], f"IPA {ipa:#x} is not 4 KiB-aligned (D8.17.5: TLBI by IPA takes IPA[51:12])")
    return Instr("tlbi", *here, text=stripped, option=tlbi.name, ipa=ipa, ttl=ttl)


def _split_operands(rest: str, offset: int) -> list[tuple[str, int]]:
    out = []
    pos = 0
    for part in rest.split(","):
        stripped = part.strip()
        if stripped:
            out.append((stripped, offset + pos + part.index(stripped)))
        pos += len(part) + 1
    return out


def _parse_entry(entry: str, pos: int, err) -> Loc:  # type: ignore[no-untyped-def]
    m = ENTRY_RE.match(entry)
    if not m:
        raise err(pos, f"'{entry}' is not a table entry; write <table>[<index>], e.g. T1[1]")
    try:
        index = parse_number(m.group(2).strip())
    except ValueError:
        raise err(pos + m.start(2), f"entry index '{m.group(2).strip()}' is not a number") from None
    if not 0 <= index < 512:
        raise err(pos + m.start(2), f"entry index {index} is out of range (a table has entries 0..511)")
    return Loc(m.group(1), index)
