"""The vCPU cutoff against the full search on every bundled model at 3 and 4 vCPUs (the test
does the small models; this does them all, in minutes): same verdicts, conditions, persistence,
windows, causes, lines and shortest-trace lengths, and the time each took.

    python bench/cutoff_check.py [--vcpus 3 4] [--models NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_cutoff import signature  # noqa: E402

from bbmcheck.sequences.load import bundled_models, load_model  # noqa: E402
from bbmcheck.verify import Options, verify  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vcpus", nargs="*", type=int, default=[3, 4])
    ap.add_argument("--models", nargs="*", default=None)
    ap.add_argument("--max-states", type=int, default=3_000_000)
    args = ap.parse_args()
    bad = 0
    print(f"{'model':<22} {'vCPUs':>5} {'full states':>12} {'full s':>8} {'cutoff states':>14} {'cutoff s':>9}  same")
    for name in args.models or sorted(bundled_models()):
        for n in args.vcpus:
            options = Options(vcpus=n, claims="none", max_states=args.max_states)
            t0 = time.perf_counter()
            full = verify(load_model(name), replace(options, cutoff=False))
            t1 = time.perf_counter()
            cut = verify(load_model(name), options)
            t2 = time.perf_counter()
            if not full.complete:
                print(f"{name:<22} {n:>5} {full.stats.states:>12,} {t1 - t0:>8.2f}  full search incomplete: "
                      f"{full.stop_reason}")
                continue
            same = signature(full) == signature(cut)
            bad += not same
            print(f"{name:<22} {n:>5} {full.stats.states:>12,} {t1 - t0:>8.2f} {cut.stats.states:>14,} "
                  f"{t2 - t1:>9.2f}  {'yes' if same else 'NO'}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
