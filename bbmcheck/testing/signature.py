"""What two searches of one question must agree on, for the conformance tests of every reduction
(vCPU cutoff, per-address decomposition): verdicts, implementation conditions, persistence,
windows, causes, lines, witnesses and the lengths of the shortest traces."""

from __future__ import annotations

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
