"""Whether the branch choices of one extracted C path can all hold together (``extract/c_paths``).

A choice is a formula over atoms written as nested tuples, so that the C front end needs no
solver: ``("atom", key)`` a truth value named by ``key``; ``("eq", key, n)`` the integer named by
``key`` equals ``n``; ``("not", f)``, ``("and", f, g)``, ``("or", f, g)``. Equal keys are the same
value (the front end puts the versions of what a condition reads into its key, so a value that may
have changed in between has another key). z3 decides the conjunction through ``solver.solve``; an
unknown answer keeps the path, so only a proved contradiction drops one.
"""

from __future__ import annotations

from typing import Any

import z3

from .solver import solve

Formula = tuple[Any, ...]


def consistent(choices: list[tuple[Formula, bool]]) -> bool:
    """False only if no assignment of the atoms makes every ``(formula, truth)`` hold."""
    names: dict[tuple[str, object], Any] = {}

    def term(f: Formula) -> Any:
        op = f[0]
        if op == "atom":
            key = ("b", f[1])
            if key not in names:
                names[key] = z3.Bool(f"b{len(names)}")
            return names[key]
        if op == "eq":
            key = ("i", f[1])
            if key not in names:
                names[key] = z3.Int(f"i{len(names)}")
            return names[key] == f[2]
        if op == "not":
            return z3.Not(term(f[1]))
        if op == "and":
            return z3.And(term(f[1]), term(f[2]))
        if op == "or":
            return z3.Or(term(f[1]), term(f[2]))
        raise ValueError(f"not a branch formula: {f!r}")

    formulas = [term(f) if truth else z3.Not(term(f)) for f, truth in choices]
    return not solve(*formulas).unsat
