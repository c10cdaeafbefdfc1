"""One straight-line path through an AArch64 assembly function: ``NAME:`` up to ``ret``.

Stores (``str``/``stlr Xt, [Xn]``) take their entry and descriptor from the scenario's
``[entries]`` (keyed ``[xN]``) and ``[values]`` (keyed ``xT``); ``dsb``/``isb``/``tlbi`` pass
through (a TLBI register operand is looked up in ``[addresses]``); ``bl f`` expands primitive
``f``; other instructions do not touch page tables and are skipped; branches are refused.
"""

from __future__ import annotations

import re

from .c_paths import Call, CPath
from .source import Source

BRANCHES = ("b", "br", "cbz", "cbnz", "tbz", "tbnz", "blr")


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
        elif mnemonic in ("str", "stlr", "dsb", "isb", "tlbi"):
            direct.append((f"{mnemonic} {rest.strip()}".strip(), row, col))
    return path, direct
