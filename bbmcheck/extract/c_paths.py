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

    def fork(self, cond: str | None = None) -> CPath:
        return replace(self, conds=self.conds + ((cond,) if cond else ()), calls=list(self.calls))


def _parser() -> Any:
    import tree_sitter as ts
    import tree_sitter_c as tsc

    return ts.Parser(ts.Language(tsc.language()))


def find_function(src: Source, name: str) -> Any:
    tree = _parser().parse(src.text.encode("utf-8"))
    found = []
    stack = [tree.root_node]
    while stack:  # iterative: code nested thousands deep must not exhaust Python's recursion
        node = stack.pop()
        if node.type == "function_definition":
            decl = node.child_by_field_name("declarator")
            while decl is not None and decl.type != "function_declarator":
                decl = decl.child_by_field_name("declarator")
            ident = decl.child_by_field_name("declarator") if decl is not None else None
            if ident is not None and ident.text.decode("utf-8", errors="replace") == name:
                found.append(node)
                continue
        stack += reversed(node.children)
    if not found:
        raise src.error(0, 0, f"no function '{name}' in {src.path}")
    fn = found[0]
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


def function_paths(src: Source, name: str) -> list[CPath]:
    fn = find_function(src, name)
    body = fn.child_by_field_name("body")
    paths = _block(src, list(body.named_children), [CPath()])
    return paths


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


def _effects(node: Any, paths: list[CPath]) -> list[CPath]:
    """``paths`` after evaluating ``node`` for its calls: in order, split where ``&&``, ``||`` or
    ``?:`` decide whether a call happens."""
    node = _bare(node)
    if node.type == "call_expression":
        for p in paths:
            p.calls.append(_call(node))
        return paths
    if not _calls_in(node):
        return paths
    if node.type == "binary_expression" and _operator(node) in ("&&", "||"):
        yes, no = _branch(node, paths)
        return yes + no
    if node.type == "conditional_expression":
        yes, no = _branch(node.child_by_field_name("condition"), paths)
        return (_effects(node.child_by_field_name("consequence"), yes)
                + _effects(node.child_by_field_name("alternative"), no))
    for c in node.named_children:
        if c.type != "comment":
            paths = _effects(c, paths)
    return paths


def _branch(node: Any, paths: list[CPath]) -> tuple[list[CPath], list[CPath]]:
    """(paths on which condition ``node`` is true, paths on which it is false), each after the calls
    the condition makes there (short-circuit), each with the choice in its conditions."""
    node = _bare(node)
    if not _calls_in(node):
        cond = _text(node)
        return [p.fork(cond) for p in paths], [p.fork(f"!({cond})") for p in paths]
    if node.type == "unary_expression" and _operator(node) == "!":
        yes, no = _branch(node.child_by_field_name("argument"), paths)
        return no, yes
    if node.type == "binary_expression" and _operator(node) == "&&":
        yes, no = _branch(node.child_by_field_name("left"), paths)
        yes2, no2 = _branch(node.child_by_field_name("right"), yes)
        return yes2, no + no2
    if node.type == "binary_expression" and _operator(node) == "||":
        yes, no = _branch(node.child_by_field_name("left"), paths)
        yes2, no2 = _branch(node.child_by_field_name("right"), no)
        return yes + yes2, no2
    cond = _text(node)
    if node.type == "call_expression":  # the call's own value decides: each path knows it
        yes = [p.fork(cond) for p in paths]
        no = [p.fork(f"!({cond})") for p in paths]
        for p in yes:
            p.calls.append(_call(node, True))
        for p in no:
            p.calls.append(_call(node, False))
        return yes, no
    paths = _effects(node, paths)  # e.g. f(x) == 0: the calls happen, then the comparison chooses
    return [p.fork(cond) for p in paths], [p.fork(f"!({cond})") for p in paths]


def nested_calls(call: Call) -> list[Call]:
    out: list[Call] = []
    for node in call.arg_nodes:
        out += _calls_in(node)
    return out


def _block(src: Source, stmts: list[Any], paths: list[CPath]) -> list[CPath]:
    for stmt in stmts:
        paths = _stmt(src, stmt, paths)
    return paths


def _stmt(src: Source, node: Any, paths: list[CPath]) -> list[CPath]:
    live = [p for p in paths if not p.done and not p.broke]
    idle = [p for p in paths if p.done or p.broke]
    kind = node.type
    if not live or kind == "comment":
        return paths
    if kind == "compound_statement":
        return idle + _block(src, list(node.named_children), live)
    if kind in ("expression_statement", "declaration"):
        return idle + _effects(node, live)
    if kind == "return_statement":
        live = _effects(node, live)
        for p in live:
            p.done = True
        return idle + live
    if kind == "break_statement":
        for p in live:
            p.broke = True
        return paths
    if kind == "if_statement":
        cons = node.child_by_field_name("consequence")
        alt = node.child_by_field_name("alternative")
        yes_paths, no_paths = _branch(node.child_by_field_name("condition"), live)
        yes = _stmt(src, cons, yes_paths)
        if alt is not None:
            body = alt.named_children[-1] if alt.type == "else_clause" else alt
            no_paths = _stmt(src, body, no_paths)
        return idle + yes + no_paths
    if kind == "switch_statement":
        value = _cond(node.child_by_field_name("condition"))
        live = _effects(node.child_by_field_name("condition"), live)  # its calls happen before any case
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
                entered = _block(src, stmts, entered)
            for p in entered:
                p.broke = False
            out += entered
        if not has_default:
            out += [p.fork(f"{value}=other") for p in live]
        return out
    if kind in ("for_statement", "while_statement", "do_statement", "goto_statement", "labeled_statement"):
        row, col = node.start_point
        raise src.error(row, col, f"{kind.replace('_statement', '')} is not supported: bbmcheck extracts "
                                  "straight-line paths through switch and if/else only")
    calls = _calls_in(node)
    for p in live:
        p.calls.extend(calls)
    return paths
