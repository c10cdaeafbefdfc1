"""Control paths through one C function (parsed with tree-sitter's C grammar): the helper calls
each path makes, in order, and the conditions that select it (switch cases with fall-through,
if/else, loops unrolled to ``LOOP_BOUND`` iterations, the bound reported, forward goto to a label
later in an enclosing block). One path per feasible branch choice is the model.

A condition that calls a helper is evaluated as C does, in order and short-circuit: ``a() && b()``
calls ``b`` only where ``a`` returned true, so it gives one path on which both were called and
true, and two on which the condition is false (``a`` false, ``b`` not called; ``a`` true, ``b``
false). A call whose value a branch decides records that value (``Call.outcome``), so a helper
that may fail, such as a compare-and-swap that loses a race, has both outcomes as paths, and the
primitive map can say what it does when it fails. The same holds for ``&&``, ``||`` and ``?:`` in a
``return`` or an expression statement. A condition without calls is one choice, as before."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InputError
from .source import Source


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[str, ...]
    arg_nodes: tuple[Any, ...]
    row: int
    col: int
    outcome: bool | None = None  # the value the path's branch gives the call's result (None: not decided)
    # an inlined helper's call: the parameter names replaced in ``args`` (and in its nested calls),
    # innermost helper first; ``arg_nodes`` are the helper's own syntax
    renames: tuple[tuple[tuple[str, str], ...], ...] = ()


@dataclass
class CPath:
    conds: tuple[str, ...] = ()
    calls: list[Call] = field(default_factory=list)
    done: bool = False  # returned
    broke: bool = False  # left the innermost switch or loop
    continued: bool = False  # went on to the next iteration of the innermost loop
    jumping: tuple[str, int, int] | None = None  # a goto's label (and where it is) not reached yet
    # the conditions of the paths merged into this one (same calls, same state from there on)
    alternatives: tuple[tuple[str, ...], ...] = ()
    value: bool | None = None  # what it returned, where the return is a constant (true, 0, -EAGAIN, NULL)
    # the branch choices as formulas (smt/feasible.py), and how often each variable (and, as MEM,
    # memory) may have changed so far: a condition's atoms are keyed by those versions
    facts: tuple[tuple[tuple[Any, ...], bool], ...] = ()
    versions: dict[str, int] = field(default_factory=dict)
    # what the code asserts without acting on it (``WARN_ON(x);``: the author's x is false), as
    # facts; used to choose the default scenario's situations, never to drop a path
    assumed: tuple[tuple[tuple[Any, ...], bool], ...] = ()
    # the facts and assumptions of every path merged into this one (its own first); None when more
    # were merged than MAX_ALTERNATIVES, so that nothing is known of them
    choices: tuple[tuple[tuple[tuple[Any, ...], bool], ...], ...] | None = ()

    def known_choices(self) -> tuple[tuple[tuple[tuple[Any, ...], bool], ...], ...] | None:
        """The branch choices and assumptions of each path this one stands for (None: unknown)."""
        if self.choices is None:
            return None
        # after a merge, facts and assumptions start again: what follows holds on every merged path
        return tuple(c + self.facts + self.assumed for c in self.choices or ((),))

    def fork(self, cond: str | None = None) -> CPath:
        more = (cond,) if cond else ()
        return replace(self, conds=self.conds + more, calls=list(self.calls), versions=dict(self.versions),
                       alternatives=tuple(a + more for a in self.alternatives))

    def bump(self, *names: str) -> None:
        for n in names:
            self.versions[n] = self.versions.get(n, 0) + 1


# calls whose value is their argument's (a hint or a report); as statements, the ASSERTS say the
# author holds the argument false there (a kernel warning or BUG when it is not)
TRANSPARENT = frozenset(("likely", "unlikely", "WARN_ON", "WARN_ON_ONCE", "BUG_ON", "VM_BUG_ON", "VM_WARN_ON",
                         "VM_WARN_ON_ONCE", "WARN_ON_ONCE"))
ASSERTS = TRANSPARENT - {"likely", "unlikely"}

ASM = "asm"  # the call an inline-assembly statement becomes: its one argument is the assembly text


def asm_text(node: Any) -> str:
    """The assembly template of a ``gnu_asm_expression``: its string literals joined, with the C
    escapes for newline and tab read as line breaks."""
    parts = []
    for c in node.named_children:
        if c.type in ("string_literal", "concatenated_string"):
            strings = [c] if c.type == "string_literal" else [x for x in c.named_children if x.type == "string_literal"]
            for lit in strings:
                for x in lit.named_children:
                    if x.type == "string_content":
                        parts.append(x.text.decode("utf-8"))
                    elif x.type == "escape_sequence":  # \n and \t separate instructions
                        parts.append("\n" if x.text in (b"\\n", b"\\r") else " ")
            break  # the template; the operand and clobber lists follow
    return "".join(parts)


MEM = "<memory>"  # the version of everything not held in a local variable of the function


def _parser() -> Any:
    import tree_sitter as ts
    import tree_sitter_c as tsc

    return ts.Parser(ts.Language(tsc.language()))


@dataclass(frozen=True)
class CType:
    """A declared C type, as far as a store needs it: the type's name (``pte_t``, ``struct foo``)
    and how many pointers or array dimensions stand between the name and it."""

    name: str
    depth: int


@dataclass
class _File:
    """One parse of a file (its macros rewritten, see macros.py): its function definitions by
    name (the first of a name), the types of its file-scope variables, the fields of the structs
    and unions it defines, and the guesses the rewriting made."""

    defs: dict[str, Any]
    globals: dict[str, CType]
    fields: dict[str, dict[str, CType]]
    guesses: tuple[Any, ...]


def _parsed(src: Source, keep: frozenset[str] = frozenset()) -> _File:
    """``src`` parsed once per file and set of names the map keeps from the macro table."""
    from .macros import rewrite

    got = _DEFINED.get((id(src), keep))
    if got is not None and got[0] is src:
        return got[1]
    text, guesses = rewrite(src.text, keep)
    tree = _parser().parse(text.encode("utf-8"))
    file = _File({}, {}, {}, guesses)
    stack = [tree.root_node]
    while stack:  # iterative: code nested thousands deep must not exhaust Python's recursion
        node = stack.pop()
        if node.type == "function_definition":
            decl = node.child_by_field_name("declarator")
            while decl is not None and decl.type != "function_declarator":
                decl = decl.child_by_field_name("declarator")
            ident = decl.child_by_field_name("declarator") if decl is not None else None
            if ident is not None:
                file.defs.setdefault(ident.text.decode("utf-8", errors="replace"), node)
                continue
        if node.type == "declaration" and node.parent is not None and node.parent.type == "translation_unit":
            file.globals.update(_declared_names(node))
        if node.type in ("struct_specifier", "union_specifier") and node.child_by_field_name("body") is not None:
            members: dict[str, CType] = {}
            for member in node.child_by_field_name("body").named_children:
                if member.type == "field_declaration":
                    members.update(_declared_names(member))
            name = node.child_by_field_name("name")
            kind = node.type.split("_")[0]
            if name is not None:
                file.fields[f"{kind} {_text(name)}"] = members
            if node.parent is not None and node.parent.type == "type_definition":
                for d in node.parent.children_by_field_name("declarator"):
                    if d.type == "type_identifier":
                        file.fields[_text(d)] = members
        stack += reversed(node.children)
    _DEFINED.clear()  # one file at a time; the entry holds ``src``, so its id stays its own
    _DEFINED[(id(src), keep)] = (src, file)
    return file


def _definitions(src: Source, keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The file's function definitions by name (the first of a name)."""
    return _parsed(src, keep).defs


