"""The seed's scenario in bbmcheck and in SPIN, side by side (issue: speed and scale).

    python bench/spin_compare.py              # 1..3 vCPUs (3 takes SPIN about 1.5 minutes)
    python bench/spin_compare.py --vcpus 2

bench/spin/ttrem1.pml is the same question written straightforwardly in Promela: the seed's nT
path at level 1, the same tables, representative addresses and implementation choices, and the
same properties as assertions (pan -c0 explores everything and counts violations). SPIN (Debian
package 'spin') is installed by this script when missing. bbmcheck's advantage comes from
reductions SPIN's model does not have (symmetry between vCPUs, monotone caching with no
evictions, lookups checked as state predicates; ARCHITECTURE.md), not from weaker semantics:
SPIN finds the same kinds of violation (invalid window, conflict) and no stale or freed-table one.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bbmcheck.sequences.load import load_model
from bbmcheck.verify import Options, verify

PML = Path(__file__).resolve().parent / "spin" / "ttrem1.pml"
ASSERTS = {
    "assertion violated 0": "invalid-window (nT=1 faults)",
    "assertion violated  !((tlb[v]&": "tlb-conflict (RMRRPW: nT=1 used over an overlapping entry)",
    "assertion violated ((": "tlb-conflict or stale-translation (lookup invariant)",
    "assertion violated  !((pc>=": "freed-table-walk",
}


def ensure_spin() -> str:
    exe = shutil.which("spin")
    if exe is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "spin"], check=True,
                       env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        exe = shutil.which("spin")
    if exe is None or shutil.which("gcc") is None:
        sys.exit("spin and gcc are needed")
    return exe


def run_spin(spin: str, nv: int, twin: bool = False) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        defines = [f"-DNV={nv}"] + (["-DTWIN"] if twin else [])
        subprocess.run([spin, *defines, "-a", str(PML)], cwd=tmp, check=True, capture_output=True)
        # -DNOREDUCE: with SPIN's partial-order reduction the invariant monitor misses the lookup
        # conflicts at 1 vCPU (seen here), so the comparison uses the full, sound search.
        subprocess.run(["gcc", "-O2", "-w", "-DSAFETY", "-DNOREDUCE", f"-DNV={nv}", "-DMEMLIM=8192", "-o", "pan",
                        "pan.c"],
                       cwd=tmp, check=True)
        t1 = time.perf_counter()
        out = subprocess.run(["./pan", "-c0", "-m10000000"], cwd=tmp, capture_output=True, text=True).stdout
        t2 = time.perf_counter()
    states = int(re.search(r"(\d+) states, stored", out).group(1))  # type: ignore[union-attr]
    elapsed = float(re.search(r"pan: elapsed time ([\d.e+]+)", out).group(1))  # type: ignore[union-attr]
    found = sorted({label for key, label in ASSERTS.items() if key in out})
    return {"states": states, "pan": elapsed, "build": t1 - t0, "total": t2 - t0, "found": found,
            "complete": "too small" not in out}


def run_bbmcheck(nv: int) -> dict[str, object]:
    exe = Path(sys.executable).parent / "bbmcheck"
    t0 = time.perf_counter()
    # every vCPU searched (--no-cutoff): the same question SPIN answers, not the cutoff's smaller one
    subprocess.run([str(exe), "verify", "ttrem1", "--vcpus", str(nv), "--no-cutoff"], capture_output=True)
    e2e = time.perf_counter() - t0
    r = verify(load_model("ttrem1"), Options(vcpus=nv, cutoff=False))
    found = [f.property for f in r.findings if f.verdict.name == "VIOLATED"]
    return {"states": r.stats.states, "search": r.stats.seconds, "e2e": e2e, "found": found}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vcpus", type=int, default=3)
    args = ap.parse_args()
    spin = ensure_spin()
    print(f"{'vCPUs':>5} {'bbmcheck states':>16} {'search s':>9} {'end-to-end s':>13} {'SPIN states':>12} "
          f"{'pan s':>8} {'SPIN total s':>13} {'ratio':>7}")
    for nv in range(1, args.vcpus + 1):
        b = run_bbmcheck(nv)
        print(f"      bbmcheck finds: {', '.join(b['found'])}")  # type: ignore[arg-type]
        for twin in (False, True):
            s = run_spin(spin, nv, twin)
            ratio = float(b["e2e"]) / float(s["total"])  # type: ignore[arg-type]
            print(f"{nv:>5} {b['states']:>16,} {b['search']:>9.3f} {b['e2e']:>13.3f} {s['states']:>12,} "
                  f"{s['pan']:>8.2f} {s['total']:>13.2f} {ratio:>7.3f}  {'twin' if twin else 'as written'}"
                  + ("" if s["complete"] else "  (SPIN depth cap)"))
            print(f"      SPIN finds:     {'; '.join(s['found'])}")  # type: ignore[arg-type]
    print("ratio = bbmcheck end-to-end / SPIN total (spin -a + gcc + pan), same question, same vCPUs; "
          "'twin' = SPIN with bbmcheck's monotone caching and no evictions (-DTWIN)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
