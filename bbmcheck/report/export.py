"""Write a result's counterexamples to a folder, in any of the views, without clobbering files
bbmcheck did not write.

Each trace is ``<model>.<property>[.after-completion].<ext>``, the model's name made a safe file
name by :func:`bbmcheck.paths.safe_name` (so every file lies inside the folder, whatever the name
says); SARIF is one log per model. A file that already exists is replaced only if bbmcheck provably
wrote it: it begins with the exact header bbmcheck writes in that format (for ITF and SARIF, the JSON
document's own tool fields). Anything else (another program's file, a user's note that mentions
bbmcheck, a folder or a symbolic link at that name) stops the export with one located error and
nothing written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..paths import begins_with, finding_stem, folder_problem, inside, safe_name
from ..results import Result
from ..trace.itf import FORMAT_URL
from . import dot, html, itf, mermaid, sarif, trace_text

FORMATS = ("itf", "text", "mermaid", "dot", "html", "sarif")
EXT = {"itf": "itf.json", "text": "txt", "mermaid": "mmd", "dot": "dot", "html": "html", "sarif": "sarif"}
RENDER: dict[str, Callable[[dict[str, Any]], str]] = {
    "itf": itf.render, "text": trace_text.render, "mermaid": mermaid.render, "dot": dot.render, "html": html.render,
}
# the exact beginning of every file bbmcheck writes in a text format
HEADERS = {
    "text": f"{trace_text.MARKER}: bbmcheck counterexample: ",
    "mermaid": f"{mermaid.MARKER}: bbmcheck counterexample: ",
    "dot": f"{dot.MARKER}: bbmcheck counterexample: ",
    "html": html.PAGE.split("__MARKER__")[0] + html.MARKER + "\n",
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
            out.append((finding_stem(result.model, f.property), f.trace.itf))
        if f.persisting_trace is not None and f.persisting_trace != f.trace:
            out.append((finding_stem(result.model, f.property, after_completion=True), f.persisting_trace.itf))
    return out


def written_by_bbmcheck(path: Path, fmt: str) -> bool:
    """Whether the regular file ``path`` is one bbmcheck wrote in format ``fmt``: a text format by its
    exact header, ITF and SARIF by their whole JSON (a SARIF log of any size is recognised)."""
    if fmt in HEADERS:
        return begins_with(path, HEADERS[fmt])
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return False
    if not isinstance(doc, dict):
        return False
    if fmt == "itf":
        meta = doc.get("#meta")
        return isinstance(meta, dict) and meta.get("tool") == "bbmcheck" and meta.get("format") == "ITF" \
            and meta.get("format-description") == FORMAT_URL and isinstance(doc.get("states"), list)
    runs = doc.get("runs")
    driver = runs[0].get("tool", {}).get("driver", {}) if isinstance(runs, list) and runs and isinstance(
        runs[0], dict) and isinstance(runs[0].get("tool"), dict) else {}
    return doc.get("$schema") == sarif.SCHEMA and doc.get("version") == "2.1.0" and isinstance(driver, dict) \
        and driver.get("name") == "bbmcheck"


def write_traces(result: Result, outdir: str, formats: tuple[str, ...]) -> list[Path]:
    problem = folder_problem(outdir)
    if problem is not None:
        raise InputError("<command-line>", 1, 1, f"--trace-out: {problem}")
    root = Path(outdir)
    planned: list[tuple[Path, str, str]] = []
    docs = documents(result)
    for stem, doc in docs:
        for fmt in formats:
            if fmt != "sarif":
                planned.append((inside(root, f"{stem}.{EXT[fmt]}"), fmt, render(doc, fmt)))
    if "sarif" in formats and docs:
        planned.append((inside(root, f"{safe_name(result.model)}.sarif"), "sarif",
                        sarif.render([d for _, d in docs])))
    for path, fmt, _ in planned:
        if os.path.islink(path):
            raise InputError(str(path), 1, 1, "is a symbolic link; bbmcheck writes only regular files, not "
                                              "overwriting it")
        if path.is_dir():
            raise InputError(str(path), 1, 1, "is a folder where bbmcheck would write a trace; not replacing it")
        if path.exists() and (not path.is_file() or not written_by_bbmcheck(path, fmt)):
            raise InputError(str(path), 1, 1, "exists and was not written by bbmcheck; not overwriting it")
    for path, _, text in planned:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        except OSError as e:
            raise InputError(str(path), 1, 1, f"cannot write: {e.strerror or e}") from None
    return [p for p, _, _ in planned]