_DEFINED: dict[tuple[int, frozenset[str]], tuple[Source, _File]] = {}


def _type_name(node: Any) -> str | None:
    """The name of the type a declaration gives (qualifiers dropped)."""
    t = node.child_by_field_name("type")
    if t is None:
        return None
    if t.type in ("struct_specifier", "union_specifier", "enum_specifier"):
        name = t.child_by_field_name("name")
        return f"{t.type.split('_')[0]} {_text(name)}" if name is not None else None
    return _text(t)


def _declared_names(node: Any) -> dict[str, CType]:
    """The names a declaration (of variables, parameters or fields) declares, with their types."""
    base = _type_name(node)
    out: dict[str, CType] = {}
    if base is None:
        return out
    for d in node.children_by_field_name("declarator"):
        depth = 0
        while d is not None:
            if d.type in ("identifier", "field_identifier"):
                out[_text(d)] = CType(base, depth)
                break
            if d.type in ("pointer_declarator", "array_declarator"):
                depth += 1
                d = d.child_by_field_name("declarator")
            elif d.type == "init_declarator":
                d = d.child_by_field_name("declarator")
            elif d.type == "parenthesized_declarator":
                d = d.named_children[0] if d.named_child_count else None
            else:
                break  # a function declarator: not a variable
    return out


def _declared(fn: Any) -> dict[str, CType]:
    """The types of ``fn``'s parameters and locals (the first declaration of a name)."""
    out: dict[str, CType] = {}
    stack = [fn]
    while stack:
        n = stack.pop()
        if n.type in ("parameter_declaration", "declaration"):
            for name, t in _declared_names(n).items():
                out.setdefault(name, t)
        stack += reversed(n.named_children)
    return out


def _parameters(fn: Any) -> list[str]:
    """The names of ``fn``'s parameters, in order ('' for one without a name)."""
    decl = fn.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    params = decl.child_by_field_name("parameters") if decl is not None else None
    out = []
    for prm in params.named_children if params is not None else ():
        if prm.type != "parameter_declaration":
            continue
        d = prm.child_by_field_name("declarator")
        while d is not None and d.type != "identifier":
            inner = d.child_by_field_name("declarator")
            d = inner if inner is not None else next((c for c in d.named_children if c.type == "identifier"), None)
        out.append(_text(d) if d is not None else "")
    return out


def find_function(src: Source, name: str, keep: frozenset[str] = frozenset()) -> Any:
    fn = _definitions(src, keep).get(name)
    if fn is None:
        raise src.error(0, 0, f"no function '{name}' in {src.path}")
    deep = _too_deep(fn)
    if deep is not None:
        raise src.error(deep.start_point[0], deep.start_point[1], f"'{name}' is nested more than {MAX_DEPTH} "
                        "syntax levels deep here; bbmcheck extracts update sequences, which need a few")
    body = fn.child_by_field_name("body")
    # a diff's hunk may start inside another function; only errors in this body matter
    if body is None or body.has_error:
        bad = _first_error(body if body is not None else fn)
        raise src.error(bad.start_point[0], bad.start_point[1], f"cannot parse '{name}' here (C syntax error)")
    return fn


MAX_DEPTH = 200


