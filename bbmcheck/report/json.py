"""The result as JSON data (``--json``): the same content as the text report, stable key order."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

from .. import __version__
from ..results import Result


def to_data(result: Result, *, timing: bool = False) -> dict[str, Any]:
    """Without ``timing`` the data is byte-identical across runs (wall time left out)."""
    data = asdict(replace(result, context=None))
    del data["context"]
    data["tool"] = {"name": "bbmcheck", "version": __version__}
    data["exit_code"] = result.exit_code
    if timing:
        data["stats"]["states_per_second"] = round(result.stats.states_per_second, 1)
        data["stats"]["seconds"] = round(result.stats.seconds, 4)
    else:
        del data["stats"]["seconds"]
    for f, raw in zip(result.findings, data["findings"], strict=True):
        raw["verdict"] = f.verdict.word
        if f.trace is not None:
            raw["trace"]["path"] = f.trace.path
        if f.persisting_trace is not None:
            raw["persisting_trace"]["path"] = f.persisting_trace.path
    return data


def render(result: Result, *, timing: bool = False) -> str:
    return json.dumps(to_data(result, timing=timing), indent=2, sort_keys=True) + "\n"
