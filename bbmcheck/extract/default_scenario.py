"""The scenario bbmcheck makes up when none is given: standard situations around the entry a path writes.

A scenario says which table entry each pointer names and which descriptor each value is. Without
one, every path is checked in each *situation* its conditions admit:

- the entry the path writes last (the one it links or replaces) is the **target**, at level 2 of a
  generated stage-2 table (at level 3 for the page situations), and every address argument is its
  input address;
- its **old** value is invalid, a 2 MiB block, a table of pages, or (at level 3) a page;
- a value the code computes and the map does not name (``new``, ``pte``) is the **new** descriptor:
  invalid, the same block with other permissions, a block at another output address, a table of
  the same pages (a split) or the block of a table's pages (a coalesce), whichever fit the old kind;
- other entries the path writes are the entries of a new, unlinked level-3 table, in the order they
  are written, holding the pages of the old block; the target's new value is then that table;
- a table freed through the target's own pointer (``put_page(ptep)``) is a reference dropped on the
  live table that holds it, not a free; any other table freed is the old table, and there is none
  to free when the old entry is not a table.

The map's ``[predicates]`` say what a test of a value tells of its kind (``kvm_pte_valid(x)``: x is
a block, page or table), ``[values]`` the constants that are descriptors and ``[bits]`` the flags. A
situation is checked on a path only if it is consistent with the path's branch choices and with
what the code asserts (``WARN_ON(!locked(*ptep))``), decided by z3. A test about a value the path
stores is about the new value; any other is about the target's old value.

This is a set of test situations, not every caller's: "holds" means holds in each situation
checked, and the output lists them. A scenario file pins the context where these are not enough.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..arch.descriptors import Descriptor, parse_descriptor
from .c_paths import CPath
from .mapping import PrimitiveMap, Scenario

IPA = 0x200000  # the target's input address: entry 1 of the level-2 table T2
OA = 0x80200000  # the old block's (or pages') output address
OTHER_OA = 0x80400000  # another output address, for a change that needs break-before-make
PAGE = 0x1000
FILL = "N"  # the unlinked table a path fills before it links it
# what the caller does after: a barrier that makes the last store visible (a store becomes visible
# in finite time anyway; KVM's kvm_pgtable_stage2_map() ends with dsb(ishst)). Without it the
# model's last store would stay pending for ever and every window would be reported as never closing.
EPILOGUE = ("dsb ishst",)
DROP = "-"  # a free that is a reference dropped on a live table: no instruction


@dataclass(frozen=True)
class Situation:
    label: str  # e.g. "block-to-table"
    old: str  # the target's old kind: invalid, block, page, table
    new: str  # the new value's kind (for a stored value the map does not name)
    target: str  # the target entry, e.g. "T2[1]"
    tables: tuple[tuple[str, int, tuple[tuple[int, str], ...]], ...]  # (name, level, entries), root first
    new_desc: str  # the descriptor a computed value stands for
    empty: bool = False  # the old table holds no valid entry

    @property
    def old_name(self) -> str:
        return "empty-table" if self.empty else self.old


def _pages(oa: int, n: int = 2) -> tuple[tuple[int, str], ...]:
    return tuple((k, f"page oa={oa + k * PAGE:#x} attr=normal perm=rw") for k in range(n))


def situations(fill: bool) -> list[Situation]:
    """The standard situations: with ``fill``, those where the target's new value is the filled table."""
    block = f"block oa={OA:#x} attr=normal perm=rw"
    root = ("T1", 1, ((0, "table T2"),))
    l2 = "T2[1]"
    out = []

    def at2(old_desc: str, extra: tuple[tuple[str, int, tuple[tuple[int, str], ...]], ...] = ()) -> Any:
        return (root, ("T2", 2, ((1, old_desc),) if old_desc != "invalid" else ()), *extra)

    t3 = ("T3", 3, _pages(OA))
    t4 = ("T4", 3, _pages(OA))
    n = (FILL, 3, ())
    if fill:  # the path fills a new table and links it: the target's new value is that table
        for old, old_desc, extra in (("invalid", "invalid", ()), ("block", block, ()), ("table", "table T3", (t3,))):
            out.append(Situation(f"{old}-to-table", old, "table", l2, at2(old_desc, (*extra, n)), f"table {FILL}"))
        out.append(Situation("empty-table-to-table", "table", "table", l2, at2("table T3", (("T3", 3, ()), n)),
                             f"table {FILL}", empty=True))
        return out
    for new, desc, extra in (("block", block, ()), ("table", "table T4", (t4,))):
        out.append(Situation(f"invalid-to-{new}", "invalid", new, l2, at2("invalid", extra), desc))
    for new, desc, extra in (("invalid", "invalid", ()), ("block", f"block oa={OA:#x} attr=normal perm=rwx", ()),
                             ("block", f"block oa={OTHER_OA:#x} attr=normal perm=rw", ()),
                             ("table", "table T4", (t4,))):
        label = {"block oa=0x80200000 attr=normal perm=rwx": "block-to-block-perm",
                 f"block oa={OTHER_OA:#x} attr=normal perm=rw": "block-to-block-oa"}.get(desc, f"block-to-{new}")
        out.append(Situation(label, "block", new, l2, at2(block, extra), desc))
    for new, desc, extra in (("invalid", "invalid", ()), ("block", block, ()), ("table", "table T4", (t4,))):
        out.append(Situation(f"table-to-{new}", "table", new, l2, at2("table T3", (t3, *extra)), desc))
    # a table whose entries were all removed before (a post-order walk visits it after its children)
    for new, desc, extra in (("invalid", "invalid", ()), ("block", block, ()), ("table", "table T4", (t4,))):
        out.append(Situation(f"empty-table-to-{new}", "table", new, l2, at2("table T3", (("T3", 3, ()), *extra)),
                             desc, empty=True))
    page = f"page oa={OA + PAGE:#x} attr=normal perm=rw"
    l3 = (root, ("T2", 2, ((1, "table T3"),)), ("T3", 3, ((0, f"page oa={OA:#x} attr=normal perm=rw"), (1, page))))
    for label, new, desc in (("page-to-invalid", "invalid", "invalid"),
                             ("page-to-page-perm", "page", f"page oa={OA + PAGE:#x} attr=normal perm=rwx"),
                             ("page-to-page-oa", "page", f"page oa={OTHER_OA + PAGE:#x} attr=normal perm=rw")):
        out.append(Situation(label, "page", new, "T3[1]", l3, desc))
    return out


