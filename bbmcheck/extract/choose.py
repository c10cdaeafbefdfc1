"""Which bundled primitive map fits a function: the one that knows most of its calls.

    name, note = choose_map(read_source("p2m.c"), "__p2m_set_entry")

Each bundled map is scored by the calls the function makes, and the same-file helpers it calls
make (as deep as the front end would inline them), that the map gives a meaning: first the
helpers it describes ([primitives], [dispatch]: what decides the model), then, to break a tie,
the value helpers it names ([pure]) and the entry types it declares ([types]) among the
function's declarations. The best map wins; a tie, or a function no map knows anything of, is a
located error that asks for --primitives. The note says which map was chosen and by which calls.
"""

from __future__ import annotations

from typing import Any

from .c_paths import MAX_INLINE, _declared, _definitions, _text, find_function
from .macros import MEANING
from .mapping import BUNDLED_MAPS, PrimitiveMap, load_primitives
from .source import Source

SHOWN = 4  # calls named in the note


def choose_map(src: Source, function: str) -> tuple[str, str]:
    """(bundled map name, note): the map that knows most of ``function``'s calls."""
    keep = MEANING  # read every macro as the call it is written as: the maps know some by name
    types: set[str] = set()
    if src.kind == "asm":
        names, where = _asm_calls(src, function), _asm_label(src, function)
        if not names:  # its instructions are its own: no map is read, and there is nothing to say
            return BUNDLED_MAPS[0], ""
    else:
        fn = find_function(src, function, keep)
        names, types = _calls(src, fn, keep)
        where = (fn.start_point[0], fn.start_point[1])
    scores = []
    for name in BUNDLED_MAPS:
        pmap = load_primitives(name)
        acting = sorted(n for n in names if _acts(pmap, n))
        values = sorted(n for n in names if n in pmap.pure) + sorted(types & pmap.entry_types)
        scores.append(((len(acting), len(values)), name, acting or values))
    scores.sort(key=lambda s: s[0], reverse=True)
    best, second = scores[0], scores[1]
    if best[0] == (0, 0):
        raise src.error(*where, f"no bundled primitive map knows a call of '{function}' (tried "
                        f"{', '.join(BUNDLED_MAPS)}); say which with --primitives MAP")
    if best[0] == second[0]:
        tied = [s[1] for s in scores if s[0] == best[0]]
        if len({_meaning(load_primitives(t), names) for t in tied}) > 1:
            raise src.error(*where, f"the primitive maps {' and '.join(tied)} know as many calls of '{function}' "
                            f"({', '.join(best[2][:SHOWN])}) and differ on them; say which with --primitives MAP")
        first = min(tied, key=BUNDLED_MAPS.index)
        return first, (f"primitive map {first} chosen: {', '.join(tied)} know the same {len(best[2])} calls of "
                       f"'{function}' ({', '.join(best[2][:SHOWN])}) and say the same of each "
                       "(--primitives chooses another)")
    shown = ", ".join(best[2][:SHOWN]) + (f" and {len(best[2]) - SHOWN} more" if len(best[2]) > SHOWN else "")
    what = "calls" if best[0][0] else "value helpers and entry types"
    return best[1], (f"primitive map {best[1]} chosen: it knows {len(best[2])} of the {what} of '{function}' "
                     f"({shown}); the next, {second[1]}, knows {second[0][0]} (--primitives chooses another)")


def _meaning(pmap: PrimitiveMap, names: set[str]) -> tuple[object, ...]:
    """What ``pmap`` says of each of ``names``: maps that say the same are alike for the function."""
    return tuple((n, pmap.primitives.get(n), pmap.fails.get(n), pmap.dispatch.get(n), n in pmap.pure,
                  tuple(sorted((k, v) for k, v in pmap.primitives.items() if k.startswith(n + ":"))))
                 for n in sorted(names))


def _acts(pmap: PrimitiveMap, name: str) -> bool:
    return name in pmap.primitives or name in pmap.dispatch or any(k.startswith(name + ":") for k in pmap.primitives)


def _calls(src: Source, fn: Any, keep: frozenset[str]) -> tuple[set[str], set[str]]:
    """The names ``fn`` calls and the types it declares, with those of the same-file helpers it
    calls (inlining depth bounded as in c_paths)."""
    defs = _definitions(src, keep)
    names: set[str] = set()
    types: set[str] = set()
    seen = {id(fn)}
    todo = [(fn, 0)]
    while todo:
        node, depth = todo.pop()
        types |= {t.name for t in _declared(node).values()}
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "call_expression":
                callee = n.child_by_field_name("function")
                name = _text(callee)
                names.add(name)
                helper = defs.get(name)
                if helper is not None and id(helper) not in seen and depth < MAX_INLINE:
                    seen.add(id(helper))
                    todo.append((helper, depth + 1))
            stack += n.named_children
    return names, types


def _asm_label(src: Source, function: str) -> tuple[int, int]:
    for row, line in enumerate(src.text.split("\n")):
        if line.strip().startswith(function + ":"):
            return row, line.index(function)
    raise src.error(0, 0, f"no label '{function}:' in {src.path}")


def _asm_calls(src: Source, function: str) -> set[str]:
    """The ``bl`` targets of an assembly function (its label up to ``ret``)."""
    from .asm import asm_path

    path, _ = asm_path(src, function)
    return {c.name for c in path.calls}
