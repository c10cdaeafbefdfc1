"""Single-instruction mutants of an update sequence, for mutation testing of the checker.

Kinds: ``delete``, ``duplicate``, ``swap`` (adjacent, when the two differ), and TLBI scope
weakening: ``local`` (IS form -> local form), ``leaf-only`` (all levels -> last level only, naming
the first representative address for VMALL forms) and ``by-ipa`` (VMALL -> by-IPA of one address).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..arch.tlbi import TLBI_OPS
from ..errors import InputError
from ..sequences.edit import edit, instr_text
from ..sequences.schema import Sequence


@dataclass(frozen=True)
class Mutant:
    kind: str
    index: int  # the instruction mutated (the first of a swapped pair)
    description: str
    sequence: Sequence | None  # None: the mutant is not a well-formed model (stillborn)
    error: str = ""


def _weakenings(op: str, ipa: int | None, addr: int) -> list[tuple[str, str]]:
    """(kind, new instruction text) for one TLBI."""
    out = []
    info = TLBI_OPS[op]
    where = f", {ipa:#x}" if ipa is not None else ""
    if info.broadcast:
        out.append(("local", f"tlbi {op[:-2]}{where}"))
    if op.startswith("ipas2e1"):
        out.append(("leaf-only", f"tlbi {op.replace('ipas2e1', 'ipas2le1')}{where}"))
    if op.startswith(("vmalls12e1", "alle1", "vmalle1")):
        suffix = "is" if info.broadcast else ""
        out.append(("leaf-only", f"tlbi ipas2le1{suffix}, {addr:#x}"))
        out.append(("by-ipa", f"tlbi ipas2e1{suffix}, {addr:#x}"))
    return out


def mutants(seq: Sequence, address: int) -> Iterator[Mutant]:
    """Every single-instruction mutant of ``seq``; ``address`` is used by VMALL weakenings."""
    prog = seq.program

    def make(kind: str, index: int, desc: str, **kw: object) -> Mutant:
        try:
            return Mutant(kind, index, desc, edit(seq, name=f"{seq.name}~{kind}{index}", **kw))  # type: ignore[arg-type]
        except InputError as e:
            return Mutant(kind, index, desc, None, e.message)

    for i, ins in enumerate(prog):
        yield make("delete", i, f"delete line {ins.line} ({instr_text(ins)})", drop=[i])
    for i, ins in enumerate(prog):
        yield make("duplicate", i, f"duplicate line {ins.line} ({instr_text(ins)})", insert={i: [instr_text(ins)]})
    for i in range(len(prog) - 1):
        a, b = instr_text(prog[i]), instr_text(prog[i + 1])
        if a != b:
            yield make("swap", i, f"swap lines {prog[i].line} and {prog[i + 1].line} ({a} / {b})",
                       replacing={i: b, i + 1: a})
    for i, ins in enumerate(prog):
        if ins.op == "tlbi":
            for kind, text in _weakenings(ins.option, ins.ipa, address):
                yield make(kind, i, f"{kind}: line {ins.line} {instr_text(ins)} -> {text}", replacing={i: text})
