"""Benchmark: unique states, transitions, states/s, peak memory and wall time per bundled model
and vCPU count (each row in its own process, so peak memory is the row's own), representative
address counts for the seed scenario, and end-to-end timings of 'bbmcheck verify ttrem1'.

    python bench/bench.py                    # every bundled model, 1..4 vCPUs
    python bench/bench.py --vcpus 3 --models ttrem1 ttrem0
    python bench/bench.py --levels           # every model x every FEAT_BBM level at 2 vCPUs

Rows 1..N search every vCPU (--no-cutoff); the --cutoff rows (8 and 64 by default) answer
by the vCPU cutoff (ARCHITECTURE.md) and name the vCPUs searched.

Targets (issues 2 and 5): 'bbmcheck verify ttrem1' under 0.5 s end-to-end; every bundled model
(x every level) at 2 vCPUs under 10 s in total; 4 vCPUs on the seed's scenario under 10 s per
model with symmetry; peak memory under 1 GiB for every row. Performance lives here, not in tests.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bbmcheck.arch.config import FeatBBM
from bbmcheck.sequences.edit import edit
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.verify import Options, verify

SEED_ADDRESSES = [0x40000000, 0x40200000, 0x40400000, 0x40201000]


def row(name: str, vcpus: int, level: str | None, addresses: int, symmetry: bool,
        cutoff: bool = False) -> dict[str, object]:
    seq = load_model(name)
    if addresses:
        seq = edit(seq, addresses=SEED_ADDRESSES[:addresses])
    t0 = time.perf_counter()
    r = verify(seq, Options(vcpus=vcpus, level=FeatBBM.parse(level) if level else None, symmetry=symmetry,
                            cutoff=cutoff))
    wall = time.perf_counter() - t0
    return {"model": name, "level": r.level, "vcpus": vcpus, "addresses": len(r.addresses), "states": r.stats.states,
            "transitions": r.stats.transitions, "wall": wall, "rss_mib": resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024, "complete": r.complete,
            "searched": r.searched_vcpus if r.by_cutoff else None}


def child(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--row", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def show(r: dict[str, object]) -> None:
    sps = float(r["states"]) / float(r["wall"]) if float(r["wall"]) else 0.0  # type: ignore[arg-type]
    print(f"{r['model']:<22} {r['level']:<10} {r['vcpus']:>5} {r['addresses']:>5} {r['states']:>9,} "
          f"{r['transitions']:>12,} {sps:>10,.0f} {r['rss_mib']:>9.0f} {r['wall']:>8.3f}"
          + ("" if r["complete"] else "  INCOMPLETE")
          + (f"  by cutoff ({r['searched']}-vCPU search)" if r.get("searched") else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vcpus", type=int, default=4, help="largest vCPU count (rows for 1..N)")
    ap.add_argument("--models", nargs="*", default=None, help="bundled model names (default: all)")
    ap.add_argument("--levels", action="store_true", help="every model x every level at 2 vCPUs")
    ap.add_argument("--no-symmetry", action="store_true")
    ap.add_argument("--cutoff", nargs="*", type=int, default=[8, 64],
                    help="vCPU counts answered by the vCPU cutoff, one row per model each (default 8 64)")
    ap.add_argument("--row", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:
        name, vcpus, level, addresses, symmetry, cutoff = args.row
        print(json.dumps(row(name, int(vcpus), None if level == "-" else level, int(addresses), symmetry == "1",
                             cutoff == "1")))
        return 0
    sym = "0" if args.no_symmetry else "1"
    names = args.models or list(bundled_models())
    print(f"{'model':<22} {'level':<10} {'vCPUs':>5} {'addrs':>5} {'states':>9} {'transitions':>12} "
          f"{'states/s':>10} {'peak MiB':>9} {'wall s':>8}")
    if args.levels:
        total = 0.0
        for name in names:
            for level in FeatBBM:
                r = child(name, "2", level.value, "0", sym, "0")
                total += float(r["wall"])  # type: ignore[arg-type]
                show(r)
        print(f"every model x every level at 2 vCPUs: {total:.2f} s wall (search, excluding start-up)")
        return 0
    totals: dict[int, float] = {}
    for name in names:
        for n in range(1, args.vcpus + 1):
            r = child(name, str(n), "-", "0", sym, "0")
            totals[n] = totals.get(n, 0.0) + float(r["wall"])  # type: ignore[arg-type]
            show(r)
    cut: dict[int, float] = {}
    for n in args.cutoff:
        for name in names:
            r = child(name, str(n), "-", "0", sym, "1")
            cut[n] = cut.get(n, 0.0) + float(r["wall"])  # type: ignore[arg-type]
            show(r)
    if "ttrem1" in names:
        for k in range(1, len(SEED_ADDRESSES) + 1):
            show(child("ttrem1", "2", "-", str(k), sym, "0"))
    for n, t in sorted(totals.items()):
        print(f"all models at {n} vCPU{'s' if n > 1 else ''}: {t:.2f} s wall")
    for n, t in sorted(cut.items()):
        print(f"all models at {n} vCPUs by the cutoff: {t:.2f} s wall")
    exe = Path(sys.executable).parent / "bbmcheck"
    if exe.exists():
        runs = []
        for _ in range(7):
            t0 = time.perf_counter()
            subprocess.run([str(exe), "verify", "ttrem1"], capture_output=True, check=False)
            runs.append(time.perf_counter() - t0)
        print(f"end-to-end 'bbmcheck verify ttrem1' (Python start-up included): best {min(runs):.3f} s, "
              f"median {statistics.median(runs):.3f} s of 7")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
