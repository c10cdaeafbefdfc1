"""Write a result's counterexamples to a folder, in any of the views, without clobbering files
bbmcheck did not write.

Each trace is ``<model>.<property>[.after-completion].<ext>``; SARIF is one log per model. A file
that already exists is replaced only if it carries bbmcheck's marker (so it came from an earlier
run); anything else stops the export with an error and nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..report import dot, html, mermaid, sarif, trace_text
from ..results import Result
from . import itf

FORMATS = ("itf", "text", "mermaid", "dot", "html", "sarif")
EXT = {"itf": "itf.json", "text": "txt", "mermaid": "mmd", "dot": "dot", "html": "html", "sarif": "sarif"}
MARKERS = {"itf": '"tool": "bbmcheck"', "text": trace_text.MARKER, "mermaid": mermaid.MARKER, "dot": dot.MARKER,
           "html": html.MARKER, "sarif": sarif.MARKER}
RENDER: dict[str, Callable[[dict[str, Any]], str]] = {
    "itf": itf.dumps, "text": trace_text.render, "mermaid": mermaid.render, "dot": dot.render, "html": html.render,
}


def render(doc: dict[str, Any], fmt: str) -> str:
    if fmt == "sarif":
        return sarif.render([doc])
    return RENDER[fmt](doc)


def documents(result: Result) -> list[tuple[str, dict[str, Any]]]:
    """(file stem, ITF document) for every counterexample in the result, in property order."""
    out = []
    for f in result.findings:
        if f.trace is not None:
            out.append((f"{result.model}.{f.property}", f.trace.itf))
        if f.persisting_trace is not None and f.persisting_trace != f.trace:
            out.append((f"{result.model}.{f.property}.after-completion", f.persisting_trace.itf))
    return out


def write_traces(result: Result, outdir: str, formats: tuple[str, ...]) -> list[Path]:
    root = Path(outdir)
    if root.exists() and not root.is_dir():
        raise InputError("<command-line>", 1, 1, f"--trace-out {outdir} exists and is not a folder")
    planned: list[tuple[Path, str, str]] = []
    docs = documents(result)
    for stem, doc in docs:
        for fmt in formats:
            if fmt != "sarif":
                planned.append((root / f"{stem}.{EXT[fmt]}", fmt, render(doc, fmt)))
    if "sarif" in formats and docs:
        planned.append((root / f"{result.model}.sarif", "sarif", sarif.render([d for _, d in docs])))
    for path, fmt, _ in planned:
        if path.exists():
            head = path.read_text(encoding="utf-8", errors="replace")[:4096]
            if MARKERS[fmt] not in head:
                raise InputError(str(path), 1, 1, "exists and was not written by bbmcheck; not overwriting it")
    root.mkdir(parents=True, exist_ok=True)
    for path, _, text in planned:
        path.write_text(text, encoding="utf-8")
    return [p for p, _, _ in planned]
