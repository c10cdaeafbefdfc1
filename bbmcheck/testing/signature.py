"""What two searches of one question must agree on, for the conformance tests of every reduction
(vCPU cutoff, per-address decomposition): verdicts, implementation conditions, persistence,
windows, causes, lines, witnesses and the lengths of the shortest traces."""

from __future__ import annotations

from typing import Any

from ..results import Result


def signature(result: Result) -> dict[str, object]:
    assert result.complete, result.stop_reason
    out: dict[str, object] = {"witnesses": result.witnesses}
    for f in result.findings:
        out[f.property] = (f.verdict.word, f.violated_when, f.persisting_when, f.window, f.causes, f.at_lines,
                           len(f.trace.steps) if f.trace else None,
                           len(f.persisting_trace.steps) if f.persisting_trace else None)
    return out


def difference(a: Result, b: Result) -> str:
    """The properties on which ``a`` and ``b`` disagree ("" when they agree)."""
    x, y = signature(a), signature(b)
    return "; ".join(f"{k}: {x[k]} != {y[k]}" for k in x if x[k] != y[k])


def occurrences_summary(ex: Any, s: Any) -> dict[object, object]:
    """What two searches of one compiled system must agree on (the conformance tests of the
    reductions inside one search: collapsed runs, repeating blocks): per (property, class) the
    shortest depth, the pcs (a collapsed run's pcs for its first), the updater pcs, the causes and
    the shortest depth after completion; the classes that finish; whether it is complete."""
    from ..system.collapse import spans

    runs = spans(s)
    out: dict[object, object] = {"done": sorted(ex.done_reached), "complete": ex.complete}
    for key, o in sorted(ex.occurrences.items()):
        pcs = set(o.pcs)
        for a in list(pcs):
            pcs.update(runs.get(a, ()))
        out[key] = (o.depth, sorted(pcs), sorted(o.instr_pcs), sorted(o.causes),
                    None if o.persisting is None else o.persisting[0])
    return out
