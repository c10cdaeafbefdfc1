"""Real table sizes (issue 14): the 512-page models of bench/models/ (bench/large_models.py), each
row in its own process (peak memory is the row's own), at 2 vCPUs.

    python bench/large.py                 # every large model, verify, 2 vCPUs
    python bench/large.py --prove         # and prove on coalesce-512
    python bench/large.py --timeout 120   # the cap per row (an unfinished row says so)

Each row: states, transitions, states/s, peak memory, wall time (in-process verify), and the number
of searches the per-address decomposition ran for how many representative addresses.

Targets: coalesce-512, split-512 and remake-64 exhaustive in under 10 s each; coalesce-512-per-page
in under 20 s; prove on coalesce-512 in under 60 s; peak memory under 1 GiB on every row.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from bbmcheck.sequences.load import load_model
from bbmcheck.verify import Options, verify

MODELS = Path(__file__).parent / "models"
ROWS = ["coalesce-512", "split-512", "remake-64", "coalesce-512-per-page"]


def row(name: str, vcpus: int, timeout: float) -> dict[str, object]:
    seq = load_model(str(MODELS / f"{name}.toml"))
    t0 = time.perf_counter()
    r = verify(seq, Options(vcpus=vcpus, timeout=timeout))
    wall = time.perf_counter() - t0
    return {"model": name, "vcpus": vcpus, "states": r.stats.states, "transitions": r.stats.transitions,
            "wall": wall, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "complete": r.complete, "why": r.stop_reason, "addresses": len(r.addresses),
            "searches": len(r.address_classes or ()),
            "verdicts": {f.property: f.verdict.word for f in r.findings}}


def prove_row(name: str, timeout: float) -> dict[str, object]:
    from bbmcheck.smt.prove import prove
    from bbmcheck.verify import explicit_report

    seq = load_model(str(MODELS / f"{name}.toml"))
    t0 = time.perf_counter()
    r = prove(seq, timeout=timeout, search=explicit_report)
    wall = time.perf_counter() - t0
    assert r.proof is not None
    return {"model": name, "wall": wall, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "statuses": {f.property: f.verdict.word for f in r.findings}, "unknown": r.proof.unknown,
            "spacer_s": r.proof.spacer_seconds}


def child(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--row", *args], capture_output=True, text=True)
    if out.returncode != 0:
        return {"model": args[1], "error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vcpus", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--prove", action="store_true")
    ap.add_argument("--models", nargs="*", default=ROWS)
    ap.add_argument("--row", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:
        kind, name, vcpus, timeout = args.row
        got = prove_row(name, float(timeout)) if kind == "prove" else row(name, int(vcpus), float(timeout))
        print(json.dumps(got))
        return 0
    print(f"{'model':<24} {'vCPUs':>5} {'searches':>9} {'states':>10} {'transitions':>12} {'states/s':>10} "
          f"{'peak MiB':>9} {'wall s':>8}")
    for name in args.models:
        r = child("verify", name, str(args.vcpus), str(args.timeout))
        if "error" in r:
            print(f"{name:<24} error: {r['error']}")
            continue
        sps = float(r["states"]) / float(r["wall"]) if float(r["wall"]) else 0.0  # type: ignore[arg-type]
        searches = f"{r['searches']}/{r['addresses']}"
        print(f"{name:<24} {r['vcpus']:>5} {searches:>9} {r['states']:>10,} {r['transitions']:>12,} {sps:>10,.0f} "
              f"{r['rss_mib']:>9.0f} {r['wall']:>8.2f}" + ("" if r["complete"] else f"  INCOMPLETE ({r['why']})"))
    if args.prove:
        r = child("prove", "coalesce-512", "2", str(args.timeout))
        if "error" in r:
            print(f"prove coalesce-512: error: {r['error']}")
        else:
            print(f"prove coalesce-512: {r['wall']:.2f} s (Spacer {r['spacer_s']:.2f} s), peak {r['rss_mib']:.0f} MiB, "
                  f"{r['statuses']} {r['unknown'] or ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
