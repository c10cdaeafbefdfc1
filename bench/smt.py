"""Benchmark: the SMT engines next to the explicit engine, per bundled model at 2 vCPUs.

    python bench/smt.py                      # every bundled model: explicit, BMC; proofs of the correct ones
    python bench/smt.py --models ttrem1 --bound 16

Columns:
* explicit: the full search (states, seconds, deepest shortest counterexample);
* BMC: z3 bounded model checking to ``--bound`` (default: the explicit search's depth + 1, so it
  reaches every shortest counterexample), solver queries and seconds, and whether its findings
  match the explicit engine's;
* prove (correct and seed models the certificates cover): seconds end to end, Spacer's share.

Target (issue 6): a proof of each bundled correct model under 30 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time

from bbmcheck.arch.config import Config
from bbmcheck.engines.explicit import explore
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.smt.bmc import bmc
from bbmcheck.smt.prove import prove
from bbmcheck.system.build import build

PROVED = ["ttrem0", "ttrem1-final-tlbi", "split-bbm", "split-nt", "ttrem2-direct"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", default=None)
    ap.add_argument("--bound", type=int, default=None)
    ap.add_argument("--no-prove", action="store_true")
    args = ap.parse_args()
    names = args.models or list(bundled_models())
    print(f"{'model':<20} {'explicit':>18} {'BMC':>26} {'same':>5} {'prove':>16}")
    for name in names:
        seq = load_model(name)
        s = build(seq, Config(level=seq.level), vcpus=2)
        t = time.perf_counter()
        ex = explore(s, symmetry=True)
        te = time.perf_counter() - t
        deepest = max((o.depth for o in ex.occurrences.values()), default=1)
        bound = args.bound or deepest + 1
        t = time.perf_counter()
        bm = bmc(build(seq, Config(level=seq.level), vcpus=2), bound, windows=False)
        tb = time.perf_counter() - t
        same = {k: o.depth for k, o in ex.occurrences.items() if o.depth <= bound} == \
            {k: o.depth for k, o in bm.occurrences.items()}
        cell = ""
        if name in PROVED and not args.no_prove:
            r = prove(seq)
            cell = f"{r.seconds:6.1f} s ({r.spacer_seconds:.1f})"
        print(f"{name:<20} {ex.states:>7,} st {te:6.2f} s  k={bound:<3}{bm.queries:>5} q {tb:7.2f} s "
              f"{'yes' if same else 'NO':>5} {cell:>16}", flush=True)


if __name__ == "__main__":
    main()
