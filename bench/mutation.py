"""Mutation testing of the checker: kill rate over every single-instruction mutant of the correct
bundled models, each classified by bbmcheck and by an independent reference (tests/reference_bbm.py).

    python bench/mutation.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from mutation_run import run  # noqa: E402


def main() -> int:
    t0 = time.perf_counter()
    rows = run()
    live = [r for r in rows if r.killed is not None]
    killed = [r for r in live if r.killed]
    agree = [r for r in live if r.killed == r.expected]
    print(f"{'model':<20} {'mutant':<70} {'bbmcheck':<9} {'reference':<9} why")
    for r in rows:
        if r.killed is None:
            print(f"{r.model:<20} {r.mutant.description[:70]:<70} {'stillborn':<9} {'':<9} {r.why}")
            continue
        verdict = "killed" if r.killed else "survived"
        ref = "killed" if r.expected else "equiv."
        print(f"{r.model:<20} {r.mutant.description[:70]:<70} {verdict:<9} {ref:<9} {r.why or r.reason}")
    print()
    print(f"mutants: {len(rows)} ({len(rows) - len(live)} stillborn), killed {len(killed)} of {len(live)}: "
          f"kill rate {len(killed) / len(live):.1%}")
    survivors = [r for r in live if not r.killed]
    print(f"survivors: {len(survivors)}, every one equivalent by the reference: "
          f"{all(not r.expected for r in survivors)}")
    print(f"bbmcheck agrees with the reference on {len(agree)} of {len(live)} mutants "
          f"({time.perf_counter() - t0:.1f} s)")
    for r in live:
        if r.killed != r.expected:
            print(f"DISAGREE {r.model}: {r.mutant.description}: bbmcheck {r.why or 'survived'}; reference "
                  f"{r.reason}")
    return 0 if len(agree) == len(live) else 1


if __name__ == "__main__":
    raise SystemExit(main())
