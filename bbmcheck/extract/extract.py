"""Code -> models: one Sequence per feasible control path.

    extract("seed.patch", "stage2_coalesce_tables_into_block", "coalesce.scenario.toml")

Each path has a short name, ``p1``, ``p2``, ... in the order the paths are found (the same code gives
the same names, whatever the scenario says); paths merged because they make the same calls keep
their own short names. A model is named after the scenario's ``name`` for its path, else
``<function>.p<k>``, or ``<function>`` when the function has one path; its title keeps the
conditions. A scenario's ``[paths]`` key is a short name or the conditions text.

Each path's helper calls are expanded through the primitive map, the scenario turns pointers and
values into table entries and descriptors, and the scenario's prologue and epilogue (what the
caller does around the function) are added. Every generated line is checked where the code is,
so an error points at the call in the C, assembly or patch file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..arch.config import Config
from ..arch.descriptors import Descriptor
from ..errors import InputError, did_you_mean
from ..sequences.edit import to_toml
from ..sequences.load import load_model, load_text
from ..sequences.parse_asm import parse_line
from ..sequences.schema import Instr, Sequence
from ..system.build import build
from .asm import asm_path
from .c_paths import ASM, Call, find_function, function_paths, nested_calls, same_text
from .default_scenario import DROP, ENTRY_POINTER
from .mapping import (
    PLACEHOLDER,
    PathSpec,
    PrimitiveMap,
    Scenario,
    expand_lines,
    load_primitives,
    load_scenario,
    set_bit,
)
from .source import Source, read_source


@dataclass(frozen=True)
class Extracted:
    name: str
    path: str  # the path's conditions, e.g. "ttrem_level=TTREM_LEVEL1"
    sequence: Sequence
    lines: tuple[str, ...]  # the function's own instructions (without prologue/epilogue)
    label: str = "p1"  # the path's short name
    # the paths merged into this one (the same calls, the scenario treats them alike): (label, conditions)
    merged: tuple[tuple[str, str], ...] = ()


LABEL_RE = re.compile(r"p[1-9][0-9]*")


Warn = Callable[[InputError], None]


def extract(code: str, function: str, scenario: str | None, *, primitives: str | None = None, strict: bool = False,
            warn: Warn | None = None) -> tuple[list[Extracted], list[str]]:
    """(models, notes): one model per path that does anything, notes for paths that do nothing."""
    src = read_source(code)
    pmap = load_primitives(primitives)
    if scenario is None:
        return _extract_default(src, code, function, pmap, strict, _once(warn or (lambda e: None)))
    scen = load_scenario(scenario)
    if not scen.base:  # no tables of its own: it pins the default scenario's context
        return _extract_default(src, code, function, pmap, strict, _once(warn or (lambda e: None)), scen)
    try:
        base = load_model(scen.base)
    except InputError as e:
        if e.file not in ("<command-line>", scen.base):
            raise  # the base model's own mistake, located in it
        assert scen.loc is not None
        raise InputError(scen.path, *scen.loc.string_chars(*scen.loc.value("", "base"))[0],
                         f"base: {e.message}") from None
    ctx = _Expander(src, pmap, scen, strict, _once(warn or (lambda e: None)))
    pruned: list[tuple[str, ...]] = []
    if src.kind == "asm":
        path, direct = asm_path(src, function)
        calls = iter(path.calls)
        body: list[tuple[str, int, int]] = []
        for text, row, col in direct:
            body += ctx.expand(next(calls)) if not text else ctx.asm_line(text, row, col)
        # (label, conditions, body, the paths merged into it)
        found: list[tuple[str, tuple[str, ...], list[tuple[str, int, int]], list[tuple[str, str]]]] = [
            ("p1", (), body, [])]
        total = 1
    else:
        found = []
        total = 0
        for p in function_paths(src, function, pmap.knows, lambda n: n in pmap.pure, pruned, ctx.warn,
                                entry_types=pmap.entry_types):
            body = []
            for call in p.calls:
                body += ctx.expand(call)
            # paths that make the same calls were merged: one model for those the scenario treats
            # alike, named after the first of them; each keeps its own short name
            groups: dict[object, list[tuple[str, tuple[str, ...]]]] = {}
            for conds in (p.conds, *p.alternatives):
                total += 1
                spec = _spec(scen, f"p{total}", conds)
                groups.setdefault(id(spec) if spec is not None else None, []).append((f"p{total}", conds))
            found += [(members[0][0], members[0][1], body, [(label, ", ".join(c)) for label, c in members[1:]])
                      for members in groups.values()]
    models: list[Extracted] = []
    notes: list[str] = []
    if pruned:
        notes.append(_pruned_note(pruned))
    for label, conds, body, merged in found:
        key = ", ".join(conds)
        what = f"path {label} [{key}]" if key else f"path {label}"
        if not body:
            notes.append(f"{what} makes no page-table update; no model")
            continue
        for line, row, col in body:
            fline, fcol = src.where(row, col)
            parse_line(line, file=src.path, line=fline, col=fcol, descriptors={})
        spec = _spec(scen, label, conds)
        if spec is not None and spec.skip:
            notes.append(f"{what} skipped: {spec.skip}")
            continue
        name = spec.name if spec and spec.name else function if total == 1 else f"{function}.{label}"
        twin = next((m for m in models if m.name == name), None)
        if twin is not None:  # one model file, one trace name, would stand for both
            assert scen.loc is not None
            where = _spec_key(scen, label, conds) or _spec_key(scen, twin.label, (twin.path,))
            raise InputError(scen.path, *(scen.loc.key("paths", where) if where else (1, 1)),
                             f"paths {twin.label} and {label} are both named '{name}': give each its own name")
        level = spec.level if spec and spec.level else base.level.value
        # the path's own caller context, claims and expect, else the scenario's, else the base model's claims
        pro = (spec.prologue, spec.prologue_at) if spec and spec.prologue is not None else (scen.prologue,
                                                                                                scen.prologue_at)
        epi = (spec.epilogue, spec.epilogue_at) if spec and spec.epilogue is not None else (scen.epilogue,
                                                                                                scen.epilogue_at)
        claims = spec.claims if spec and spec.claims is not None else scen.claims
        expect = spec.expect if spec and spec.expect else base.expect if claims is None else "claims-hold"
        program = [*pro[0], *(line for line, _, _ in body), *epi[0]]
        title = f"{function} [{label}: {key}]" if key else f"{function} [only path]" if total == 1 \
            else f"{function} [{label}]"
        text = to_toml(base, program, name=name, level=level, title=title,
                       source=f"extracted from {code}" + (f" ({label}: {key})" if key else ""),
                       expect=expect, **({} if claims is None else {"claims": claims}))
        gen = f"<extracted:{name}>"
        place = _Placer(src, scen, spec, what, gen, text, body, pro[1], epi[1])
        try:
            seq = load_text(text, gen, default_name=name)
        except InputError as e:
            raise place(e) from None
        # report lines where they were written: the function's in the code, the context's in the scenario
        places = [place.scenario_line(at, 0) for at in pro[1]] + [src.where(r, c) for _, r, c in body] + [
            place.scenario_line(at, 0) for at in epi[1]]
        seq = _placed(src, scen, seq, text, places, len(pro[1]), len(body), place)
        models.append(Extracted(name, key, seq, tuple(line for line, _, _ in body), label, tuple(merged)))
    _unused(scen, function, [f"p{k}" for k in range(1, total + 1)], ctx.warn)
    return models, notes


def _pruned_note(pruned: list[tuple[str, ...]]) -> str:
    return (f"{len(pruned)} path(s) dropped: their branch choices contradict each other, for example "
            f"[{', '.join(pruned[0])}]")


def _model(src: Source, scen: Scenario, spec: Any, key: str, body: list[tuple[str, int, int]], base: Sequence, *,
           name: str, level: str, code: str, title: str, source: str, claims: dict[str, str],
           expect: str = "claims-hold") -> Sequence:
    """One path's model under the default scenario: the path's instructions and the caller's
    context, on the generated tables, every line checked and placed where it was written."""
    for line, row, col in body:
        fline, fcol = src.where(row, col)
        parse_line(line, file=src.path, line=fline, col=fcol, descriptors={})
    program = [*scen.prologue, *(line for line, _, _ in body), *scen.epilogue]
    text = to_toml(base, program, name=name, level=level, title=title, source=source, claims=claims,
                   expect=expect)
    gen = f"<extracted:{name}>"
    place = _Placer(src, scen, spec, f"path [{key}]", gen, text, body, (), ((1, 1),) * len(scen.epilogue))
    try:
        seq = load_text(text, gen, default_name=name)
    except InputError as e:
        raise place(e) from None
    # report lines where they were written: the function's in the code, the context's in the scenario
    context_at = getattr(scen, "context_at", (1, 1))  # the caller's context is reported at the function's end
    places = [context_at] * len(scen.prologue) + [src.where(r, c) for _, r, c in body] + [
        context_at] * len(scen.epilogue)
    return _placed(src, scen, seq, text, places, len(scen.prologue), len(body), place)


def _placed(src: Source, scen: Scenario, seq: Sequence, text: str, places: list[tuple[int, int]], n_before: int,
            n_body: int, place: _Placer) -> Sequence:
    """``seq`` (loaded from the generated ``text``) with each instruction where it was written:
    the function's ``n_body`` lines in the code, the ``n_before`` context lines before and the rest
    after them where ``places`` says; its tables checked as built, an error moved by ``place``."""
    placed = tuple(
        replace(ins, line=line, col=col, file="" if n_before <= k < n_before + n_body else scen.path)
        for k, (ins, (line, col)) in enumerate(zip(seq.program, places, strict=True))
    )
    try:  # table placement is checked when built; the tables' positions are the generated text's
        build(replace(seq, program=tuple(replace(i, file=i.file or src.path) for i in placed)),
              Config(level=seq.level), vcpus=1)
    except InputError as e:
        raise place(e) from None
    return replace(seq, program=placed, path=src.path, sha256=_sha256(text, placed))


def _sha256(text: str, placed: tuple[Instr, ...]) -> str:
    """An extracted model's hash: its text and where each line was written (a trace's steps name
    those lines), not the file names, which depend on the directory it is run from."""
    where = "".join(f"{i.line}:{i.col}:{'scenario' if i.file else 'code'}\n" for i in placed)
    return hashlib.sha256((text + "\0" + where).encode("utf-8")).hexdigest()


def _extract_default(src: Source, code: str, function: str, pmap: PrimitiveMap, strict: bool,
                     warn: Warn, user: Scenario | None = None) -> tuple[list[Extracted], list[str]]:
    """Every path in each standard situation its conditions admit (extract/default_scenario.py).
    ``user``: a scenario file without a base, which pins what the default does not know: the
    situations kept, the caller's context ({entry} and {ipa} name the target), claims, levels."""
    from . import default_scenario as ds

    pruned: list[tuple[str, ...]] = []
    if src.kind == "asm":
        raise InputError(src.path, 1, 1, "assembly needs --scenario FILE: which entry each register points at")
    paths = function_paths(src, function, pmap.knows, lambda n: n in pmap.pure, pruned, warn,
                           entry_types=pmap.entry_types)
    fn = find_function(src, function)
    made = ds.constructed(fn, pmap)
    end = src.where(fn.end_point[0], max(fn.end_point[1] - 1, 0))
    models: list[Extracted] = []
    notes = [_pruned_note(pruned)] if pruned else []
    said: set[str] = set()
    recorded = []
    for p in paths:
        probe = ds.DefaultScenario(pmap, None, made=made)
        rec = _Expander(src, pmap, probe, strict, warn)
        stored_by: list[int] = []  # for each call, how many stores the path has made by its end
        lines = []
        for call in p.calls:
            lines += rec.expand(call)
            stored_by.append(len(probe.written))
        recorded.append((probe, stored_by, bool(lines)))
    # the target is the entry a path that writes several writes last (it links what it filled);
    # the function's other entries are those of the table it fills
    target = ds.function_target([ds.plan(probe, made).targets for probe, _, _ in recorded])
    # one model per distinct program and tables: paths that differ only in branches with no
    # page-table effect (cache maintenance, statistics) give the same models
    seen: set[str] = set()
    total = sum(1 + len(p.alternatives) for p in paths)
    number = 0
    for p, (probe, stored_by, acts) in zip(paths, recorded, strict=True):
        key = ", ".join(p.conds)
        label = f"p{number + 1}" if total > 1 else ""  # numbered as with a scenario: merged paths count
        number += 1 + len(p.alternatives)
        spec = None
        for k, conds in enumerate((p.conds, *p.alternatives)):  # merged paths keep their own names
            got = _spec(user, f"p{number - len(p.alternatives) + k}" if total > 1 else "p1", conds) \
                if user is not None else None
            spec = spec or got
        if not acts:
            notes.append(f"path [{key}] makes no page-table update; no model")
            continue
        if spec is not None and spec.skip:
            notes.append(f"path {label or 'p1'} [{key}] skipped: {spec.skip}")
            continue
        keep = spec.situations if spec is not None and spec.situations is not None else \
            user.situations if user is not None else None
        plan = ds.plan(probe, made, next((k for k, n in enumerate(stored_by) if n), 1 << 30), target)
        kept = 0
        for sit in ds.situations(fill=len(plan.targets) > 1):
            if keep is not None and not {sit.label, sit.old_name} & set(keep):
                continue
            if not ds.admitted(p, pmap, plan, sit):
                continue
            scen = ds.DefaultScenario(pmap, sit, plan.targets, source=src.path, made=made)
            scen.context_at = end
            claims: dict[str, str] = {"invalid-window": "any"}  # a correct break's window is inherent
            expect = "claims-hold"
            if user is not None:
                scen.values.update(user.values)
                scen.bits.update(user.bits)
                pro = spec.prologue if spec is not None and spec.prologue is not None else user.prologue
                epi = spec.epilogue if spec is not None and spec.epilogue is not None else user.epilogue or \
                    scen.epilogue
                scen.prologue, scen.epilogue = ds.context(pro, sit), ds.context(epi, sit)
                claims = spec.claims if spec is not None and spec.claims is not None else user.claims or claims
                expect = spec.expect if spec is not None and spec.expect else expect
            body = _Expander(src, pmap, scen, strict, warn).expand_all(p.calls)
            if not any(line.endswith(f"table {ds.FILL}") for line, _, _ in body):
                # stores to a new table this path never links: no walk can see them
                body = [b for b in body if not re.match(rf"\w+\s+{ds.FILL}\[", b[0])]
            for why in scen.freed:
                if why not in said:
                    said.add(why)
                    notes.append(f"default scenario: {why}")
            if not body:
                continue
            stem = f"{function}.{label}" if label else function
            name = f"{stem}.{sit.label}" if plan.computed or len(plan.targets) > 1 else f"{stem}.{sit.old_name}"
            level = spec.level if spec is not None and spec.level else "L1" if "nT" in scen.flags_used else "L0"
            program = "\n".join(line for line, _, _ in body)
            base = load_text(ds.base_text(sit, name, program), f"<default scenario:{name}>", default_name=name)
            program_key = program + "\n" + ds.base_text(sit, "", program)
            kept += 1
            if program_key in seen:
                continue  # the same model as another situation's or path's
            seen.add(program_key)
            seq = _model(src, scen, None, key, body, base, name=name, level=level, code=code,
                         title=f"{function} [{label + ': ' if label else ''}{key or 'only path'}] in situation "
                               f"{sit.label} (default scenario)",
                         source=f"extracted from {code}" + (f" ({key})" if key else "") + ", default scenario"
                                + (f" with {user.path}" if user is not None else ""),
                         claims=claims, expect=expect)
            models.append(Extracted(name, key, seq, tuple(line for line, _, _ in body), label or "p1"))
        if not kept:
            notes.append(f"path [{key}]: no standard situation fits its conditions; give a scenario (--scenario)")
    if user is not None:
        _unused(user, function, [f"p{k}" for k in range(1, total + 1)], warn)
    return models, notes