def _norm(expr: str) -> str:
    return " ".join(expr.split())


def _pointer(expr: str) -> str:
    """An entry pointer's name: ``*ptep``, ``&table[i]`` and ``(ptep)`` are all ``ptep``-like."""
    text = _norm(expr)
    while True:
        bare = text.lstrip("*& ").strip()
        if bare.startswith("(") and bare.endswith(")"):
            bare = bare[1:-1].strip()
        if bare == text:
            return text
        text = bare


_FLAG = re.compile(r"^(?P<base>.+?)\s*(?P<op>\||&\s*~)\s*\(?\s*(?P<flag>[A-Za-z_]\w*)\s*\)?$")


# the names kernels give a pointer to the entry being visited: a table page freed through one is a
# reference dropped on the table that holds the entry
ENTRY_POINTER = re.compile(r"(^|->|\.)(ptep|pmdp|pudp|p4dp|pgdp)$")


class _Lookup:
    def __init__(self, get: Any) -> None:
        self.get = get


class DefaultScenario(Scenario):
    """A scenario answering from one situation, and recording what the path asks of it."""

    def __init__(self, pmap: PrimitiveMap, situation: Situation | None, targets: tuple[str, ...] = (),
                 source: str = "<default scenario>", made: dict[str, frozenset[str]] | None = None) -> None:
        super().__init__(path=source, base="", prologue=(), epilogue=EPILOGUE, entries={}, values={},
                         bits=dict(pmap.bits), addresses={}, tables={})
        self.context_at: tuple[int, int] = (1, 1)  # where the context lines are reported: the function's end
        self.pmap, self.situation, self.made = pmap, situation, made or {}
        self.target = targets[-1] if targets else None  # the entry written last
        self.fill = {t: () for t in targets[:-1]}
        self.written: list[str] = []  # entry pointers, in the order the path stores to them
        self.computed: set[str] = set()  # value expressions the map does not name, stored to the target
        self.flags_used: set[str] = set()
        self.stored: list[tuple[str, str]] = []  # (entry pointer, computed value stored to it)
        self.freed: list[str] = []  # what each {table:N} was taken as
        self._current: str | None = None
        self._fill_next = 0
        self.addresses = _Lookup(self._address)  # type: ignore[assignment]
        self.tables = _Lookup(self._table)  # type: ignore[assignment]

    def entry(self, expr: str) -> str | None:
        name = _pointer(expr)
        name = next((t for t in (self.target, *self.fill) if t and t.startswith((name + "->", name + "."))), name)
        self.written.append(name)
        self._current = name
        sit = self.situation
        if sit is None or name == self.target or self.target is None:
            return sit.target if sit is not None else "T2[1]"
        index = self._fill_next
        self._fill_next += 1
        return f"{FILL}[{index}]"

    def value(self, expr: str) -> Descriptor | None:
        text = _norm(expr)
        if text in self.pmap.values:
            return parse_descriptor(self.pmap.values[text])
        if self.made.get(text) == frozenset({"invalid"}):
            return parse_descriptor("invalid")  # every assignment of it is an all-zero entry
        m = _FLAG.match(text)
        if m and self.flag(m.group("flag")):
            return None  # x | FLAG: the expander sets the bit on x's value
        sit = self.situation
        if self._current is not None and self._current != self.target and self.target is not None:
            index = self._fill_next - 1  # the fill entry just named: the old block's page there
            return parse_descriptor(f"page oa={OA + max(index, 0) * PAGE:#x} attr=normal perm=rw")
        self.computed.add(text)
        self.stored.append((self._current or "", text))
        if sit is None:
            return parse_descriptor(f"block oa={OA:#x}")
        return parse_descriptor(sit.new_desc)

    def flag(self, name: str) -> str | None:
        got = self.bits.get(_norm(name))
        if got is not None:
            self.flags_used.add(got)
        return got

    @property
    def spans(self) -> list[int]:
        """The input addresses of every page mapped under the target, before or after: a range
        TLBI of the target's range removes what any of them may have cached."""
        sit = self.situation
        if sit is None:
            return [IPA]
        if sit.target == "T3[1]":
            return [IPA + PAGE]
        under = {t: entries for t, _, entries in sit.tables if t not in ("T1", "T2")}
        pages = {IPA + i * PAGE for entries in under.values() for i, _ in entries}
        return sorted(pages | {IPA})

    def ttl(self, expr: str) -> int | None:
        """A level argument as a TLBI's hint: ``ctx->level``, ``level`` (the level of the entry
        visited) is the target's level; any other expression gives no hint."""
        if re.fullmatch(r"(\w+(->|\.))?level", _norm(expr)) and self.situation is not None:
            return 3 if self.situation.target == "T3[1]" else 2
        return None

    def _address(self, _expr: str) -> int:
        sit = self.situation
        return IPA + PAGE if sit is not None and sit.target == "T3[1]" else IPA

    def _table(self, expr: str) -> str | None:
        name = _pointer(expr)
        entries = {*self.written, *self.fill, *([self.target] if self.target else [])}
        if any(name == e or e.startswith((name + "->", name + ".")) for e in entries) or ENTRY_POINTER.search(name):
            self.freed.append(f"'{_norm(expr)}' taken as a reference dropped on the live table that holds the entry")
            return DROP
        sit = self.situation
        if sit is not None and sit.old == "table":
            return "T3"
        self.freed.append(f"'{_norm(expr)}' freed where the old entry is not a table: nothing to free")
        return DROP


