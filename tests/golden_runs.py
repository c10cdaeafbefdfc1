"""The pinned runs: every bundled model at its own level with 2 vCPUs, plus level overrides that
the spec makes a point of. ``signature`` is what a golden file pins for a run; ``states_whole``
beside it is the state count of the monolithic search (``--no-decompose``), pinned by
tests/test_decompose.py.

Regenerate with ``python tests/update_golden.py``; a changed state count or verdict must be
explained in the commit that changes it.
"""

from __future__ import annotations

from typing import Any

from bbmcheck.arch.config import FeatBBM
from bbmcheck.results import Result
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.verify import Options, verify

EXTRA_LEVELS = {
    "ttrem1": ("L0", "L2", "L2-noabort"),
    "ttrem2": ("L2-noabort",),
    "ttrem2-direct": ("L0", "L1", "L2-noabort"),
    "ttrem1-final-tlbi": ("L2-noabort",),
}


def runs() -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for name in bundled_models():
        out.append((name, None))
        out.extend((name, level) for level in EXTRA_LEVELS.get(name, ()))
    return out


def run_id(name: str, level: str | None) -> str:
    return name if level is None else f"{name}@{level}"


def check(name: str, level: str | None, **kw: Any) -> Result:
    seq = load_model(name)
    return verify(seq, Options(level=FeatBBM.parse(level) if level else None, vcpus=2, **kw))


def signature(result: Result) -> dict[str, Any]:
    props = {}
    for f in result.findings:
        entry: dict[str, Any] = {"verdict": f.verdict.word}
        if f.violated_when:
            entry["when"] = list(f.violated_when)
        if f.window is not None:
            entry["persisting"] = f.persisting
        if f.persisting_when:
            entry["persisting_when"] = list(f.persisting_when)
        if f.at_lines:
            entry["at"] = [a.split(" (")[0] for a in f.at_lines]
        props[f.property] = entry
    return {
        "level": result.level,
        "states": result.stats.states,
        "exit_code": result.exit_code,
        "witnesses": dict(result.witnesses),
        "properties": props,
    }
