"""The human report: one line per property, then each violation's counterexample, then statistics."""

from __future__ import annotations

from .. import __version__
from ..arch.config import CHOICE_MEANING, CHOICE_RULES
from ..results import Finding, Result, Trace, Verdict
from .escape import terminal_lines


def explain_condition(cond: str) -> str:
    """'nt_fault=always' -> 'implementations that take a Translation fault on nT=1 blocks (RMRRPW)'."""
    parts = []
    for term in cond.split(" and "):
        name, _, value = term.partition("=")
        parts.append(f"{CHOICE_MEANING.get((name, value), term)} ({CHOICE_RULES.get(name, '')})")
    return "implementations that " + " and ".join(parts)


def verdict_phrase(f: Finding) -> str:
    if f.verdict is Verdict.VIOLATED:
        text = "VIOLATED"
        if f.depends_on_choice:
            text += " only on " + " or ".join(f.violated_when)
        if f.persisting:
            text += "; persists after completion"
            if f.persisting_when and f.persisting_when != f.violated_when:
                text += " on " + " or ".join(f.persisting_when)
        elif f.window is not None:
            text += "; transient"
        if f.at_lines:
            text += "; at " + ", ".join(a.split(" (")[0] for a in f.at_lines)
        return text
    if f.verdict is Verdict.HOLDS:
        return "holds"
    return f.verdict.word.upper()


def claim_phrase(f: Finding) -> str:
    if f.claim == "none":  # a run without claims: say whether the violation fails it
        return f"no claim; {f.severity} severity" if f.verdict is Verdict.VIOLATED else "no claim"
    if f.claim == "any":
        return "no claim"
    status = "ok" if f.claim_ok else "REFUTED"
    if f.verdict is Verdict.UNKNOWN:
        status = "inconclusive"
    return f"claimed {f.claim}: {status}"


def render(result: Result, *, traces: bool = True) -> str:
    out: list[str] = []
    out.append(f"bbmcheck {__version__}: {result.model}: {result.title}")
    out.append(
        f"model {result.path} (sha256 {result.sha256[:12]}), FEAT_BBM {result.level}, "
        f"{result.vcpus} vCPU{'s' if result.vcpus != 1 else ''}, addresses {' '.join(result.addresses)}"
    )
    if result.by_cutoff:
        out.append(f"answered by the vCPU cutoff: the {result.searched_vcpus}-vCPU search below decides every "
                   f"property for {result.vcpus} vCPUs (ARCHITECTURE.md, 'The vCPU cutoff'); traces use "
                   f"vCPUs 0..{(result.searched_vcpus or 1) - 1}, the others stay idle")
    out.append("implementations explored: " + " | ".join(result.choices))
    if result.claims == "none":
        out.append("claims: none (verdicts only: exit status 1 only when an error-severity property is violated)")
    out.append("")
    width = max(len(f.property) for f in result.findings)
    for f in result.findings:
        out.append(f"  {f.property:<{width}}  {verdict_phrase(f)}  [{claim_phrase(f)}]")
    for f in result.findings:
        if f.verdict is not Verdict.VIOLATED:
            continue
        out.append("")
        out.append(f"{f.property} [{f.severity}] ({f.rules}): {f.summary}")
        if f.depends_on_choice:
            for cond in f.violated_when:
                out.append(f"  violated on {explain_condition(cond)}")
            for cond in f.holds_when:
                out.append(f"  holds on {explain_condition(cond)}")
        else:
            out.append("  violated on every permitted implementation")
        if f.window is not None:
            kind = "persisting" if f.persisting else "transient"
            out.append(f"  {kind}: possible {f.window.opens_after}; closes {f.window.closes_at}")
            if f.persisting and f.persisting_when and f.depends_on_choice:
                out.append("  persists on " + " or ".join(explain_condition(c) for c in f.persisting_when))
        for at in f.at_lines:
            out.append(f"  executing {at}")
        for cause in f.causes:
            out.append(f"  cause: {cause}")
        if traces and f.trace is not None:
            out.extend(render_trace(f.trace, "shortest counterexample"))
        if traces and f.persisting_trace is not None and f.persisting_trace != f.trace:
            out.extend(render_trace(f.persisting_trace, "shortest counterexample after completion"))
    if result.notes:
        out.append("")
        for note in result.notes:
            out.append(f"note: {note}")
    out.append("")
    for name, ok in result.witnesses.items():
        if not ok:
            out.append(f"VACUOUS: witness '{name}' was not reached in every implementation: the model may not "
                       "do what it says, so its verdicts prove nothing")
    s = result.stats
    status = "exhaustive" if result.complete else f"INCOMPLETE ({result.stop_reason})"
    if result.engine == "bmc":
        out.append(f"bounded model checking (z3): paths of at most {s.max_depth} steps, {s.queries:,} solver "
                   f"queries; {status}")
    else:
        sym = "symmetry on" if result.symmetry else "symmetry off"
        out.append(f"explored {s.states:,} states, {s.transitions:,} transitions, depth {s.max_depth}; {status}, "
                   f"{sym}")
        if result.address_classes:  # None: searched together; empty: stopped before any search
            n = sum(len(c) for c in result.address_classes)
            out.append(f"searched address by address: {len(result.address_classes)} search"
                       f"{'es' if len(result.address_classes) != 1 else ''} for {n} representative address"
                       f"{'es' if n != 1 else ''} (alike addresses share one)")
    return terminal_lines(out)  # every line escaped here, the one place the report writes


def timing_line(result: Result) -> str:
    """Wall time varies run to run, so it is printed apart from the (byte-identical) report."""
    s = result.stats
    if result.engine == "bmc":
        return f"bbmcheck: {s.queries:,} solver queries to depth {s.max_depth} in {s.seconds:.3f} s\n"
    return f"bbmcheck: {s.states:,} states in {s.seconds:.3f} s ({s.states_per_second:,.0f} states/s)\n"


def render_trace(trace: Trace, title: str) -> list[str]:
    out = [f"  {title} ({len(trace.steps)} steps, implementation: {trace.choices}, "
           f"{'replayed' if trace.replayed else 'NOT replayed'}):"]
    rows = []
    for st in trace.steps:
        what = (f"line {st.line}: " if st.line else "") + st.action
        rows.append((str(st.index), st.actor, what, list(st.changes) + [f"=> {e}" for e in st.events]))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = min(60, max(len(r[2]) for r in rows))
    for idx, who, what, changes in rows:
        first = changes[0] if changes else ""
        out.append(f"    {idx:>{w0}}  {who:<{w1}}  {what:<{w2}}  {first}".rstrip())
        for more in changes[1:]:
            out.append(f"    {'':>{w0}}  {'':<{w1}}  {'':<{w2}}  {more}".rstrip())
    out.append(f"    path: {trace.path}")
    return out