@dataclass
class Plan:
    """What a path's recording pass found: the entries it writes and the values it computes."""

    targets: tuple[str, ...]
    computed: frozenset[str]
    first_store: int = 1 << 30  # the index of the first call that stores to the target
    kinds: frozenset[str] | None = None  # what the computed values may be (None: anything)
    nt: bool = False  # the path sets nT on a computed value


def function_target(orders: list[tuple[str, ...]]) -> str | None:
    """The function's target entry: the one written last by the paths that write several (the
    others are a new table's, filled before it is linked); None when no path writes several."""
    last = [o[-1] for o in orders if len(o) > 1]
    return last[0] if last else None


def plan(recorded: DefaultScenario, made: dict[str, frozenset[str]], first_store: int = 1 << 30,
         target: str | None = None) -> Plan:
    """``made``: a variable's kinds, where every assignment to it in the function calls a
    constructor the map's [makes] names. ``target``: the function's target entry, if known; the
    path's other entries are then a filled table's, even on a path that does not link it."""
    order: list[str] = []
    written = recorded.written
    # a visit context and its entry pointer name one entry: stage2_try_set_pte(ctx, ...) stores to
    # ctx->ptep, which the code writes elsewhere by that name
    alias = {a: b for a in written for b in written if b.startswith((a + "->", a + "."))}
    for name in (alias.get(n, n) for n in written):
        if name in order:
            order.remove(name)
        order.append(name)  # the entry written last goes last: the target
    if target is not None:
        order = [n for n in order if n != target] + [target]
    last = order[-1] if order else None
    computed = frozenset(v for e, v in recorded.stored if alias.get(e, e) == last)
    kinds: frozenset[str] | None = None
    nt = "nT" in recorded.flags_used
    for expr in computed:
        m = _FLAG.match(expr)
        base = m.group("base") if m else expr
        base = _norm(base).strip()
        while base.startswith("(") and base.endswith(")"):
            base = base[1:-1].strip()
        call = _CALL.match(base)
        got = made.get(base) if call is None else pmap_makes(made, call.group(1))
        if got is None:
            return Plan(tuple(order), computed, first_store, None, nt)
        kinds = got if kinds is None else kinds & got
    return Plan(tuple(order), computed, first_store, kinds, nt)


