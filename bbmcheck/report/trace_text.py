"""Text view of one ITF trace: what changed at each step, the violated property last."""

from __future__ import annotations

from typing import Any

from ..trace.steps import steps_from_itf
from .escape import terminal_lines

MARKER = "bbmcheck trace"


def render(doc: dict[str, Any], *, explain: bool = True) -> str:
    meta = doc["#meta"]
    out = [f"{MARKER}: {meta['description']}",
           f"model {meta['source']} (sha256 {meta['model_sha256'][:12]}), FEAT_BBM {meta['level']}, "
           f"{meta['vcpus']} vCPUs, implementation: {meta['choices']}", ""]
    steps = steps_from_itf(doc)
    width = max((len(s.actor) for s in steps), default=7)
    for s in steps:
        what = (f"line {s.line}: " if s.line else "") + s.action
        out.append(f"{s.index:>3}  {s.actor:<{width}}  {what}")
        for change in s.changes:
            out.append(f"{'':>3}  {'':<{width}}    {change}")
        for event in s.events:
            out.append(f"{'':>3}  {'':<{width}}    => {event}")
        if explain:
            out.append(f"{'':>3}  {'':<{width}}    ({s.explanation})")
    out.append("")
    out.append(f"violated: {meta['property']} [{meta['severity']}] ({meta['rules']})")
    out.append(f"  {meta['finding']}")
    return terminal_lines(out)  # every line escaped here, the one place this view writes
