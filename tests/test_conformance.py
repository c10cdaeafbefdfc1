"""Conformance: the SMT bounded model checker (bbmcheck/smt/bmc.py) and the explicit-state engine
(bbmcheck/engines/explicit.py) must report the same occurrences at equal depth.

Both engines count depth the same way (actions, the last one or a final lookup raising the event), so
at bound k the (property, choice class) keys found and each one's shortest depth must be identical.

* every bundled model, at its own level, to depth ``MODEL_BOUND`` with windows: also the pcs and
  instruction pcs a property shows at, its causes, whether it persists after the sequence completes
  (and the shortest such depth), and the classes in which the updater finishes;
* at least ``MIN_GENERATED`` distinct generated sequences (every single-instruction mutant of the
  correct and seed models, plus Hypothesis-drawn programs over the bundled scenarios at every
  level, derandomized) to depth ``GENERATED_BOUND`` without windows: keys and depths.

Disagreements are collected and reported together (no Hypothesis shrinking), each naming the model
or sequence, the property, the class and both engines' values.
"""

from __future__ import annotations

from functools import cache

import pytest

from bbmcheck.arch.config import Config, FeatBBM
from bbmcheck.engines.explicit import Exploration, explore
from bbmcheck.errors import InputError
from bbmcheck.sequences.edit import instr_text, to_toml
from bbmcheck.sequences.load import bundled_models, load_model
from bbmcheck.sequences.schema import Sequence
from bbmcheck.smt.bmc import BmcExploration, bmc
from bbmcheck.system.build import System, build
from bbmcheck.testing.mutate import mutants

MODEL_BOUND = 11  # every bundled model shows at least one occurrence at this depth (~15 s in all)
GENERATED_BOUND = 5  # ~0.16 s per generated sequence, most BMC time being per-query overhead
MIN_GENERATED = 200
RANDOM_EXAMPLES = 60  # Hypothesis draws on top of the mutants (duplicates and stillborn ones dropped)
RANDOM_MAX_LEN = 6

# measured at MODEL_BOUND = 11 over the 15 bundled models: 42 non-witness occurrences, 25 persisting,
# 242 observer pcs, 10 instruction pcs; the floors keep the comparison from passing vacuously
MIN_MODEL_VIOLATIONS = 40
MIN_MODEL_PERSISTING = 20
# measured at GENERATED_BOUND = 5 over the generated sequences: see test_generated_sequences
MIN_GENERATED_VIOLATIONS = 150


def _system(seq: Sequence) -> System:
    return build(seq, Config(level=seq.level), vcpus=None)


def _fmt(value: object) -> str:
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(str(v) for v in sorted(value)) + "}"  # type: ignore[type-var]
    return str(value)


def _disagreements(label: str, ex: Exploration, bm: BmcExploration, windows: bool) -> list[str]:
    out: list[str] = []
    e_occ, b_occ = ex.occurrences, bm.occurrences
    for prop, ci in sorted(set(e_occ) - set(b_occ)):
        out.append(f"{label}: {prop} class {ci}: explicit depth {e_occ[(prop, ci)].depth}, BMC not found")
    for prop, ci in sorted(set(b_occ) - set(e_occ)):
        out.append(f"{label}: {prop} class {ci}: explicit not found, BMC depth {b_occ[(prop, ci)].depth}")
    for prop, ci in sorted(set(e_occ) & set(b_occ)):
        e, b = e_occ[(prop, ci)], b_occ[(prop, ci)]
        where = f"{label}: {prop} class {ci}"
        if e.depth != b.depth:
            out.append(f"{where}: depth explicit {e.depth}, BMC {b.depth}")
        if b.event[0] != prop:
            out.append(f"{where}: BMC's replayed event is {b.event!r}")
        if not windows:
            continue
        for attr in ("pcs", "instr_pcs", "causes"):
            ev, bv = getattr(e, attr), getattr(b, attr)
            if ev != bv:
                out.append(f"{where}: {attr} explicit {_fmt(ev)}, BMC {_fmt(bv)}")
        ep = None if e.persisting is None else e.persisting[0]
        bp = None if b.persisting is None else b.persisting[0]
        if ep != bp:
            out.append(f"{where}: persisting depth explicit {ep}, BMC {bp}")
        if b.persisting is not None and b.persisting[3][0] != prop:
            out.append(f"{where}: BMC's replayed persisting event is {b.persisting[3]!r}")
    if windows and ex.done_reached != bm.done_reached:
        out.append(f"{label}: classes where the updater finishes: explicit {_fmt(ex.done_reached)}, "
                   f"BMC {_fmt(bm.done_reached)}")
    return out