SAME = "same"  # a value made from the old entry by setting or clearing bits: its attributes change
_OLD = re.compile(r"(ctx->old|old|orig|\*\s*\w+(->\w+)*|READ_ONCE\(\s*\*?\s*\w+(->\w+)*\s*\))")


def _zero(node: Any) -> bool:
    """``0``, ``(T){ 0 }``, ``(T){ }``, ``__pte(0)``-like casts of them: an all-zero entry."""
    text = re.sub(r"\s+", "", node.text.decode())
    return bool(re.fullmatch(r"(\([A-Za-z_]\w*\))?(0[uUlL]*|\{0?\}|\{\.\w+=0\})", text))


def pmap_makes(made: dict[str, frozenset[str]], name: str) -> frozenset[str] | None:
    """The kinds a constructor call makes: ``made`` carries the map's [makes] under ``name()``."""
    return made.get(_norm(name) + "()")


def constructed(fn: Any, pmap: PrimitiveMap) -> dict[str, frozenset[str]]:
    """The function's variables whose every assignment calls a constructor of the map's [makes],
    with the kinds those make."""
    seen: dict[str, frozenset[str] | None] = {}
    stack = [fn]
    while stack:
        n = stack.pop()
        stack += n.children
        if n.type == "init_declarator":
            left, right = n.child_by_field_name("declarator"), n.child_by_field_name("value")
        elif n.type == "assignment_expression":
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            op = n.child_by_field_name("operator")
            if op is not None and op.type in ("&=", "|=", "^="):
                continue  # bits set or cleared: the same kind of entry, at the same address
        else:
            continue
        if left is None or right is None or left.type != "identifier":
            continue
        name = left.text.decode()
        kinds = None
        while right.type == "parenthesized_expression" and right.named_child_count == 1:
            right = right.named_children[0]
        if right.type == "call_expression":
            kinds = pmap.makes.get(_norm(right.child_by_field_name("function").text.decode()))
        elif _zero(right) or pmap.values.get(_norm(right.text.decode())) == "invalid":
            kinds = frozenset({"invalid"})  # 0, (lpae_t){ 0 }, a constant the map calls invalid
        elif _OLD.fullmatch(_norm(right.text.decode())):
            kinds = frozenset({SAME})  # a copy of the old entry, whose bits the code then changes
        if name in seen and seen[name] is None:
            continue
        seen[name] = None if kinds is None else kinds | (seen.get(name) or frozenset())
    out = {k: v for k, v in seen.items() if v is not None}
    out.update({f"{name}()": kinds for name, kinds in pmap.makes.items()})  # constructors called in place
    return out


