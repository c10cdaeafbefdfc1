"""SARIF 2.1.0 log of ITF traces: each finding located at the model-file line of the instruction
that opens it, with the trace as a code flow, so CI systems can annotate the line."""

from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..arch.rules import PROPERTY_INFO
from ..trace.itf import plain

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
MARKER = '"name": "bbmcheck"'


def _region(line: int) -> dict[str, Any]:
    return {"startLine": max(1, int(line))}


def _location(uri: str, line: int, text: str | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": _region(line)}}
    if text:
        loc["message"] = {"text": text}
    return loc


def render(docs: list[dict[str, Any]]) -> str:
    rules = []
    for name, info in PROPERTY_INFO.items():
        rules.append({
            "id": name,
            "shortDescription": {"text": info.summary},
            "defaultConfiguration": {"level": info.severity},
            "properties": {"armRules": info.rules},
        })
    results = []
    for doc in docs:
        meta = doc["#meta"]
        uri = meta["source"]
        states = [plain(s) for s in doc["states"]]
        line = int(meta.get("offending_line") or 0) or next(
            (s["action"]["line"] for s in reversed(states) if s["action"]["line"]), 1)
        flow = []
        for s in states[1:]:
            text = f"{s['action']['actor']}: {s['action']['text']}"
            tfl: dict[str, Any] = {"location": _location(uri, s["action"]["line"], text)} if s["action"]["line"] \
                else {"location": {"message": {"text": text}}}
            tfl["kinds"] = ["danger"] if s["events"] else []
            flow.append(tfl)
        results.append({
            "ruleId": meta["property"],
            "ruleIndex": list(PROPERTY_INFO).index(meta["property"]),
            "level": "error" if meta["severity"] == "error" else "warning",
            "message": {"text": f"{meta['finding']} [implementation: {meta['choices']}; FEAT_BBM {meta['level']}; "
                                f"{'persists after completion' if meta.get('persisting') else 'shortest trace'}]"},
            "locations": [_location(uri, line)],
            "codeFlows": [{"threadFlows": [{"locations": flow}]}],
            "properties": {"armRules": meta["rules"], "modelSha256": meta["model_sha256"]},
        })
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "bbmcheck", "version": __version__, "rules": rules}},
            "results": results,
        }],
    }
    return json.dumps(log, indent=1, sort_keys=True) + "\n"
