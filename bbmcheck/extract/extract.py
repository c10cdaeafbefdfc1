"""Code -> models: one Sequence per feasible control path, named after the path.

    extract("seed.patch", "stage2_coalesce_tables_into_block", "coalesce.scenario.toml")

Each path's helper calls are expanded through the primitive map, the scenario turns pointers and
values into table entries and descriptors, and the scenario's prologue and epilogue (what the
caller does around the function) are added. Every generated line is checked where the code is,
so an error points at the call in the C, assembly or patch file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..arch.config import Config
from ..arch.descriptors import Descriptor
from ..errors import InputError
from ..sequences.edit import to_toml
from ..sequences.load import load_model, load_text
from ..sequences.parse_asm import parse_line
from ..sequences.schema import Sequence
from ..system.build import build
from .asm import asm_path
from .c_paths import Call, function_paths, nested_calls
from .mapping import PLACEHOLDER, PrimitiveMap, Scenario, load_primitives, load_scenario, set_bit
from .source import Source, read_source


@dataclass(frozen=True)
class Extracted:
    name: str
    path: str  # the path's conditions, e.g. "ttrem_level=TTREM_LEVEL1"
    sequence: Sequence
    lines: tuple[str, ...]  # the function's own instructions (without prologue/epilogue)


Warn = Callable[[InputError], None]


def extract(code: str, function: str, scenario: str, *, primitives: str | None = None, strict: bool = False,
            warn: Warn | None = None) -> tuple[list[Extracted], list[str]]:
    """(models, notes): one model per path that does anything, notes for paths that do nothing."""
    src = read_source(code)
    pmap = load_primitives(primitives)
    scen = load_scenario(scenario)
    base = load_model(scen.base)
    ctx = _Expander(src, pmap, scen, strict, warn or (lambda e: None))
    if src.kind == "asm":
        path, direct = asm_path(src, function)
        calls = iter(path.calls)
        body: list[tuple[str, int, int]] = []
        for text, row, col in direct:
            body += ctx.expand(next(calls)) if not text else [ctx.asm_line(text, row, col)]
        found: list[tuple[tuple[str, ...], list[tuple[str, int, int]]]] = [((), body)]
    else:
        found = []
        for p in function_paths(src, function):
            body = []
            for call in p.calls:
                body += ctx.expand(call)
            found.append((p.conds, body))
    models, notes = [], []
    for conds, body in found:
        key = ", ".join(conds)
        if not body:
            notes.append(f"path [{key}] makes no page-table update; no model")
            continue
        for line, row, col in body:
            fline, fcol = src.where(row, col)
            parse_line(line, file=src.path, line=fline, col=fcol, descriptors={})
        spec = scen.paths.get(key)
        if spec is not None and spec.skip:
            notes.append(f"path [{key}] skipped: {spec.skip}")
            continue
        name = (spec.name if spec and spec.name else f"{function}[{key}]" if key else function)
        level = spec.level if spec and spec.level else base.level.value
        program = [*scen.prologue, *(line for line, _, _ in body), *scen.epilogue]
        text = to_toml(base, program, name=name, level=level, title=f"{function} [{key or 'only path'}]",
                       source=f"extracted from {code}" + (f" ({key})" if key else ""),
                       claims={}, expect="claims-hold")
        try:
            seq = load_text(text, f"<extracted:{name}>", default_name=name)
            build(seq, Config(level=seq.level), vcpus=1)  # table placement is checked when built
        except InputError as e:
            raise InputError(scen.path, 1, 1, f"the scenario's prologue/epilogue or base does not fit path [{key}]: "
                                              f"{e.message}") from None
        # report lines where they were written: the function's in the code, the context's in the scenario
        assert scen.loc is not None
        pro, epi = scen.loc.key("", "prologue"), scen.loc.key("", "epilogue")
        places = [pro] * len(scen.prologue) + [src.where(r, c) for _, r, c in body] + [epi] * len(scen.epilogue)
        scen_file = scen.path
        placed = tuple(
            replace(ins, line=line, col=col, file="" if k_in_body else scen_file)
            for (ins, (line, col)), k_in_body in zip(
                zip(seq.program, places, strict=True),
                [False] * len(scen.prologue) + [True] * len(body) + [False] * len(scen.epilogue),
                strict=True,
            )
        )
        seq = replace(seq, program=placed, path=src.path)
        models.append(Extracted(name, key, seq, tuple(line for line, _, _ in body)))
    return models, notes


class _Expander:
    def __init__(self, src: Source, pmap: PrimitiveMap, scen: Scenario, strict: bool, warn: Warn) -> None:
        self.src, self.pmap, self.scen, self.strict, self.warn = src, pmap, scen, strict, warn

    def expand(self, call: Call) -> list[tuple[str, int, int]]:
        key = call.name
        if call.name in self.pmap.dispatch:
            idx = self.pmap.dispatch[call.name]
            if idx < len(call.args):
                key = f"{call.name}:{call.args[idx]}"
        if key in self.pmap.primitives:
            return [(self.fill(t, call), call.row, call.col) for t in self.pmap.primitives[key]]
        if call.name in self.pmap.pure:
            out = []
            for inner in nested_calls(call):
                out += self.expand(inner)
            return out
        message = f"unknown call '{key}': not in the primitive map {self.pmap.path}"
        if self.strict:
            raise self.src.error(call.row, call.col, message)
        self.warn(self.src.error(call.row, call.col, message + "; ignored (use --strict to refuse)"))
        return []

    def fill(self, template: str, call: Call) -> str:
        def sub(m: re.Match[str]) -> str:
            kind, n = m.group(1), int(m.group(2))
            if n >= len(call.args):
                raise self.src.error(call.row, call.col, f"'{call.name}' needs argument {n + 1} for {m.group(0)}")
            arg, node = call.args[n], call.arg_nodes[n] if n < len(call.arg_nodes) else None
            row, col = (node.start_point[0], node.start_point[1]) if node is not None else (call.row, call.col)
            if kind == "desc" and node is not None:
                desc = self.eval_desc(node)
                if desc is not None:
                    return desc.text()
            return self.lookup(kind, arg, row, col)

        return PLACEHOLDER.sub(sub, template)

    def eval_desc(self, node: Any) -> Descriptor | None:
        """A descriptor from the C expression's syntax tree: a name the scenario defines, or
        ``x | BIT`` / ``x & ~BIT`` with BIT a flag the scenario names (nT, af)."""
        known = self.scen.value(node.text.decode("utf-8"))
        if known is not None:
            return known
        if node.type == "parenthesized_expression" and node.named_child_count == 1:
            return self.eval_desc(node.named_children[0])
        if node.type == "binary_expression":
            op = node.child_by_field_name("operator").type
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            while right.type == "parenthesized_expression" and right.named_child_count == 1:
                right = right.named_children[0]
            if op == "|" and self.scen.flag(right.text.decode()):
                base = self.eval_desc(left)
                return None if base is None else set_bit(base, self.scen.flag(right.text.decode()) or "", True)
            if op == "&" and right.type == "unary_expression" and right.child_by_field_name("operator").type == "~":
                flag = self.scen.flag(right.child_by_field_name("argument").text.decode())
                base = self.eval_desc(left)
                if flag and base is not None:
                    return set_bit(base, flag, False)
        return None

    def lookup(self, kind: str, arg: str, row: int, col: int) -> str:
        scen = self.scen
        if kind == "raw":
            return arg
        if kind == "entry":
            got = scen.entry(arg)
            where = "[entries]"
        elif kind == "desc":
            desc = scen.value(arg)
            got = desc.text() if desc is not None else None
            where = "[values] (and [bits] for flags such as nT)"
        elif kind == "ipa":
            ipa = scen.addresses.get(" ".join(arg.split()))
            got = f"{ipa:#x}" if ipa is not None else None
            where = "[addresses]"
        else:
            got = scen.tables.get(" ".join(arg.split()))
            where = "[tables]"
        if got is None:
            raise self.src.error(row, col, f"'{arg}' has no meaning in scenario {scen.path}: add it to {where}")
        return got

    def asm_line(self, text: str, row: int, col: int) -> tuple[str, int, int]:
        mnemonic, _, rest = text.partition(" ")
        mnemonic = mnemonic.lower()
        ops = [o.strip() for o in rest.split(",")] if rest.strip() else []
        if mnemonic in ("str", "stlr"):
            if len(ops) != 2:
                raise self.src.error(row, col, f"'{text}': expected {mnemonic} Xt, [Xn]")
            entry = self.lookup("entry", ops[1].lower(), row, col)
            desc = self.lookup("desc", ops[0].lower(), row, col)
            return f"{mnemonic} {entry}, {desc}", row, col
        if mnemonic == "tlbi" and len(ops) == 2 and re.fullmatch(r"[xX]\d+", ops[1]):
            return f"tlbi {ops[0]}, {self.lookup('ipa', ops[1].lower(), row, col)}", row, col
        return text, row, col