_CALL = re.compile(r"^([A-Za-z_]\w*)\s*\((.*)\)$", re.S)


def _first_arg(text: str) -> str:
    depth = 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            return text[:k].strip()
    return text.strip()


def _atoms(f: tuple[Any, ...]) -> Iterable[tuple[Any, ...]]:
    if f[0] in ("atom", "eq"):
        yield f if f[0] == "atom" else ("atom", f[1])
    elif f[0] in ("not", "and", "or"):
        for g in f[1:]:
            yield from _atoms(g)


_EQ = re.compile(r"^\(?\s*(.+?)\s*(==|!=)\s*(.+?)\s*\)?$")
_XOR = re.compile(r"^\(\s*(.+?)\s*\^\s*(.+?)\s*\)\s*&\s*.+$")


def _differ(text: str, computed: frozenset[str]) -> bool | None:
    """The truth of a comparison of the old entry with the new value (``ctx->old == new``,
    ``(old ^ new) & ~SW_BITS``): every default situation changes the entry's kind, output address
    or permissions, so they differ, in bits no mask of software bits hides. None: not such a test."""
    for pattern in (_EQ, _XOR):
        m = pattern.match(_norm(text))
        if m is None:
            continue
        a, b = _norm(m.group(1)), _norm(m.group(m.lastindex or 2))
        if {_OLD.fullmatch(a) is not None and b in computed, _OLD.fullmatch(b) is not None and a in computed} & {True}:
            return m.group(2) == "!=" if pattern is _EQ else True
    return None


def _reads_entry(arg: str, targets: tuple[str, ...]) -> bool:
    """Whether ``arg`` reads an entry the path writes as it is now (``*ctx->ptep``,
    ``READ_ONCE(*ptep)``), rather than a copy taken before (``ctx->old``, ``orig``)."""
    text = re.sub(r"^(READ_ONCE|smp_load_acquire)\s*\((.*)\)$", r"\2", arg.strip())
    return text.startswith("*") and _pointer(text) in targets or any(text == f"{t}[0]" for t in targets)


def admitted(path: CPath, pmap: PrimitiveMap, p: Plan, sit: Situation) -> bool:
    """Whether ``sit`` is consistent with the branch choices and assertions of some path that ``path``
    stands for (it may stand for several merged ones)."""
    if p.kinds == frozenset({SAME}) and p.computed:
        return sit.label.endswith("-perm") and _admitted(path, pmap, p, sit)  # the old entry, other bits
    if p.kinds is not None and sit.new not in p.kinds and p.computed:
        return False  # the code makes the value with a constructor that cannot make this kind
    if p.nt and sit.new != "block":
        return False  # nT exists in block descriptors only (IPJZBK): a value it is set on is a block
    return _admitted(path, pmap, p, sit)


