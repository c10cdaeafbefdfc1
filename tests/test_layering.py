"""The import graph: no cycles, and no import against the flow of ARCHITECTURE.md.

Every ``import`` and ``from ... import`` of a bbmcheck module is an edge, also those inside
functions; only imports under ``if TYPE_CHECKING:`` (annotations, never executed) are left out.
A module may import from its own layer and the layers below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent / "bbmcheck"

# lowest first; a package name stands for every module under it
LAYERS: list[tuple[str, ...]] = [
    ("bbmcheck.errors", "bbmcheck.paths", "bbmcheck.results"),
    ("bbmcheck.arch",),
    ("bbmcheck.sequences",),
    ("bbmcheck.system",),
    ("bbmcheck.replay", "bbmcheck.engines.base"),
    ("bbmcheck.engines", "bbmcheck.smt", "bbmcheck.trace"),
    ("bbmcheck.verify", "bbmcheck.extract", "bbmcheck.testing"),
    ("bbmcheck.report",),
    ("bbmcheck.cli", "bbmcheck.pytest_plugin", "bbmcheck.__main__"),
]


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in ROOT.rglob("*.py")}


def _edges() -> list[tuple[str, str, int]]:
    mods = _modules()
    out = []
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                       for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module for a in node.names]
            out += [(name, t, node.lineno) for t in targets if t.startswith("bbmcheck") and t != name]
    return out


def _layer(module: str) -> int:
    best = None
    for i, names in enumerate(LAYERS):
        for n in names:
            if (module == n or module.startswith(n + ".")) and (best is None or len(n) > best[1]):
                best = (i, len(n))
    if module == "bbmcheck":
        return len(LAYERS) - 1  # the package itself (its __version__) is read by everyone: top and bottom
    assert best is not None, f"{module} is in no layer of tests/test_layering.py"
    return best[0]


def test_every_module_has_a_layer() -> None:
    for name in _modules():
        _layer(name)


def test_no_import_cycles() -> None:
    g = nx.DiGraph((a, b) for a, b, _line in _edges())
    cycles = list(nx.simple_cycles(g))
    assert not cycles, cycles[:5]


def test_no_import_against_the_flow() -> None:
    wrong = [f"{a} (line {line}) imports {b}" for a, b, line in _edges()
             if b != "bbmcheck" and _layer(b) > _layer(a)]
    assert not wrong, "\n".join(wrong)


def test_z3_only_under_smt() -> None:
    found = []
    for name, path in _modules().items():
        if name.startswith("bbmcheck.smt"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{name}: {n}" for n in names if n.split(".")[0] in ("z3", "cvc5")]
    assert not found, found
