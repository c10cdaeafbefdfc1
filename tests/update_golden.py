"""Rewrite tests/golden/models.json from the current semantics (run by hand, never by the suite)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from golden_runs import check, run_id, runs, signature  # noqa: E402

out = {}
for n, lvl in runs():
    out[run_id(n, lvl)] = {**signature(check(n, lvl)), "states_whole": check(n, lvl, decompose=False).stats.states}
path = Path(__file__).parent / "golden" / "models.json"
path.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
print(f"wrote {path} ({len(out)} runs, {sum(v['states'] for v in out.values())} states in all)")