def _spec_key(scen: Scenario, label: str, conds: tuple[str, ...]) -> str | None:
    """The [paths] key that :func:`_spec` finds a path's entry under, or None."""
    key = ", ".join(conds)
    return label if label in scen.paths else key if key in scen.paths and not LABEL_RE.fullmatch(key) else None


def _spec(scen: Scenario, label: str, conds: tuple[str, ...]) -> PathSpec | None:
    """The scenario's [paths] entry for a path: under its short name, or its conditions text (a
    conditions text that reads as a short name, a path whose only condition is ``p2``, is one)."""
    key = ", ".join(conds)
    by_label = scen.paths.get(label)
    by_key = scen.paths.get(key) if not LABEL_RE.fullmatch(key) else None
    if by_label is not None and by_key is not None:
        assert scen.loc is not None
        raise InputError(scen.path, *scen.loc.key("paths", label),
                         f"[paths] '{label}' and '{key}' are the same path ({label}): keep one of them")
    scen.used.add(label if by_label is not None else key)
    return by_label if by_label is not None else by_key


def _unused(scen: Scenario, function: str, labels: list[str], warn: Warn) -> None:
    """A [paths] key that names no path of this function is said (a typo, a path gone; or a
    scenario shared by several functions), never silently passed over."""
    for key in scen.paths:
        if key not in scen.used:
            assert scen.loc is not None
            warn(InputError(scen.path, *scen.loc.key("paths", key),
                            f"[paths] '{key}' names no path of '{function}' (its paths: {', '.join(labels)})"
                            + did_you_mean(key, labels) + "; not used"))


