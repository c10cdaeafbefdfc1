"""Mutation testing driver shared by tests/test_mutation.py and bench/mutation.py: classify every
mutant of every correct bundled model with bbmcheck and with the independent reference."""

from __future__ import annotations

from dataclasses import dataclass

from reference_bbm import Ins, expect, parse, table_contents

from bbmcheck.arch.descriptors import size_at
from bbmcheck.errors import InputError
from bbmcheck.results import Result, Verdict
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.testing.mutate import Mutant, mutants
from bbmcheck.verify import Options, verify

VCPUS = 1  # every hazard the bundled sequences have shows with one observer (cheaper, same verdicts)


def correct_models() -> list[str]:
    return [n for n, p in bundled_models().items() if p.parent.name == "correct" or n == "ttrem0"]


def profile(r: Result) -> dict[str, tuple[frozenset[str], frozenset[str], bool]]:
    out = {}
    for f in r.findings:
        if f.verdict is Verdict.VIOLATED:
            out[f.property] = (frozenset(f.violated_on), frozenset(f.persisting_on), f.persisting)
    return out


def worse(orig: Result, mut: Result) -> str:
    """Why the mutant's result is worse than the original's ('' if it is not)."""
    po, pm = profile(orig), profile(mut)
    same_universe = orig.universe == mut.universe
    for prop, (on, pers_on, pers) in sorted(pm.items()):
        if prop not in po:
            return f"{prop} newly violated"
        o_on, o_pers_on, o_pers = po[prop]
        if pers and not o_pers:
            return f"{prop} now persists after completion"
        if same_universe and not on <= o_on:
            return f"{prop} violated on more implementations"
        if same_universe and not pers_on <= o_pers_on:
            return f"{prop} persists on more implementations"
        if not same_universe and len(on) == len(mut.universe) and len(o_on) < len(orig.universe):
            return f"{prop} now violated on every implementation"
    return ""


@dataclass
class Row:
    model: str
    mutant: Mutant
    killed: bool | None  # None: stillborn
    why: str
    expected: bool | None
    reason: str


def mutated_ins(seq, m: Mutant) -> list[Ins]:  # type: ignore[no-untyped-def]
    orig = parse(seq)
    i = m.index
    if m.kind == "delete":
        return orig[:i] + orig[i + 1:]
    if m.kind == "duplicate":
        return orig[:i] + [orig[i]] + orig[i:]
    if m.kind == "swap":
        return orig[:i] + [orig[i + 1], orig[i]] + orig[i + 2:]
    assert m.sequence is not None
    new = parse(m.sequence)[i]
    new.orig = i
    return orig[:i] + [new] + orig[i + 1:]


def run(models: list[str] | None = None) -> list[Row]:
    rows = []
    for name in models or correct_models():
        seq = load_model(name)
        base = verify(seq, Options(vcpus=VCPUS))
        first_store = next(i for i in seq.program if i.is_store)
        table = seq.table(first_store.loc.table)  # type: ignore[union-attr]
        old = dict(table.entries).get(first_store.loc.index)  # type: ignore[union-attr]
        old_is_table = old is not None and old.kind == "table"
        from bbmcheck.arch.config import Config
        from bbmcheck.system.build import build

        system = build(seq, Config(level=seq.level), vcpus=VCPUS)
        loc_base, size = system.loc_base(first_store.loc), size_at(table.level)  # type: ignore[arg-type]
        below = table_contents(seq, old.next_table, loc_base) if old_is_table else (None, [])  # type: ignore[union-attr]
        for m in mutants(seq, loc_base):
            if m.sequence is None:
                rows.append(Row(name, m, None, m.error, None, "stillborn: not a well-formed model"))
                continue
            try:
                result = verify(m.sequence, Options(vcpus=VCPUS))
            except InputError as e:  # e.g. a table that no store links any more
                rows.append(Row(name, m, None, e.message, None, "stillborn: not a well-formed model"))
                continue
            why = worse(base, result)
            ref = expect(seq, mutated_ins(seq, m), old_is_table, loc_base, size, m.kind, seq.program[m.index].op,
                         leaves=below[0], pointers=below[1])
            rows.append(Row(name, m, bool(why), why, ref.killed, ref.reason))
    return rows