def _too_deep(fn: Any) -> Any:
    """The first node more than MAX_DEPTH levels below ``fn``, or None (iterative)."""
    stack = [(fn, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack += [(c, depth + 1) for c in reversed(node.children)]
    return None


def _first_error(node: Any) -> Any:
    while True:
        for child in node.children:
            if child.type == "ERROR" or child.is_missing:
                return child
            if child.has_error:
                node = child
                break
        else:
            return node


@dataclass
class _Context:
    """What walking one function needs: its file, the file's other functions (inlined where
    called, unless ``known`` says the primitive map describes the call), the helpers being inlined."""

    src: Source
    known: Callable[[str], bool]
    stack: tuple[str, ...] = ()
    inlined: dict[str, list[CPath] | None] = field(default_factory=dict)  # None: cannot be inlined
    pure: Callable[[str], bool] = lambda _n: False  # calls that compute a value from their arguments only
    values: frozenset[str] = frozenset()  # the function's parameters and locals that are not pointers
    pruned: list[tuple[str, ...]] = field(default_factory=list)  # paths whose choices contradict
    reads: int = 0  # memory reads in conditions so far (each one its own value)
    warn: Callable[[InputError], None] = lambda _e: None  # a located warning (an assumption made)
    acting: dict[int, tuple[Call, bool]] = field(default_factory=dict)  # whether a call gives instructions
    keep: frozenset[str] = frozenset()  # macro-table names the map gives a meaning (see macros.py)
    entry_types: frozenset[str] = frozenset()  # the map's [types] entries: an assignment to one is a store
    types: dict[str, CType] = field(default_factory=dict)  # the walked function's declared names
    said: set[str] = field(default_factory=set)  # the macro guesses said so far, by name


MAX_INLINE = 8  # helpers inlined into helpers, at most this deep
_POSTFIX = re.compile(r"[A-Za-z_]\w*(\s*(->|\.)\s*[A-Za-z_]\w*|\[[^\[\]]*\])*|\d+|0[xX][0-9a-fA-F]+")


def function_paths(src: Source, name: str, known: Callable[[str], bool] | None = None,
                   pure: Callable[[str], bool] | None = None,
                   pruned: list[tuple[str, ...]] | None = None,
                   warn: Callable[[InputError], None] | None = None,
                   entry_types: frozenset[str] = frozenset()) -> list[CPath]:
    """The control paths of ``name``. A call to a function defined in the same file is inlined (its
    paths, its parameters replaced by the call's arguments) unless ``known(callee)``: the primitive
    map's meaning wins. Without ``known``, nothing is inlined. A path whose branch choices
    contradict each other is dropped (its conditions appended to ``pruned``); ``pure`` names the
    calls whose value depends on their arguments alone (the map's [pure]). An assignment through a
    pointer to one of ``entry_types`` (the map's [types]) is a store: a call named "=" with the
    target and the value as arguments. The kernel's macros are read as macros.py says, except
    those ``known`` gives a meaning."""
    from . import macros

    knows = known or (lambda _n: True)
    keep = frozenset(n for n in macros.MEANING if knows(n))
    user_pure = pure or (lambda _n: False)
    fn = find_function(src, name, keep)
    cx = _Context(src, knows, (name,), pure=lambda n: user_pure(n) or (n in macros.PURE and n not in keep),
                  warn=warn or (lambda _e: None), keep=keep, entry_types=entry_types)
    got = _walk(cx, fn)
    if pruned is not None:
        pruned += cx.pruned
    return got


def _walk(cx: _Context, fn: Any) -> list[CPath]:
    cx = replace(cx, values=_values(fn), types=_declared(fn))
    _say_guesses(cx, fn)
    body = fn.child_by_field_name("body")
    paths = _block(cx, list(body.named_children), [CPath()])
    for p in paths:
        if p.jumping is not None:
            label, row, col = p.jumping
            raise cx.src.error(row, col, f"goto {label}: the label is not later in a block around the goto; "
                                         "bbmcheck follows forward jumps out of blocks only")
    return paths


def _say_guesses(cx: _Context, fn: Any) -> None:
    """A located warning for each macro guess inside ``fn`` (once per name): what it was read as."""
    lo, hi = fn.start_byte, fn.end_byte
    text = cx.src.text
    for g in _parsed(cx.src, cx.keep).guesses:
        at = len(text[:g.offset].encode("utf-8"))
        if lo <= at < hi and g.name not in cx.said and not cx.known(g.name):
            cx.said.add(g.name)
            row = text.count("\n", 0, g.offset)
            col = len(text[text.rfind("\n", 0, g.offset) + 1:g.offset].encode("utf-8"))
            cx.warn(cx.src.error(row, col, f"macro '{g.name}' guessed: read as {g.what}"))


def _silent(cx: _Context, name: str) -> bool:
    """A macro-table call that computes a value (BIT, container_of ...) the map does not name: no call."""
    from .macros import PURE

    return name in PURE and name not in cx.keep or _CAST.fullmatch(name) is not None


# "(u64)(x)" parses as a call of "(u64)": a cast to a type name, a value
_CAST = re.compile(r"\(\s*[A-Za-z_]\w*\s*\)")


def _bug(cx: _Context, node: Any) -> Any:
    """The condition of a BUG_ON-like statement the map does not name (the path where it holds
    stops), or None."""
    from .macros import BUGS

    node = _bare(node)
    if node.type != "call_expression":
        return None
    name = _text(node.child_by_field_name("function"))
    args = node.child_by_field_name("arguments")
    if name not in BUGS or name in cx.keep or cx.known(name) or args is None or not args.named_children:
        return None
    return args.named_children[0]


def _values(fn: Any) -> frozenset[str]:
    """The parameters and locals of ``fn`` that hold values: declared without ``*`` or ``[]`` and
    never passed by address. Only these are keyed by their own versions; anything else may change
    through memory, so it is keyed by the memory's version."""
    names: set[str] = set()
    taken: set[str] = set()
    stack = [fn]
    while stack:
        n = stack.pop()
        if n.type in ("parameter_declaration", "declaration"):
            for d in n.children_by_field_name("declarator"):
                if d.type == "init_declarator":
                    d = d.child_by_field_name("declarator")
                if d is not None and d.type == "identifier":
                    names.add(_text(d))
        if n.type == "pointer_expression" and n.children and n.children[0].type == "&":
            arg = _bare(n.child_by_field_name("argument"))
            if arg.type == "identifier":
                taken.add(_text(arg))
        stack += n.children
    return frozenset(names - taken)


def _helper(cx: _Context, node: Any) -> tuple[str, Any] | None:
    """The same-file function a call expression calls, if it is to be inlined: one whose body the
    front end can walk (else the call stays a call, which the primitive map may know or the
    expander reports as unknown, as for a function of another file)."""
    name = _text(node.child_by_field_name("function"))
    if cx.known(name) or name in cx.stack or len(cx.stack) > MAX_INLINE:
        return None
    fn = _definitions(cx.src, cx.keep).get(name)
    if fn is None:
        return None
    if name not in cx.inlined:
        inner = replace(cx, stack=cx.stack + (name,), inlined=cx.inlined, pruned=[])
        try:
            cx.inlined[name] = _walk(inner, fn)
        except InputError:
            cx.inlined[name] = None  # e.g. a loop: not inlined
        else:
            cx.pruned += inner.pruned
    return (name, fn) if cx.inlined[name] is not None else None


def _inline(cx: _Context, node: Any, name: str, fn: Any, paths: list[CPath]) -> list[tuple[CPath, bool | None]]:
    """Each caller path continued by each path of the helper ``fn`` (its conditions named after it,
    its parameters replaced by the call's arguments), with the value that helper path returns."""
    got = cx.inlined[name]
    assert got is not None
    args = node.child_by_field_name("arguments")
    actual = [_text(a) for a in args.named_children if a.type != "comment"] if args is not None else []
    # a name, a field of one or an element needs no parentheses wherever the parameter stood
    subst = {prm: (a if _POSTFIX.fullmatch(a) else f"({a})")
             for prm, a in zip(_parameters(fn), actual, strict=False) if prm and prm != a}
    out = []
    for p in paths:
        for h in got:
            q = p.fork()
            before = len(q.calls)
            mine = (q.conds, *q.alternatives)
            theirs = [tuple(f"{name}: {c}" for c in conds) for conds in (h.conds, *h.alternatives)]
            q.conds += theirs[0]
            q.alternatives = tuple(a + b for a in mine for b in theirs[:MAX_ALTERNATIVES])[1:MAX_ALTERNATIVES + 1]
            q.calls += [_renamed(c, subst) for c in h.calls]
            q.bump(MEM, *_address_args(node))  # the helper's own choices are about its own names
            # ... so they drop no path here, but they still say what the entries held: kept as
            # assumptions (their text renamed, each key its own) for the default scenario's situations
            choices = h.known_choices()
            if choices is not None and any(choices):
                cx.reads += 1
                tag = (name, cx.reads)
                if len(choices) == 1:
                    q.assumed += tuple((_renamed_formula(f, subst, tag, before), t) for f, t in choices[0])
                else:  # the helper's merged paths: one of their choices held
                    q.assumed += ((_any_of([[(_renamed_formula(f, subst, tag, before), t) for f, t in c]
                                            for c in choices]), True),)
            out.append((q, h.value))
    return out


def _any_of(choices: list[list[tuple[tuple[Any, ...], bool]]]) -> tuple[Any, ...]:
    """The formula that one of ``choices`` (each a conjunction of (formula, truth)) holds."""
    def conj(c: list[tuple[tuple[Any, ...], bool]]) -> tuple[Any, ...]:
        out: tuple[Any, ...] = ("atom", ("<true>",))
        for f, t in c:
            g = f if t else ("not", f)
            out = g if out == ("atom", ("<true>",)) else ("and", out, g)
        return out

    got = [conj(c) for c in choices]
    if any(g == ("atom", ("<true>",)) for g in got):
        return ("or", ("atom", ("<true>",)), ("not", ("atom", ("<true>",))))  # no choice: always true
    out = got[0]
    for g in got[1:]:
        out = ("or", out, g)
    return out


def _renamed_formula(f: tuple[Any, ...], subst: dict[str, str], tag: object, before: int) -> tuple[Any, ...]:
    """An inlined helper's branch formula in the caller's words: each atom's text with the
    parameters replaced, and a key of its own (``tag``), so it is never taken for a caller's value;
    a read through memory keeps its place among the caller's calls (``before`` came first)."""
    if f[0] in ("atom", "eq"):
        text = str(f[1][0])
        if subst:
            text = re.sub(r"\b(" + "|".join(map(re.escape, subst)) + r")\b", lambda m: subst[m.group(1)], text)
        key = f[1]
        if len(key) == 4 and key[1] == "read":
            return (f[0], (text, "read", (tag, key[2]), before + key[3]), *f[2:])
        return (f[0], (text, "inlined", tag, key), *f[2:])
    return (f[0], *(_renamed_formula(g, subst, tag, before) for g in f[1:]))


def _address_args(node: Any) -> list[str]:
    """The variables a call may change: those given by address (``&x``), and those given by name,
    since a call-like macro may assign its argument."""
    args = node.child_by_field_name("arguments")
    out = []
    for a in args.named_children if args is not None else ():
        a = _bare(a)
        if a.type == "pointer_expression" and a.children and a.children[0].type == "&":
            a = _bare(a.child_by_field_name("argument"))
        if a.type == "identifier":
            out.append(_text(a))
    return out


_WRITES = ("assignment_expression", "update_expression", "init_declarator")


def _store(cx: _Context, node: Any) -> Call | None:
    """The store an assignment makes to a table entry, as the call "=" (target, value); None when
    the target is not a table entry: a variable, a field, or memory whose declared type the map's
    [types] does not name. A target whose type no declaration in the file gives is taken as an
    entry when the stored value has an entry type, and as other memory otherwise; a located
    warning says which."""
    if not cx.entry_types:
        return None
    left = _bare(node.child_by_field_name("left"))
    right = node.child_by_field_name("right")
    if left.type == "pointer_expression" and left.children and left.children[0].type == "*" or (
            left.type == "subscript_expression"):
        target = left.child_by_field_name("argument")
    else:
        return None
    row, col = left.start_point
    what = _text(target)
    declared = _type_of(cx, target)
    if declared is None:
        value = _type_of(cx, right) if right is not None else None
        if value is None or value.depth != 0 or value.name not in cx.entry_types:
            cx.warn(cx.src.error(row, col, f"no declaration of '{what}' found: taken as memory that holds no table "
                                           "entry, so this store is not modelled (declare it, or give the map's "
                                           "[types] its type)"))
            return None
        cx.warn(cx.src.error(row, col, f"no declaration of '{what}' found: taken to point to table entries, "
                                       f"since the value stored is a {value.name}"))
    elif declared.depth != 1 or declared.name not in cx.entry_types:
        return None
    op = node.child_by_field_name("operator")
    if op is not None and op.type != "=":
        raise cx.src.error(row, col, f"'{op.type}' to table entry '{_text(left)}' is not modelled: bbmcheck models "
                                     "a descriptor written whole, by one store (write entry = new value)")
    return Call("=", (_text(left), _text(right)), (left, right), row, col)


def _type_of(cx: _Context, node: Any) -> CType | None:
    """The declared type of expression ``node``, where declarations in the function or the file
    give it: a name, ``*e``, ``&e``, ``e[i]``, ``e->f``, ``e.f`` and casts; else None."""
    node = _bare(node)
    kind = node.type
    if kind == "identifier":
        name = _text(node)
        return cx.types.get(name) or _parsed(cx.src, cx.keep).globals.get(name)
    if kind in ("pointer_expression", "subscript_expression"):
        inner = _type_of(cx, node.child_by_field_name("argument"))
        if inner is None:
            return None
        if kind == "pointer_expression" and node.children[0].type == "&":
            return CType(inner.name, inner.depth + 1)
        return CType(inner.name, inner.depth - 1) if inner.depth > 0 else None
    if kind == "field_expression":
        base = _type_of(cx, node.child_by_field_name("argument"))
        arrow = any(c.type == "->" for c in node.children)
        members = _parsed(cx.src, cx.keep).fields.get(base.name) if base is not None else None
        if base is None or members is None or base.depth != (1 if arrow else 0):
            return None
        return members.get(_text(node.child_by_field_name("field")))
    if kind in ("cast_expression", "compound_literal_expression"):
        described = node.child_by_field_name("type")
        cast = _type_name(described) if described is not None else None
        if cast is None:
            return None
        depth, d = 0, described.child_by_field_name("declarator")
        while d is not None and d.type in ("abstract_pointer_declarator", "abstract_array_declarator"):
            depth += 1
            d = d.child_by_field_name("declarator")
        return CType(cast, depth)
    return None


def _has(node: Any, kinds: tuple[str, ...]) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in kinds:
            return True
        stack += n.named_children
    return False


def _identifiers(node: Any) -> list[str]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            out.append(_text(n))
        elif n.type == "call_expression":
            args = n.child_by_field_name("arguments")
            if args is not None:
                stack.append(args)  # the function's name is not a variable
            continue
        stack += n.named_children
    return out


def _through_memory(cx: _Context, node: Any) -> bool:
    """Whether ``node``'s value may depend on memory: a dereference, an element, a field through a
    pointer, a call not known to be pure, or a name that is not one of the function's values."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in ("pointer_expression", "subscript_expression"):
            return True
        if n.type == "field_expression" and any(c.type == "->" for c in n.children):
            return True
        if n.type == "call_expression":
            if not cx.pure(_text(n.child_by_field_name("function"))):
                return True
            args = n.child_by_field_name("arguments")
            if args is not None:
                stack.append(args)
            continue
        if n.type == "identifier" and _text(n) not in cx.values:
            return True
        stack += n.named_children
    return False


def _formula(cx: _Context, node: Any, p: CPath) -> tuple[Any, ...] | None:
    """Condition ``node`` on path ``p`` as a formula for smt/feasible.py, or None if it calls
    something that is not pure (its value is then not a function of what the path knows)."""
    node = _bare(node)
    if node.type == "call_expression" and _text(node.child_by_field_name("function")) in TRANSPARENT:
        args = [a for a in node.child_by_field_name("arguments").named_children if a.type != "comment"]
        if len(args) == 1:  # likely(x), WARN_ON(x): the value of x
            return _formula(cx, args[0], p)
    if node.type == "unary_expression" and _operator(node) == "!":
        inner = _formula(cx, node.child_by_field_name("argument"), p)
        return None if inner is None else ("not", inner)
    if node.type == "binary_expression" and _operator(node) in ("&&", "||"):
        left = _formula(cx, node.child_by_field_name("left"), p)
        right = _formula(cx, node.child_by_field_name("right"), p)
        if left is None or right is None:
            return None
        return ("and" if _operator(node) == "&&" else "or", left, right)
    if _has(node, _WRITES):
        return None  # its value is not the value its variables had before
    for c in _calls_in(node):
        if not cx.pure(c.name):
            return None
    if node.type == "binary_expression" and _operator(node) in ("==", "!="):
        left, right = _bare(node.child_by_field_name("left")), _bare(node.child_by_field_name("right"))
        if left.type == "number_literal":
            left, right = right, left
        number = _number(right)
        if number is not None:
            eq = ("eq", _key(cx, left, p), number)
            return eq if _operator(node) == "==" else ("not", eq)
    return ("atom", _key(cx, node, p))


def _number(node: Any) -> int | None:
    if node.type != "number_literal":
        return None
    try:
        return int(_text(node).rstrip("uUlL"), 0)
    except ValueError:
        return None


def _key(cx: _Context, node: Any, p: CPath) -> tuple[Any, ...]:
    """What names a value in a condition: its text and the versions of the variables it reads. A
    value read through memory is a new one at every read (another CPU, or the hardware, may have
    written it in between), so it is never the same as another."""
    if _through_memory(cx, node):
        cx.reads += 1
        return (_text(node), "read", cx.reads, len(p.calls))  # and how many calls came before
    names = sorted(set(_identifiers(node)))
    return (_text(node), tuple((n, p.versions.get(n, 0)) for n in names))


def _choose(cx: _Context, node: Any, paths: list[CPath], cond: str, truth: bool) -> list[CPath]:
    """``paths`` forked with the choice that ``node`` is ``truth`` (``cond`` its text), without the
    paths whose choices then contradict each other."""
    out = []
    for p in paths:
        q = p.fork(cond)
        f = _formula(cx, node, q)
        if f is not None:
            atoms = _atom_keys(f)
            earlier = {k for g, _ in q.facts for k in _atom_keys(g)}
            q.facts += ((f, truth),)
            # a choice about atoms seen nowhere else (here or before) cannot contradict anything
            if len(set(atoms)) < len(atoms) or not earlier.isdisjoint(atoms):
                from ..smt.feasible import consistent  # z3 only for paths that need it

                if not consistent(list(q.facts)):
                    cx.pruned.append(q.conds)
                    continue
        out.append(q)
    return out


def _atom_keys(f: tuple[Any, ...]) -> list[object]:
    if f[0] in ("atom", "eq"):
        return [f[1]]
    return [k for g in f[1:] for k in _atom_keys(g)]


def _renamed(call: Call, subst: dict[str, str]) -> Call:
    """``call`` with the helper's parameter names replaced by the caller's arguments."""
    if not subst:
        return call
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, subst)) + r")\b")

    def sub(text: str) -> str:
        return pattern.sub(lambda m: subst[m.group(1)], text)

    return replace(call, name=sub(call.name), args=tuple(sub(a) for a in call.args),
                   renames=call.renames + (tuple(sorted(subst.items())),))


def _returned(node: Any) -> bool | None:
    """The truth of a returned constant: true, false, a number, -ERRNO, NULL; else None."""
    if node is None:
        return None
    node = _bare(node)
    text = _text(node)
    if node.type in ("true", "false"):
        return bool(node.type == "true")
    if text in ("NULL", "false", "true"):
        return text == "true"
    if node.type == "number_literal":
        number = _number(node)
        return None if number is None else number != 0
    if node.type == "unary_expression" and _operator(node) == "-":
        arg = _bare(node.child_by_field_name("argument"))
        if arg.type == "identifier" and arg.text.decode().startswith("E"):
            return True  # -EAGAIN and the like: a nonzero error code
        return _returned(arg)
    return None


def _text(node: Any) -> str:
    return " ".join(node.text.decode("utf-8").split())


def _cond(node: Any) -> str:
    """A condition's text without its outer parentheses."""
    while node.type == "parenthesized_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    return _text(node)


def _call(n: Any, outcome: bool | None = None) -> Call:
    fn = n.child_by_field_name("function")
    args = n.child_by_field_name("arguments")
    nodes = tuple(a for a in args.named_children if a.type != "comment") if args is not None else ()
    return Call(_text(fn), tuple(_text(a) for a in nodes), nodes, n.start_point[0], n.start_point[1], outcome)


def _calls_in(node: Any) -> list[Call]:
    """Outermost calls in ``node``, in source order."""
    out: list[Call] = []

    def visit(n: Any) -> None:
        if n.type == "call_expression":
            out.append(_call(n))
            return
        for c in n.named_children:
            visit(c)

    visit(node)
    return out


def _bare(node: Any) -> Any:
    while node.type == "parenthesized_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def _operator(node: Any) -> str | None:
    op = node.child_by_field_name("operator")
    return op.type if op is not None else None


def _effects(cx: _Context, node: Any, paths: list[CPath]) -> list[CPath]:
    """``paths`` after evaluating ``node`` for its calls: in order, split where ``&&``, ``||`` or
    ``?:`` decide whether a call happens, and where an inlined helper has paths of its own."""
    node = _bare(node)
    if node.type == "gnu_asm_expression":  # inline assembly: its text, for the expander to read
        for p in paths:
            p.calls.append(Call(ASM, (asm_text(node),), (node,), node.start_point[0], node.start_point[1]))
            p.bump(MEM)
        return paths
    if node.type == "call_expression":
        if _silent(cx, _text(node.child_by_field_name("function"))):  # a value: its arguments' calls only
            args = node.child_by_field_name("arguments")
            return _effects(cx, args, paths) if args is not None else paths
        helper = _helper(cx, node)
        if helper is not None:
            return [q for q, _ in _inline(cx, node, *helper, paths)]
        name = _text(node.child_by_field_name("function"))
        changed = [] if cx.pure(name) else [MEM, *_address_args(node)]
        args = node.child_by_field_name("arguments")
        stated = [a for a in args.named_children if a.type != "comment"] if args is not None else []
        for p in paths:
            if name in ASSERTS and len(stated) == 1:  # WARN_ON(x): the author says x is false here
                f = _formula(cx, stated[0], p)
                if f is not None:
                    p.assumed += ((f, False),)
            p.calls.append(_call(node))
            p.bump(*changed)
        return paths
    if node.type == "declaration":  # a declared variable is a new one (it may shadow an older one)
        for c in node.named_children:
            if c.type != "comment":
                paths = _effects(cx, c, paths)
        declared = [_text(d) for d in node.children_by_field_name("declarator") if d.type == "identifier"]
        for p in paths:
            p.bump(*declared)
        return paths
    if node.type in _WRITES:
        # the value is computed (its calls made), then the variable, or memory, changes
        target = node.child_by_field_name("left" if node.type == "assignment_expression" else
                                          "argument" if node.type == "update_expression" else "declarator")
        for c in node.named_children:
            if c != target and c.type != "comment":
                paths = _effects(cx, c, paths)
        store = _store(cx, node) if node.type == "assignment_expression" else None
        target = _bare(target) if target is not None else None
        plain = target is not None and target.type == "identifier"
        changed = [_text(target)] if plain else [MEM, *(_identifiers(target) if target is not None else [])]
        for p in paths:
            if store is not None:
                p.calls.append(store)
            p.bump(*changed)
        return paths
    if not _has(node, ("call_expression", "gnu_asm_expression", *_WRITES)):
        return paths
    if node.type == "binary_expression" and _operator(node) in ("&&", "||"):
        yes, no = _branch(cx, node, paths)
        return yes + no
    if node.type == "conditional_expression":
        yes, no = _branch(cx, node.child_by_field_name("condition"), paths)
        return (_effects(cx, node.child_by_field_name("consequence"), yes)
                + _effects(cx, node.child_by_field_name("alternative"), no))
    for c in node.named_children:
        if c.type != "comment":
            paths = _effects(cx, c, paths)
    return paths


def _branch(cx: _Context, node: Any, paths: list[CPath]) -> tuple[list[CPath], list[CPath]]:
    """(paths on which condition ``node`` is true, paths on which it is false), each after the calls
    the condition makes there (short-circuit), each with the choice in its conditions."""
    node = _bare(node)
    constant = _returned(node) if node.type in ("number_literal", "true", "false") else None
    if constant is not None:  # while (1), if (0): one way only
        return (list(paths), []) if constant else ([], list(paths))
    if not _calls_in(node):
        cond = _text(node)
        paths = _bump_writes(node, paths)  # an assignment in the condition changes its variable
        return _choose(cx, node, paths, cond, True), _choose(cx, node, paths, f"!({cond})", False)
    if node.type == "unary_expression" and _operator(node) == "!":
        yes, no = _branch(cx, node.child_by_field_name("argument"), paths)
        return no, yes
    if node.type == "binary_expression" and _operator(node) == "&&":
        yes, no = _branch(cx, node.child_by_field_name("left"), paths)
        yes2, no2 = _branch(cx, node.child_by_field_name("right"), yes)
        return yes2, no + no2
    if node.type == "binary_expression" and _operator(node) == "||":
        yes, no = _branch(cx, node.child_by_field_name("left"), paths)
        yes2, no2 = _branch(cx, node.child_by_field_name("right"), no)
        return yes + yes2, no2
    cond = _text(node)
    helper = _helper(cx, node) if node.type == "call_expression" else None
    if helper is not None:  # an inlined helper: its paths that return true, false, or either
        yes, no = [], []
        for q, value in _inline(cx, node, *helper, paths):
            if value is not False:
                yes.append(q.fork(cond))
            if value is not True:
                no.append(q.fork(f"!({cond})"))
        return yes, no
    if node.type == "call_expression" and not _silent(cx, _text(node.child_by_field_name("function"))):
        # the call's own value decides: each path knows it
        pure = cx.pure(_text(node.child_by_field_name("function")))
        yes = _choose(cx, node, paths, cond, True)
        no = _choose(cx, node, paths, f"!({cond})", False)
        for p in yes:
            p.calls.append(_call(node, True))
        for p in no:
            p.calls.append(_call(node, False))
        if not pure:
            for p in yes + no:
                p.bump(MEM, *_address_args(node))
        return yes, no
    paths = _effects(cx, node, paths)  # e.g. f(x) == 0: the calls happen, then the comparison chooses
    return _choose(cx, node, paths, cond, True), _choose(cx, node, paths, f"!({cond})", False)


def _bump_writes(node: Any, paths: list[CPath]) -> list[CPath]:
    """``paths`` after the assignments and increments in ``node``, a condition without calls: each
    written variable (or memory) is a new value, whichever way ``&&`` and ``||`` went (a new
    version only keeps a path that pruning could drop: fewer dropped, never more). Not through
    ``_effects``, which would hand a ``&&`` back to ``_branch``."""
    stack = [node]
    changed: list[str] = []
    while stack:
        n = stack.pop()
        if n.type in _WRITES:
            target = n.child_by_field_name("left" if n.type == "assignment_expression" else
                                           "argument" if n.type == "update_expression" else "declarator")
            target = _bare(target) if target is not None else None
            if target is not None and target.type == "identifier":
                changed.append(_text(target))
            else:
                changed += [MEM, *(_identifiers(target) if target is not None else [])]
        stack += n.named_children
    for p in paths:
        p.bump(*changed)
    return paths


def nested_calls(call: Call) -> list[Call]:
    """The calls in ``call``'s arguments, renamed as ``call`` was (an inlined helper's)."""
    from .macros import PURE

    out: list[Call] = []
    for node in call.arg_nodes:
        out += [c for c in _calls_in(node) if c.name not in PURE and not _CAST.fullmatch(c.name)]  # values
    for subst in call.renames:
        out = [_renamed(c, dict(subst)) for c in out]
    return out


def same_text(call: Call, n: int) -> bool:
    """Whether argument ``n``'s syntax tree still reads as the argument (not renamed)."""
    return n < len(call.arg_nodes) and _text(call.arg_nodes[n]) == call.args[n]


MAX_PATHS = 4096  # control paths one function may have
MAX_ALTERNATIVES = 64  # conditions of merged paths kept (for the scenario's [paths]) on the one kept


def _merged(cx: _Context, paths: list[CPath]) -> list[CPath]:
    """``paths`` with those that made the same calls that do something and go on alike (same
    returned value, pending jump and variable versions) kept once: the first, which keeps its
    conditions (the others become its ``alternatives``) but forgets its branch choices (they held
    on only some of the merged paths, so they no longer drop any path: fewer dropped, never more).
    A call the map calls pure, with no call in its arguments, or does not know, gives no
    instruction; the merged paths' such calls are kept on the first, so each is still reported."""
    def acts(c: Call) -> bool:
        if c.name == ASM:
            return True  # what it does is read from its text
        got = cx.acting.get(id(c))
        if got is None or got[0] is not c:  # the entry holds ``c``: no other call can take its id
            got = cx.acting[id(c)] = (c, cx.known(c.name) and not (cx.pure(c.name) and not nested_calls(c)))
        return got[1]

    seen: dict[object, CPath] = {}
    out = []
    for p in paths:
        key = (tuple((c.name, c.args, c.outcome, c.row, c.col) for c in p.calls if acts(c)), p.done, p.broke,
               p.continued, p.jumping, p.value, tuple(sorted(p.versions.items())))
        have = seen.get(key)
        if have is None:
            seen[key] = p
            out.append(p)
            continue
        have.alternatives = (have.alternatives + (p.conds, *p.alternatives))[:MAX_ALTERNATIVES]
        mine, theirs = have.known_choices(), p.known_choices()
        both = None if mine is None or theirs is None else mine + theirs
        have.choices = both if both is not None and len(both) <= MAX_ALTERNATIVES else None
        have.facts = have.assumed = ()
        there = {(c.name, c.row, c.col) for c in have.calls}
        have.calls += [c for c in p.calls if not acts(c) and (c.name, c.row, c.col) not in there]
    return out


def _block(cx: _Context, stmts: list[Any], paths: list[CPath]) -> list[CPath]:
    for stmt in stmts:
        paths = _merged(cx, _stmt(cx, stmt, paths))
        if len(paths) > MAX_PATHS:
            row, col = stmt.start_point
            raise cx.src.error(row, col, f"more than {MAX_PATHS} control paths by here "
                                         f"({len(paths)}); extract a smaller function, or a caller of it "
                                         "with the helpers it calls in the primitive map")
    return paths


def _stmt(cx: _Context, node: Any, paths: list[CPath]) -> list[CPath]:
    kind = node.type
    if kind == "labeled_statement":  # a forward goto's target: the paths jumping here go on from it
        label = _text(node.child_by_field_name("label"))
        for p in paths:
            if p.jumping is not None and p.jumping[0] == label:
                p.jumping = None
        inner = [c for c in node.named_children if c != node.child_by_field_name("label")]
        return _block(cx, inner, paths)
    live = [p for p in paths if not (p.done or p.broke or p.continued or p.jumping)]
    idle = [p for p in paths if p.done or p.broke or p.continued or p.jumping]
    if not live or kind == "comment":
        return paths
    if kind == "compound_statement":
        return idle + _block(cx, list(node.named_children), live)
    if kind == "expression_statement" and node.named_child_count:
        cond = _bug(cx, node.named_children[0])
        if cond is not None:  # BUG_ON(c): the kernel stops where c holds; the paths where it does not go on
            _, going_on = _branch(cx, cond, live)
            return idle + going_on
    if kind in ("expression_statement", "declaration"):
        return idle + _effects(cx, node, live)
    if kind == "return_statement":
        live = _effects(cx, node, live)
        returns = _returned(node.named_children[0] if node.named_child_count else None)
        for p in live:
            p.done = True
            p.value = returns
        return idle + live
    if kind == "break_statement":
        for p in live:
            p.broke = True
        return paths
    if kind == "continue_statement":
        for p in live:
            p.continued = True
        return paths
    if kind in ("for_statement", "while_statement", "do_statement"):
        return idle + _loop(cx, node, live)
    if kind in ("preproc_if", "preproc_ifdef", "preproc_elif", "preproc_else"):
        return idle + _preproc(cx, node, live)
    if kind == "if_statement":
        cons = node.child_by_field_name("consequence")
        alt = node.child_by_field_name("alternative")
        yes_paths, no_paths = _branch(cx, node.child_by_field_name("condition"), live)
        yes = _stmt(cx, cons, yes_paths)
        if alt is not None:
            body = alt.named_children[-1] if alt.type == "else_clause" else alt
            no_paths = _stmt(cx, body, no_paths)
        return idle + yes + no_paths
    if kind == "switch_statement":
        value = _cond(node.child_by_field_name("condition"))
        live = _effects(cx, node.child_by_field_name("condition"), live)  # its calls happen before any case
        body = node.child_by_field_name("body")
        cases = [c for c in body.named_children if c.type == "case_statement"]
        out = list(idle)
        has_default = False
        for i, case in enumerate(cases):
            label_node = case.child_by_field_name("value")
            has_default |= label_node is None
            label = f"{value}={_text(label_node)}" if label_node is not None else f"{value}=default"
            entered = [p.fork(label) for p in live]
            for later in cases[i:]:
                stmts = [c for c in later.named_children if c != later.child_by_field_name("value")]
                entered = _block(cx, stmts, entered)
            for p in entered:
                p.broke = False
            out += entered
        if not has_default:
            out += [p.fork(f"{value}=other") for p in live]
        return out
    if kind == "goto_statement":  # skip to the label, which must come later in an enclosing block
        row, col = node.start_point
        for p in live:
            p.jumping = (_text(node.child_by_field_name("label")), row, col)
        return paths
    return idle + _effects(cx, node, live)


def _preproc(cx: _Context, node: Any, paths: list[CPath]) -> list[CPath]:
    """``#if``/``#ifdef``/``#elif``/``#else`` inside a function: each configuration is a path of
    its own (its condition in the path's conditions), and ``#if 0`` / ``#if 1`` go one way. Before,
    every branch ran one after the other, which is no configuration at all."""
    if node.type == "preproc_else":
        return _block(cx, [c for c in node.named_children if c.type != "comment"], paths)
    cond = node.child_by_field_name("condition") or node.child_by_field_name("name")
    alt = node.child_by_field_name("alternative")
    body = [c for c in node.named_children if c not in (cond, alt) and c.type != "comment"]
    if node.type == "preproc_ifdef":
        text = f"{node.children[0].type} {_text(cond)}" if cond is not None else node.children[0].type
    else:
        text = f"#if {_text(cond)}" if cond is not None else "#if"
    constant = _number(_bare(cond)) if cond is not None and node.type != "preproc_ifdef" else None
    yes = [] if constant == 0 else _block(cx, body, [p.fork(text) if constant is None else p for p in paths])
    if constant not in (None, 0):
        return yes
    rest = [p.fork(f"!({text})") if constant is None else p for p in paths]
    no = _preproc(cx, alt, rest) if alt is not None else rest
    return yes + no


LOOP_BOUND = 2  # iterations of a loop a path may run


def _loop(cx: _Context, node: Any, paths: list[CPath]) -> list[CPath]:
    """A ``for``, ``while`` or ``do`` loop unrolled: the paths that leave it after at most
    ``LOOP_BOUND`` iterations (by its condition, ``break`` or ``return``). A path that would run
    another iteration is not followed; the warning says so, and if no path leaves, it is an error."""
    kind = node.type
    cond = node.child_by_field_name("condition")
    update = node.child_by_field_name("update") if kind == "for_statement" else None
    if kind == "for_statement":
        init = node.child_by_field_name("initializer")
        if init is not None:
            paths = _stmt(cx, init, paths) if init.type == "declaration" else _effects(cx, init, paths)
    body = node.child_by_field_name("body")
    out: list[CPath] = []
    running = paths
    cut = 0
    for i in range(LOOP_BOUND + 1):
        if kind != "do_statement" or i > 0:
            if cond is not None:
                running, leave = _branch(cx, cond, running)
                out += leave
        if i == LOOP_BOUND or not running:
            cut = len(running)
            break
        running = _stmt(cx, body, running)
        on = []
        for p in running:
            if p.done or p.broke or p.jumping:
                p.broke = False
                out.append(p)
            else:
                p.continued = False
                on.append(p)
        running = on
        if update is not None:
            running = _effects(cx, update, running)
    row, col = node.start_point
    what = kind.replace("_statement", "")
    if not out:
        raise cx.src.error(row, col, f"no path leaves this {what} loop within {LOOP_BOUND} iterations: "
                                     "bbmcheck unrolls loops that far")
    if cut:
        cx.warn(cx.src.error(row, col, f"{what} loop unrolled to {LOOP_BOUND} iterations: {cut} path(s) that "
                                       "would run it again are not checked"))
    return out