def _number_text(text: str) -> int | None:
    try:
        return int(text.strip().rstrip("uUlL"), 0)
    except ValueError:
        return None


def _once(warn: Warn) -> Warn:
    """``warn``, saying each located warning once however many paths make the call it is about."""
    said: set[tuple[str, int, int, str]] = set()

    def once(e: InputError) -> None:
        key = (e.file, e.line, e.col, e.message)
        if key not in said:
            said.add(key)
            warn(e)
    return once


class _Placer:
    """Moves an error in an extracted model's generated text to where its cause was written: a
    prologue or epilogue line in the scenario, the call in the code, the path's level or the base."""

    def __init__(self, src: Source, scen: Scenario, spec: Any, what: str, gen: str, text: str,
                 body: list[tuple[str, int, int]], prologue_at: tuple[tuple[int, int], ...],
                 epilogue_at: tuple[tuple[int, int], ...]) -> None:
        self.src, self.scen, self.spec, self.what, self.gen, self.body = src, scen, spec, what, gen, body
        self.prologue_at, self.epilogue_at = prologue_at, epilogue_at  # the path's (or the scenario's)
        lines = text.split("\n")
        self.first = lines.index("program = \'\'\'") + 2  # 1-based line of the first program line
        self.level_line = next(n for n, line in enumerate(lines, 1) if line.startswith("level = "))

    def scenario_line(self, quote: tuple[int, int], offset: int) -> tuple[int, int]:
        assert self.scen.loc is not None
        chars = self.scen.loc.string_chars(*quote)
        return chars[min(max(offset, 0), len(chars) - 1)]

    def __call__(self, e: InputError) -> InputError:
        scen, n_pro, n_body = self.scen, len(self.prologue_at), len(self.body)
        if e.file == self.src.path:  # an instruction of the function's: at its call
            for _, r, c in self.body:
                if self.src.where(r, c)[0] == e.line:
                    return InputError(e.file, *self.src.where(r, c), e.message)
            return e
        if e.file != self.gen:
            return e  # already where it was written (a scenario line, the base model)
        k = e.line - self.first
        if 0 <= k < n_pro:
            return InputError(scen.path, *self.scenario_line(self.prologue_at[k], e.col - 1), e.message)
        if n_pro <= k < n_pro + n_body:
            _, r, c = self.body[k - n_pro]
            return InputError(self.src.path, *self.src.where(r, c), e.message)
        if n_pro + n_body <= k < n_pro + n_body + len(self.epilogue_at):
            return InputError(scen.path, *self.scenario_line(self.epilogue_at[k - n_pro - n_body], e.col - 1),
                              e.message)
        if e.line == self.level_line and self.spec is not None and self.spec.level:
            line, col = self.spec.where
            return InputError(scen.path, line, col, f"the level of {self.what}: {e.message}")
        if scen.loc is None:  # the default scenario's generated tables: said at the function
            return InputError(self.src.path, *self.src.where(*self.body[0][1:]) if self.body else (1, 1),
                              f"the default scenario does not fit {self.what}: {e.message}; give a "
                              "scenario (--scenario)")
        return InputError(scen.path, *scen.loc.value("", "base"),
                          f"the base model does not fit {self.what}: {e.message}")


