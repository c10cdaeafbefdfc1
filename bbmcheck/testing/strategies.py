"""Hypothesis strategies that generate update sequences over the bundled scenarios.

    from hypothesis import given
    from bbmcheck.testing.strategies import update_sequences

    @given(update_sequences(max_len=6))
    def test_something(seq): ...

A generated sequence keeps a bundled model's tables (its scenario) and draws a program from an
alphabet made for that scenario: stores of every descriptor the model ever puts at an entry (and
invalid), plain or release; every DSB flavour that matters and ISB; TLBIs of every modelled scope
(broadcast and local, VMALL and by-IPA at each representative address, with and without a level
hint); and frees of non-root tables. Hypothesis is an optional extra: ``bbmcheck[hypothesis]``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..errors import InputError
from ..sequences.edit import instr_text, to_toml
from ..sequences.load import bundled_models, load_model, load_text
from ..sequences.schema import Loc, Sequence

TLBI_ALL = ("vmalls12e1is", "vmalls12e1", "vmalle1is", "alle1is")
TLBI_BY_IPA = ("ipas2e1is", "ipas2le1is", "ipas2e1")


def alphabet(seq: Sequence) -> list[str]:
    """Every instruction line a generated program may use for this scenario."""
    at: dict[Loc, set[str]] = {}
    for t in seq.tables:
        for idx, desc in t.entries:
            at.setdefault(Loc(t.name, idx), set()).add(desc.text())
    for ins in seq.program:
        if ins.is_store and ins.loc is not None and ins.desc is not None:
            at.setdefault(ins.loc, set()).add(ins.desc.text())
    lines = []
    for loc, descs in sorted(at.items()):
        for d in sorted(descs | {"invalid"}):
            lines += [f"str {loc.text()}, {d}", f"stlr {loc.text()}, {d}"]
    lines += ["dsb ish", "dsb ishst", "dsb nsh", "isb"]
    lines += [f"tlbi {op}" for op in TLBI_ALL]
    addresses = sorted({i.ipa for i in seq.program if i.ipa is not None} | _leaf_bases(seq))
    for a in addresses:
        lines += [f"tlbi {op}, {a:#x}" for op in TLBI_BY_IPA]
        lines.append(f"tlbi ipas2e1is, {a:#x}, ttl=2")
    lines += [f"free {t.name}" for t in seq.tables if not t.root]
    return lines


def _leaf_bases(seq: Sequence) -> set[int]:
    from ..arch.config import Config
    from ..system.build import build

    return set(build(seq, Config(level=seq.level), vcpus=1).addresses)


@st.composite
def update_sequences(draw: Any, scenarios: list[str] | None = None, max_len: int = 8,
                     levels: tuple[str, ...] | None = None) -> Sequence:
    """A well-formed sequence over a bundled scenario (draws that do not form a valid model, e.g.
    a table no store links, are rejected)."""
    names = scenarios or sorted(bundled_models())
    seq = load_model(draw(st.sampled_from(names)))
    program = draw(st.lists(st.sampled_from(alphabet(seq)), min_size=1, max_size=max_len))
    level = draw(st.sampled_from(levels)) if levels else seq.level.value
    text = to_toml(seq, program, name=f"{seq.name}-generated", level=level, claims={}, expect="claims-hold")
    try:
        generated = load_text(text, "<generated>", default_name=seq.name)
        _leaf_bases(generated)  # placement checks happen when the system is built
    except InputError:
        from hypothesis import reject

        reject()
    return generated


__all__ = ["alphabet", "update_sequences", "instr_text"]


def drawn_sequences(count: int, *, max_len: int, scenarios: list[str] | None = None) -> list[tuple[str, Sequence]]:
    """``count`` distinct well-formed sequences of every FEAT_BBM level, drawn deterministically
    (the same list on every run), each labelled by its name, level and program, sorted by label.
    The draws a build refuses are skipped."""
    from hypothesis import HealthCheck, Phase, given, settings

    from ..arch.config import Config, FeatBBM
    from ..system.build import build

    drawn: dict[str, Sequence] = {}

    @settings(max_examples=3 * count, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(update_sequences(scenarios=scenarios, max_len=max_len, levels=tuple(level.value for level in FeatBBM)))
    def collect(seq: Sequence) -> None:
        label = f"{seq.name} at {seq.level.value}: " + "; ".join(instr_text(i) for i in seq.program)
        if len(drawn) < count and label not in drawn:
            try:
                build(seq, Config(level=seq.level), vcpus=1)
            except InputError:
                return
            drawn[label] = seq

    collect()
    return sorted(drawn.items())
