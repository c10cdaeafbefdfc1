"""The result as JSON data (``--json``): the same content as the text report, stable key order."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

from .. import __version__
from ..results import Result


def to_data(result: Result, *, timing: bool = False, traces: bool = True) -> dict[str, Any]:
    """Without ``timing`` the data is byte-identical across runs (wall time left out). Without
    ``traces`` each counterexample keeps its implementation and replayable path, not its ITF
    document and step rows (``--no-traces``: a table of 512 entries makes megabytes of them)."""
    data = asdict(replace(result, context=None))
    del data["context"]
    data["tool"] = {"name": "bbmcheck", "version": __version__}
    data["exit_code"] = result.exit_code
    if timing:
        data["stats"]["states_per_second"] = round(result.stats.states_per_second, 1)
        data["stats"]["seconds"] = round(result.stats.seconds, 4)
    else:
        del data["stats"]["seconds"]
        if data.get("proof") is not None:  # prove: Spacer's wall time
            del data["proof"]["spacer_seconds"]
    for f, raw in zip(result.findings, data["findings"], strict=True):
        raw["verdict"] = f.verdict.word
        for key, trace in (("trace", f.trace), ("persisting_trace", f.persisting_trace)):
            if trace is None:
                continue
            raw[key]["path"] = trace.path
            if not traces:
                del raw[key]["itf"], raw[key]["steps"]
    return data


def render(result: Result, *, timing: bool = False, traces: bool = True) -> str:
    return json.dumps(to_data(result, timing=timing, traces=traces), indent=2, sort_keys=True) + "\n"
