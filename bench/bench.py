"""Benchmark: states, transitions, states/s and wall time per bundled model and vCPU count.

    python bench/bench.py            # every bundled model, 1..3 vCPUs, plus end-to-end timings
    python bench/bench.py --vcpus 4 --models ttrem1 ttrem0

Targets (issue 2): 'bbmcheck verify ttrem1' with defaults under 1 s wall end-to-end; every
bundled model at 2 vCPUs under 10 s in total. Performance targets live here, not in tests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.verify import Options, verify


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vcpus", type=int, default=3, help="largest vCPU count (rows for 1..N)")
    ap.add_argument("--models", nargs="*", default=None, help="bundled model names (default: all)")
    ap.add_argument("--no-symmetry", action="store_true")
    args = ap.parse_args()
    names = args.models or list(bundled_models())
    print(f"{'model':<22} {'level':<10} {'vCPUs':>5} {'states':>9} {'transitions':>12} {'states/s':>10} {'wall s':>8}")
    totals: dict[int, float] = {}
    for name in names:
        seq = load_model(name)
        for n in range(1, args.vcpus + 1):
            t0 = time.perf_counter()
            r = verify(seq, Options(vcpus=n, symmetry=not args.no_symmetry))
            wall = time.perf_counter() - t0
            totals[n] = totals.get(n, 0.0) + wall
            s = r.stats
            print(f"{name:<22} {r.level:<10} {n:>5} {s.states:>9,} {s.transitions:>12,} "
                  f"{s.states_per_second:>10,.0f} {wall:>8.3f}")
    for n, t in sorted(totals.items()):
        print(f"all models at {n} vCPU{'s' if n > 1 else ''}: {t:.2f} s wall")
    exe = Path(sys.executable).parent / "bbmcheck"
    if exe.exists():
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([str(exe), "verify", "ttrem1"], capture_output=True, check=False)
            runs.append(time.perf_counter() - t0)
        print(f"end-to-end 'bbmcheck verify ttrem1' (Python start-up included): best {min(runs):.3f} s, "
              f"median {sorted(runs)[2]:.3f} s of 5")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
