"""The reports of ``bbmcheck prove`` and ``bbmcheck recheck`` as text.

``prove`` returns the one :class:`~bbmcheck.results.Result` (``prove --json`` is
``report/json.py``'s rendering of it); this module says it as ``prove`` always has: per property,
PROVED on every implementation, VIOLATED (where, and where it is proved instead), or UNKNOWN and
why. ``recheck`` reports in :class:`~bbmcheck.smt.certificate.Rechecked`. Every line that holds
user text (a model path, a folder) goes through ``escape.terminal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import __version__
from ..results import Finding, Result, Verdict
from .escape import terminal

if TYPE_CHECKING:  # the types only: the report layer does not import the solvers
    from ..smt.certificate import Check, Rechecked


def prove_text(result: Result, model: str, certificate: str | None = None) -> str:
    """The prove report; ``model`` as the user named it (for the ``verify`` hints), ``certificate``
    the folder the certificate was written to (None: none was)."""
    out = [terminal(f"bbmcheck {__version__} prove: {result.model} ({result.path}, sha256 {result.sha256[:12]}), "
                    f"FEAT_BBM {result.level}")]
    proof = result.proof
    if proof is None:
        out.append(terminal(f"no proof: {result.stop_reason}"))
    else:
        lo, hi = proof.region
        out.append(f"for every IPA in [{lo}, {hi}) ({len(result.addresses)} representative addresses, "
                   f"{len(proof.added)} added by the cover query) and any number of vCPUs (cutoff {proof.cutoff})")
    out.append("")
    width = max(len(f.property) for f in result.findings)
    for f in result.findings:
        out.append(terminal(f"  {f.property:<{width}}  {_line(result, f, model)}"))
    if result.exit_code == 1:
        out += ["", terminal(f"a claim of the model is refuted (see: bbmcheck verify {model})")]
    if certificate is not None and proof is not None:
        out += ["", terminal(f"certificate: {certificate} ({len(proof.invariants)} invariants, "
                             f"{len(proof.obligations)} obligations, each UNSAT in z3); re-check with: "
                             f"bbmcheck recheck {certificate}")]
    return "\n".join(out) + "\n"


def _line(result: Result, f: Finding, model: str) -> str:
    proof = result.proof
    unknown = proof.unknown if proof is not None else {}
    note = unknown.get(f.property, result.stop_reason)
    if f.verdict is Verdict.PROVED:
        return "PROVED on every implementation"
    if f.verdict is Verdict.VIOLATED:
        line = "VIOLATED " + (f"when {' or '.join(f.violated_when)}" if f.violated_when else "on every implementation")
        if proof is not None and proof.proved_on.get(f.property):
            line += f"; PROVED when {' or '.join(proof.proved_when[f.property])}"
        elif f.property in unknown:
            line += f"; UNKNOWN on the others ({note})"
        return line + f" (counterexample: bbmcheck verify {model})"
    return f"UNKNOWN ({note})"


def prove_timing(result: Result) -> str:
    """The prove timing line (stderr)."""
    spacer = result.proof.spacer_seconds if result.proof is not None else 0.0
    return (f"bbmcheck: proof in {result.stats.seconds:.1f} s (Spacer {spacer:.1f} s, "
            f"{result.stats.states:,} explicit states to pick the classes)\n")


def check_line(c: Check) -> str:
    """One obligation as recheck answered it (printed as it is answered)."""
    return f"  {c.file}: z3 {c.z3}, cvc5 {c.cvc5} (expected {c.expect}) {'UNKNOWN' if c.undecided else 'ok'}\n"


def recheck_text(done: Rechecked) -> str:
    """recheck's last line (stdout); a refusal's ``path: error: ...`` line is ``refusal``'s."""
    folder = done.folder
    if done.refused is not None:
        return terminal(f"{folder}: NOT confirmed") + "\n"
    if done.verdict is Verdict.PROVED:
        return terminal(f"{folder}: all {len(done.checks)} obligations re-derived from {done.model} (FEAT_BBM "
                        f"{done.level}) and its invariants, and confirmed by z3 and cvc5") + "\n"
    if done.undecided:
        return terminal(f"{folder}: UNKNOWN: {done.reason}; the certificate is neither confirmed nor "
                        "refuted") + "\n"
    return terminal(f"{folder}: {len(done.checks)} obligations re-derived and confirmed by z3 only; install "
                    "cvc5 (pip install 'bbmcheck[proofs]') for the second solver") + "\n"


def refusal(done: Rechecked) -> str:
    """The one ``path: error: ...`` line (stderr) of a refused certificate, or ''."""
    return done.refused.render() + "\n" if done.refused is not None else ""
