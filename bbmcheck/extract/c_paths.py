"""Control paths through one C function (parsed with tree-sitter's C grammar): the helper calls
each path makes, in order, and the conditions that select it (switch cases with fall-through,
if/else). Loops and goto are refused: one path per feasible branch choice is the model.

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

from .source import Source


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[str, ...]
    arg_nodes: tuple[Any, ...]
    row: int
    col: int
    outcome: bool | None = None  # the value the path's branch gives the call's result (None: not decided)


@dataclass
class CPath:
    conds: tuple[str, ...] = ()
    calls: list[Call] = field(default_factory=list)
    done: bool = False  # returned
    broke: bool = False  # left the innermost switch
    value: bool | None = None  # what it returned, where the return is a constant (true, 0, -EAGAIN, NULL)

    def fork(self, cond: str | None = None) -> CPath:
        return replace(self, conds=self.conds + ((cond,) if cond else ()), calls=list(self.calls))


def _parser() -> Any:
    import tree_sitter as ts
    import tree_sitter_c as tsc

    return ts.Parser(ts.Language(tsc.language()))


def _definitions(src: Source) -> dict[str, Any]:
    """The file's function definitions by name (the first of a name), in one parse per file."""
    got = _DEFINED.get(id(src))
    if got is not None and got[0] is src:
        return got[1]
    tree = _parser().parse(src.text.encode("utf-8"))
    found: dict[str, Any] = {}
    stack = [tree.root_node]
    while stack:  # iterative: code nested thousands deep must not exhaust Python's recursion
        node = stack.pop()
        if node.type == "function_definition":
            decl = node.child_by_field_name("declarator")
            while decl is not None and decl.type != "function_declarator":
                decl = decl.child_by_field_name("declarator")
            ident = decl.child_by_field_name("declarator") if decl is not None else None
            if ident is not None:
                found.setdefault(ident.text.decode("utf-8", errors="replace"), node)
                continue
        stack += reversed(node.children)
    _DEFINED.clear()  # one file at a time; the entry holds ``src``, so its id stays its own
    _DEFINED[id(src)] = (src, found)
    return found


_DEFINED: dict[int, tuple[Source, dict[str, Any]]] = {}


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


def find_function(src: Source, name: str) -> Any:
    fn = _definitions(src).get(name)
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
    inlined: dict[str, list[CPath]] = field(default_factory=dict)


MAX_INLINE = 8  # helpers inlined into helpers, at most this deep
_POSTFIX = re.compile(r"[A-Za-z_]\w*(\s*(->|\.)\s*[A-Za-z_]\w*|\[[^\[\]]*\])*|\d+|0[xX][0-9a-fA-F]+")


def function_paths(src: Source, name: str, known: Callable[[str], bool] | None = None) -> list[CPath]:
    """The control paths of ``name``. A call to a function defined in the same file is inlined (its
    paths, its parameters replaced by the call's arguments) unless ``known(callee)``: the primitive
    map's meaning wins. Without ``known``, nothing is inlined."""
    fn = find_function(src, name)
    cx = _Context(src, known or (lambda _n: True), (name,))
    return _walk(cx, fn)


def _walk(cx: _Context, fn: Any) -> list[CPath]:
    body = fn.child_by_field_name("body")
    return _block(cx, list(body.named_children), [CPath()])


def _helper(cx: _Context, node: Any) -> tuple[str, Any] | None:
    """The same-file function a call expression calls, if it is to be inlined."""
    name = _text(node.child_by_field_name("function"))
    if cx.known(name) or name in cx.stack or len(cx.stack) > MAX_INLINE:
        return None
    fn = _definitions(cx.src).get(name)
    return (name, fn) if fn is not None else None


def _inline(cx: _Context, node: Any, name: str, fn: Any, paths: list[CPath]) -> list[tuple[CPath, bool | None]]:
    """Each caller path continued by each path of the helper ``fn`` (its conditions named after it,
    its parameters replaced by the call's arguments), with the value that helper path returns."""
    got = cx.inlined.get(name)
    if got is None:
        inner = replace(cx, stack=cx.stack + (name,), inlined=cx.inlined)
        got = cx.inlined[name] = _walk(inner, fn)
    args = node.child_by_field_name("arguments")
    actual = [_text(a) for a in args.named_children if a.type != "comment"] if args is not None else []
    # a name, a field of one or an element needs no parentheses wherever the parameter stood
    subst = {prm: (a if _POSTFIX.fullmatch(a) else f"({a})")
             for prm, a in zip(_parameters(fn), actual, strict=False) if prm and prm != a}
    out = []
    for p in paths:
        for h in got:
            q = p.fork()
            q.conds += tuple(f"{name}: {c}" for c in h.conds)
            q.calls += [_renamed(c, subst) for c in h.calls]
            out.append((q, h.value))
    return out


def _renamed(call: Call, subst: dict[str, str]) -> Call:
    """``call`` with the helper's parameter names replaced by the caller's arguments."""
    if not subst:
        return call
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, subst)) + r")\b")

    def sub(text: str) -> str:
        return pattern.sub(lambda m: subst[m.group(1)], text)

    args = tuple(sub(a) for a in call.args)
    # a changed argument's syntax tree is the helper's text: the scenario reads the new text instead
    nodes = tuple(n if a == b else None for n, a, b in zip(call.arg_nodes, call.args, args, strict=False))
    return replace(call, name=sub(call.name), args=args, arg_nodes=nodes)


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
        try:
            return int(text.rstrip("uUlL"), 0) != 0
        except ValueError:
            return None
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
    if node.type == "call_expression":
        helper = _helper(cx, node)
        if helper is not None:
            return [q for q, _ in _inline(cx, node, *helper, paths)]
        for p in paths:
            p.calls.append(_call(node))
        return paths
    if not _calls_in(node):
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
    if not _calls_in(node):
        cond = _text(node)
        return [p.fork(cond) for p in paths], [p.fork(f"!({cond})") for p in paths]
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
    if node.type == "call_expression":  # the call's own value decides: each path knows it
        yes = [p.fork(cond) for p in paths]
        no = [p.fork(f"!({cond})") for p in paths]
        for p in yes:
            p.calls.append(_call(node, True))
        for p in no:
            p.calls.append(_call(node, False))
        return yes, no
    paths = _effects(cx, node, paths)  # e.g. f(x) == 0: the calls happen, then the comparison chooses
    return [p.fork(cond) for p in paths], [p.fork(f"!({cond})") for p in paths]


def nested_calls(call: Call) -> list[Call]:
    out: list[Call] = []
    for node in call.arg_nodes:
        out += _calls_in(node)
    return out


def _block(cx: _Context, stmts: list[Any], paths: list[CPath]) -> list[CPath]:
    for stmt in stmts:
        paths = _stmt(cx, stmt, paths)
    return paths


def _stmt(cx: _Context, node: Any, paths: list[CPath]) -> list[CPath]:
    live = [p for p in paths if not p.done and not p.broke]
    idle = [p for p in paths if p.done or p.broke]
    kind = node.type
    if not live or kind == "comment":
        return paths
    if kind == "compound_statement":
        return idle + _block(cx, list(node.named_children), live)
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
    if kind in ("for_statement", "while_statement", "do_statement", "goto_statement", "labeled_statement"):
        row, col = node.start_point
        raise cx.src.error(row, col, f"{kind.replace('_statement', '')} is not supported: bbmcheck extracts "
                                  "straight-line paths through switch and if/else only")
    return idle + _effects(cx, node, live)
