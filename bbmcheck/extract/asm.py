"""One straight-line path through an AArch64 assembly function: ``NAME:`` up to ``ret``.

Stores (``str``/``stur``/``stlr``/``stlur Xt, [Xn]``) take their entry and descriptor from the
scenario's ``[entries]`` (keyed ``[xN]``) and ``[values]`` (keyed ``xT``); every other store form
(``stp``, ``swp*``, ``cas*``, exclusives, narrow stores) to a table entry is refused, since the model
has no such store; ``dsb``/``isb``/``tlbi`` pass through (a TLBI register operand is looked up in
``[addresses]``); ``bl f`` expands primitive ``f``; ``dmb`` is dropped with a warning (dropping an
ordering only adds interleavings); known instructions that store nothing are skipped; an unknown
mnemonic is an error under ``--strict`` and a located warning otherwise; branches are refused.
"""

from __future__ import annotations

import re

from .c_paths import Call, CPath
from .source import Source

BRANCHES = ("b", "br", "cbz", "cbnz", "tbz", "tbnz", "blr")
# instructions that store nothing and touch no page table: skipped without a word
NO_STORE = frozenset("""
mov movz movk movn mvn add adds sub subs adc sbc neg negs and ands orr orn eor eon bic bics lsl lsr asr ror
ubfx ubfiz sbfx sbfiz bfi bfxil bfc extr cmp cmn tst ccmp ccmn csel csinc csinv csneg cset csetm cinc mul madd msub
umull smull udiv sdiv clz rbit rev adr adrp sxtw uxtw sxtb uxtb sxth uxth
ldr ldur ldp ldnp ldar ldapr ldaxr ldxr ldrb ldrh ldrsw ldrsb ldrsh ldurb ldurh ldarb ldarh ldaxp ldxp prfm
nop hint yield paciasp autiasp pacibsp autibsp bti esb csdb sb
""".split())


def asm_path(src: Source, function: str) -> tuple[CPath, list[tuple[str, int, int]]]:
    """The path's primitive calls (``bl``) and its direct instructions, as (line text, row, col)."""
    lines = src.text.split("\n")
    start = None
    for row, line in enumerate(lines):
        if re.match(rf"^\s*{re.escape(function)}\s*:", line):
            start = row
            break
    if start is None:
        raise src.error(0, 0, f"no label '{function}:' in {src.path}")
    path = CPath()
    direct: list[tuple[str, int, int]] = []
    for row in range(start + 1, len(lines)):
        raw = lines[row].split("//")[0].split("@")[0]
        text = raw.strip()
        if not text or text.startswith((".", "#")):
            continue
        if re.match(r"^[A-Za-z_]\w*:", text):
            break  # the next function
        col = raw.index(text)
        mnemonic, rest = (text.split(None, 1) + [""])[:2]
        mnemonic = mnemonic.lower()
        if mnemonic == "ret":
            break
        if mnemonic in BRANCHES or mnemonic.startswith("b."):
            raise src.error(row, col, f"branch '{mnemonic}' is not supported: assembly extraction follows one "
                                      "straight-line path")
        if mnemonic == "bl":
            path.calls.append(Call(rest.strip(), (), (), row, col))
            direct.append(("", row, col))  # placeholder: the call's expansion goes here
        elif mnemonic not in NO_STORE:  # stores of every form, barriers, TLBIs, unknown: the expander decides
            direct.append((f"{mnemonic} {rest.strip()}".strip(), row, col))
    return path, direct