def _admitted(path: CPath, pmap: PrimitiveMap, p: Plan, sit: Situation) -> bool:
    choices = path.known_choices()
    if choices is None:
        return True  # too many merged paths to know their choices: every situation is checked
    for facts in choices:
        extra = []
        for f, _ in facts:
            for atom in _atoms(f):
                differ = _differ(str(atom[1][0]), p.computed)
                if differ is not None:
                    extra.append((atom, differ))
                    continue
                m = _CALL.match(str(atom[1][0]))
                if m is None or _norm(m.group(1)) not in pmap.predicates:
                    continue
                yes, no = pmap.predicates[_norm(m.group(1))]
                arg = _norm(_first_arg(m.group(2)))
                key = atom[1]
                if _reads_entry(arg, p.targets) and len(key) == 4 and key[1] == "read" and key[3] > p.first_store:
                    continue  # the entry read after the path stored to it: not the old value
                kind = sit.new if arg in p.computed else sit.old
                if (kind in yes) != (kind in no):
                    extra.append((atom, kind in yes))
        if not extra:
            return True  # nothing here says anything of the kinds
        if _consistent(list(facts), extra):
            return True
    return False


def _consistent(facts: list[tuple[tuple[Any, ...], bool]], fixed: list[tuple[tuple[Any, ...], bool]]) -> bool:
    """Whether ``facts`` can hold with the atoms ``fixed`` gives: the fixed atoms substituted first,
    z3 only when what is left shares an atom between two facts."""
    value = {atom: truth for atom, truth in fixed}
    left = []
    for f, truth in facts:
        got = _substitute(f, value)
        if isinstance(got, bool):
            if got != truth:
                return False
            continue
        left.append((got, truth))
    seen: set[Any] = set()
    shared = False
    for f, _ in left:
        atoms = [a for a in _atoms(f)]
        if len(set(atoms)) < len(atoms) or seen & set(atoms):
            shared = True
        seen |= set(atoms)
    if not shared:
        return True  # each left fact is about atoms no other mentions: each can be made to hold
    from ..smt.feasible import consistent

    return consistent(left)


def _substitute(f: tuple[Any, ...], value: dict[Any, bool]) -> tuple[Any, ...] | bool:
    if f[0] == "atom":
        return value.get(f, f)
    if f[0] == "eq":
        return f
    parts = [_substitute(g, value) for g in f[1:]]
    if f[0] == "not":
        return (not parts[0]) if isinstance(parts[0], bool) else ("not", parts[0])
    a, b = parts
    if f[0] == "and":
        if a is False or b is False:
            return False
        return b if a is True else a if b is True else ("and", a, b)
    if a is True or b is True:
        return True
    return b if a is False else a if b is False else ("or", a, b)


def base_text(sit: Situation, name: str, program: str = "") -> str:
    """The generated model's tables and observers (the program is the path's): the tables the
    root links or the program stores, no other."""
    out = [f"name = {name!r}".replace("'", '"'), 'level = "L0"', "program = '''", "dsb ish", "'''", ""]
    wanted = {sit.tables[0][0]}
    for _ in sit.tables:
        for table, _, entries in sit.tables:
            text = " ".join(d for _, d in entries) if table in wanted else ""
            wanted |= {t for t, _, _ in sit.tables if re.search(rf"\btable {t}\b", text + " " + program)}
    for k, (table, level, entries) in enumerate(t for t in sit.tables if t[0] in wanted):
        body = ", ".join(f'{i} = "{d}"' for i, d in entries)
        out += [f"[tables.{table}]", f"level = {level}"] + (["root = true"] if k == 0 else []) + [
            f"entries = {{ {body} }}", ""]
    out += ["[observers]", "vcpus = 2", ""]
    return "\n".join(out)


def context(lines: tuple[str, ...], sit: Situation) -> tuple[str, ...]:
    """A scenario's context lines for one situation: {entry} is its target, {ipa} its address."""
    ipa = f"{IPA + PAGE:#x}" if sit.target == "T3[1]" else f"{IPA:#x}"
    return tuple(line.replace("{entry}", sit.target).replace("{ipa}", ipa) for line in lines)