class _Expander:
    def __init__(self, src: Source, pmap: PrimitiveMap, scen: Scenario, strict: bool, warn: Warn) -> None:
        self.src, self.pmap, self.scen, self.strict, self.warn = src, pmap, scen, strict, warn

    def expand_all(self, calls: list[Call]) -> list[tuple[str, int, int]]:
        out = []
        for call in calls:
            out += self.expand(call)
        return out

    def expand(self, call: Call) -> list[tuple[str, int, int]]:
        if call.name == ASM:
            return self.inline_asm(call)
        key = call.name
        if call.name in self.pmap.dispatch:
            idx = self.pmap.dispatch[call.name]
            if idx < len(call.args):
                key = f"{call.name}:{call.args[idx]}"
        if key in self.pmap.primitives:
            # on a path where a branch found the call's result false, what the map says it does then
            lines = self.pmap.fails.get(key) if call.outcome is False else None
            if lines is None:
                lines = self.pmap.primitives[key]
            return [(filled, call.row, call.col) for t in expand_lines(lines, lambda t: self.fill(t, call))
                    for filled in self.fill_span(t, call) if filled != f"free {DROP}"]
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

    def fill_span(self, template: str, call: Call) -> list[str]:
        """``template`` filled; a ``{span:N}`` (the addresses of the range that starts at argument
        N) gives one line per address: the scenario's ``spans`` when it has them (the default
        scenario's: every mapped page under its target), else the one address of [addresses]."""
        m = re.search(r"\{span:(\d+)\}", template)
        if m is None:
            return [self.fill(template, call)]
        n = int(m.group(1))
        spans = getattr(self.scen, "spans", None)
        if spans is None or n >= len(call.args):
            return [self.fill(template.replace(m.group(0), "{ipa:" + m.group(1) + "}"), call)]
        return [self.fill(template.replace(m.group(0), f"{a:#x}"), call) for a in spans]

    def fill(self, template: str, call: Call) -> str:
        def sub(m: re.Match[str]) -> str:
            kind, n = m.group(1), int(m.group(2))
            if kind == "span":
                return m.group(0)  # a range: fill_span makes a line per address
            if n >= len(call.args):
                raise self.src.error(call.row, call.col, f"'{call.name}' needs argument {n + 1} for {m.group(0)}")
            arg, node = call.args[n], call.arg_nodes[n] if n < len(call.arg_nodes) else None
            row, col = (node.start_point[0], node.start_point[1]) if node is not None else (call.row, call.col)
            if kind == "desc" and node is not None and same_text(call, n):  # a renamed one is read as text
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
        if kind == "ttl":  # a TLBI's level hint: argument N is the level of the leaf it names
            level = _number_text(arg)
            if level is None:
                ttl = getattr(scen, "ttl", None)
                level = ttl(arg) if ttl is not None else None
            # no hint (a scenario file, an expression): the TLBI removes every level, as without FEAT_TTL
            return f", ttl={level}" if level is not None and 1 <= level <= 3 else ""
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
            if got is None and (scen.entry(arg) is not None or ENTRY_POINTER.search(" ".join(arg.split()))):
                return DROP  # the page holding the visited entry: a reference dropped, not a free
        if got is None:
            raise self.src.error(row, col, f"'{arg}' has no meaning in scenario {scen.path}: add it to {where}")
        return got

    def inline_asm(self, call: Call) -> list[tuple[str, int, int]]:
        """An ``asm volatile(...)`` statement: its DSBs, ISBs and operand-free TLBIs are the model's;
        anything else is said (an error under --strict) and left out, never dropped silently."""
        out = []
        for part in re.split(r"[;\n]", call.args[0]):
            text = " ".join(part.split())
            if not text or text.startswith(("//", "/*", ".")):
                continue
            mnemonic, _, rest = text.partition(" ")
            mnemonic = mnemonic.lower()
            if mnemonic in ("dsb", "isb") or (mnemonic == "tlbi" and "," not in rest and "%" not in rest):
                out.append((text.lower(), call.row, call.col))
                continue
            why = ("a TLBI whose address is an operand: bbmcheck does not know it, so it is left out, which "
                   "can only add reports" if mnemonic == "tlbi" else
                   f"'{mnemonic}' in inline assembly is not modelled" + (" (a store to a table entry would be "
                   "missed)" if is_store(mnemonic) else ""))
            if self.strict:
                raise self.src.error(call.row, call.col, f"inline assembly '{text}': {why}")
            self.warn(self.src.error(call.row, call.col, f"inline assembly '{text}': {why}; ignored (use --strict "
                                                         "to refuse)"))
        return out

    def asm_line(self, text: str, row: int, col: int) -> list[tuple[str, int, int]]:
        """One assembly instruction as model lines: [] when it touches no page table."""
        mnemonic, _, rest = text.partition(" ")
        mnemonic, rest = mnemonic.lower(), rest.strip()
        if mnemonic in ("dsb", "isb"):
            return [(text, row, col)]
        if mnemonic == "tlbi":
            ops = [o.strip() for o in rest.split(",")]
            if len(ops) == 2 and re.fullmatch(r"[xX]\d+", ops[1]):
                return [(f"tlbi {ops[0]}, {self.lookup('ipa', ops[1].lower(), row, col)}", row, col)]
            return [(text, row, col)]
        if mnemonic == "dmb":
            self.warn(self.src.error(row, col, f"'{text}' is not modelled and is dropped: bbmcheck keeps no ordering "
                                               "a DMB gives, which only adds interleavings (use dsb for a barrier "
                                               "the model honours)"))
            return []
        if is_store(mnemonic):
            return self.asm_store(mnemonic, rest, text, row, col)
        message = f"unknown instruction '{mnemonic}': bbmcheck does not know whether it stores to a table entry"
        if self.strict:
            raise self.src.error(row, col, message)
        self.warn(self.src.error(row, col, message + "; ignored (use --strict to refuse)"))
        return []

    def asm_store(self, mnemonic: str, rest: str, text: str, row: int, col: int) -> list[tuple[str, int, int]]:
        """A store of any form: to the stack, skipped; to a table entry, modelled (64-bit str, stur,
        stlr, stlur with no writeback) or refused; to an address the scenario does not map, refused
        for a plain store (it may be an entry) and warned about (an error under --strict) otherwise."""
        m = re.search(r"\[\s*([A-Za-z0-9_]+)\s*(?:,\s*#?\s*([^\]]*?))?\s*\](\s*!)?(\s*,\s*#?\s*\S+)?\s*$", rest)
        if m is None:
            raise self.src.error(row, col, f"'{text}': expected {mnemonic} Xt, [Xn]")
        base, offset, pre, post = m.group(1).lower(), (m.group(2) or "").strip(), m.group(3), m.group(4)
        if base == "sp":
            return []  # the stack frame: no table entry
        try:
            zero = not offset or int(offset, 0) == 0
        except ValueError:
            zero = False
        key = f"[{base}]" if zero else f"[{base}, #{offset}]"
        entry = self.scen.entry(key)
        values = [v.strip().lower() for v in rest[:m.start()].split(",") if v.strip()]
        modelled = MODELLED_STORES.get(mnemonic)
        if entry is None:
            if modelled:
                self.lookup("entry", key, row, col)  # raises: the scenario must say what it points at
            message = (f"'{text}' stores to {key}, which the scenario's [entries] does not map; "
                       "if it is a table entry, add it there")
            if self.strict:
                raise self.src.error(row, col, message)
            self.warn(self.src.error(row, col, message + "; ignored (use --strict to refuse)"))
            return []
        why = ""
        if not modelled:
            why = (f"'{mnemonic}' is not modelled: bbmcheck models a table entry written by one 64-bit "
                   "str, stur, stlr or stlur")
        elif pre or post:
            why = "a store with writeback addressing is not modelled (the next store's address changes)"
        elif len(values) != 1 or not re.fullmatch(r"x\d+|xzr", values[0]):
            why = f"'{text}' does not store one 64-bit register (a descriptor is written whole, by an X register)"
        if why:
            raise self.src.error(row, col, f"{why}; {key} is table entry {entry}")
        desc = self.lookup("desc", values[0], row, col)
        return [(f"{modelled} {entry}, {desc}", row, col)]


MODELLED_STORES = {"str": "str", "stur": "str", "stlr": "stlr", "stlur": "stlr"}
ATOMICS = ("swp", "cas", "ldadd", "ldclr", "ldeor", "ldset", "ldsmax", "ldsmin", "ldumax", "ldumin",
           "stadd", "stclr", "steor", "stset", "stsmax", "stsmin", "stumax", "stumin")


def is_store(mnemonic: str) -> bool:
    """Whether an AArch64 mnemonic may write memory: every st* form and the atomics."""
    return mnemonic.startswith("st") or mnemonic.startswith(ATOMICS)