def _run(s: System, bound: int, windows: bool) -> tuple[Exploration, BmcExploration]:
    ex = explore(s, symmetry=True, depth_bound=bound)
    assert "cap" not in ex.stop_reason, ex.stop_reason  # explicit must cover the whole bound
    return ex, bmc(s, bound, windows=windows)


# ---------------------------------------------------------------------------------------------------
# bundled models, with windows


@cache
def _model_run(name: str) -> tuple[Exploration, BmcExploration]:
    return _run(_system(load_model(name)), MODEL_BOUND, windows=True)


@pytest.mark.parametrize("name", sorted(bundled_models()))
def test_bundled_model(name: str) -> None:
    ex, bm = _model_run(name)
    problems = _disagreements(f"{name} (k={MODEL_BOUND})", ex, bm, windows=True)
    assert not problems, "BMC and explicit disagree:\n" + "\n".join(problems)


def test_bundled_models_are_not_vacuous() -> None:
    runs = [_model_run(name) for name in sorted(bundled_models())]
    occurrences = [o for ex, _ in runs for o in ex.occurrences.values()]
    violations = sum(1 for ex, _ in runs for (prop, _ci) in ex.occurrences if prop != "witness")
    persisting = sum(1 for o in occurrences if o.persisting is not None)
    assert violations >= MIN_MODEL_VIOLATIONS, violations
    assert persisting >= MIN_MODEL_PERSISTING, persisting
    assert sum(len(o.pcs) for o in occurrences) > 0
    assert sum(len(o.instr_pcs) for o in occurrences) > 0
    silent = [name for name in sorted(bundled_models()) if not _model_run(name)[0].occurrences]
    assert not silent, f"no occurrence within depth {MODEL_BOUND}: {silent}"


# ---------------------------------------------------------------------------------------------------
# generated sequences, depths only


def _mutant_sequences() -> list[tuple[str, Sequence]]:
    out = []
    for name, path in sorted(bundled_models().items()):
        if path.parent.name not in ("correct", "seed"):
            continue
        seq = load_model(name)
        system = _system(seq)
        first_store = next(i for i in seq.program if i.is_store)
        assert first_store.loc is not None
        for m in mutants(seq, system.loc_base(first_store.loc)):
            if m.sequence is not None:
                out.append((f"{name}: {m.description}", m.sequence))
    return out


def _random_sequences(n: int) -> list[tuple[str, Sequence]]:
    from hypothesis import HealthCheck, Phase, given, settings

    from bbmcheck.testing.strategies import update_sequences

    drawn: list[Sequence] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(update_sequences(max_len=RANDOM_MAX_LEN, levels=tuple(level.value for level in FeatBBM)))
    def collect(seq: Sequence) -> None:
        drawn.append(seq)

    collect()
    return [(f"{seq.name} at {seq.level.value}: " + "; ".join(instr_text(i) for i in seq.program),
             seq) for seq in drawn]


def _generated() -> list[tuple[str, Sequence]]:
    seen: set[str] = set()
    out = []
    for label, seq in _mutant_sequences() + _random_sequences(RANDOM_EXAMPLES):
        text = to_toml(seq, name="", title="", source="")
        if text not in seen:
            seen.add(text)
            out.append((label, seq))
    return out


def test_generated_sequences() -> None:
    checked = stillborn = violations = 0
    problems: list[str] = []
    for label, seq in _generated():
        try:
            s = _system(seq)
        except InputError:
            stillborn += 1
            continue
        ex, bm = _run(s, GENERATED_BOUND, windows=False)
        checked += 1
        violations += sum(1 for prop, _ci in ex.occurrences if prop != "witness")
        problems += _disagreements(f"{label} (k={GENERATED_BOUND})", ex, bm, windows=False)
    print(f"{checked} generated sequences checked, {stillborn} stillborn, {violations} violations")
    assert not problems, f"BMC and explicit disagree on {len(problems)} points:\n" + "\n".join(problems)
    assert checked >= MIN_GENERATED, (checked, stillborn)
    assert violations >= MIN_GENERATED_VIOLATIONS, violations
